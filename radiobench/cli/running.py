"""``radiobench run`` and ``radiobench sweep``: their arguments, checked, handed to :mod:`radiobench.run`.

What a run then does and prints is :mod:`radiobench.run.session` (in this process, or one rank of
torchrun) and :mod:`radiobench.run.sweep_session` (``--executor``: jobs through submitit).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from radiobench.cli.catalogue import (FromRegistry, RawRegistryHelpFormatter, main_protocols, protocol_names,
                                      protocol_options_help)
from radiobench.errors import UsageError
from radiobench.io.terminal import console

RUN_EXAMPLES = """\
examples:
  # the two baselines on MiraBest, downloading the data if it is missing
  radiobench run --backbone pixels,random_resnet18 --task mirabest --data-root ../shared/data --download

  # a smoke test: 20 images per split, 2 seeds (results marked .limit20, never on the leaderboard);
  # about 16 s on 2 CPU cores with an empty cache (measured 2026-12)
  radiobench run --backbone imagenet_efficientnet_lite0 --task mirabest --limit 20 --seeds 2

  # every task's main protocol for one backbone, with a weights file you already have
  radiobench run --backbone dino_mgcls --task all --weights ~/Downloads/mgcls_vits8_pretrain_325_teacher.pth

  # kNN and linear probes with the 145-label budget of the radio literature
  radiobench run --backbone dino_imagenet_vits16 --task mirabest --protocol linear,knn --train-labels 145

  # the kNN probe with 10 neighbours instead of 20 (filed beside the default's, as knn@k=10)
  radiobench run --backbone dino_imagenet_vits16 --task mirabest --protocol knn --protocol-option k=10

  # FIRST cutouts without beam keywords in the counting task's folder
  radiobench run --backbone pixels --task mgcls_counts --beam 0.0015,0.0015,0

then: `radiobench leaderboard` (or --format html --output board.html). Names: `radiobench list`.
"""


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("run", help="evaluate backbones on tasks and write result files",
                       description="Evaluate frozen backbones on tasks. A pre-flight table first says, for every\n"
                                   "pair, whether its weights and data are here and what will run (each missing thing\n"
                                   "once, with the command that fixes it); then each pair's features are extracted\n"
                                   "(cached) and its protocols fitted over seeds: one result JSON per (backbone, task,\n"
                                   "protocol).",
                       epilog=RUN_EXAMPLES, formatter_class=RawRegistryHelpFormatter)
    p.add_argument("--backbone", required=True, help="backbone name(s), comma-separated")
    p.add_argument("--task", required=True, help="task name(s), comma-separated, or 'all' (main variant of each)")
    p.add_argument("--protocol", default="main", help=FromRegistry(
        lambda reg: f"protocol name(s), comma-separated: {protocol_names(reg)} (`radiobench list protocols`); all "
                    f"(those that apply to each task's kind); or main (default: {main_protocols(reg)})",
        "protocol name(s), comma-separated (`radiobench list protocols`); all (those that apply to each task's "
        "kind); or main (default: each task kind's headline protocol)"))
    p.add_argument("--protocol-option", action="append", default=[], metavar="[PROTOCOL.]NAME=VALUE", help=FromRegistry(
        lambda reg: "set a protocol's option (repeatable): checked against its type before any work, recorded in "
                    "each result, and naming results other than the default's (knn@k=5); a bare NAME sets it on "
                    f"every protocol of the run that has it. The options: {protocol_options_help(reg)} "
                    "(types and defaults: `radiobench list protocols`)",
        "set a protocol's option (repeatable), e.g. knn.k=10; `radiobench list protocols` shows them"))
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
                   help="fp32 (default) or bf16 autocast arithmetic for extraction; recorded in each result and in "
                        "the feature-cache key")
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


def cmd_run(args: argparse.Namespace) -> int:
    from radiobench.io.datafiles import data_root
    from radiobench.protocols.base import LabelBudget
    from radiobench.registry import get_registry
    from radiobench.run.memory import keep_freed_memory
    from radiobench.run.options import RunOptions, protocol_options_argument, weights_argument

    cluster = _cluster_options(args)  # before anything else: a bad --mem must not cost a pre-flight
    reg = get_registry()
    backbones = split_names(args.backbone, "--backbone")
    if any(b.startswith("pretrained:") for b in backbones):  # a `radiobench pretrain` output folder
        from radiobench.pretrain.cli import register_pretrained

        backbones = register_pretrained(reg, backbones)
    tasks = select_tasks(reg, args.task)
    protocols = list(reg.protocols) if args.protocol == "all" else split_names(args.protocol, "--protocol")  # misfits skipped per task
    protocol_options = protocol_options_argument(reg, args.protocol_option, protocols, tasks)  # typed, before any work
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
        protocol_options=protocol_options,
    )
    keep_freed_memory()
    if cluster is not None:
        from radiobench.run.sweep_session import sweep_all

        return sweep_all(reg, backbones, tasks, opts, cluster)
    from radiobench.run import distributed
    from radiobench.run.console import quiet_console
    from radiobench.run.session import run_all

    world = distributed.from_env()
    if world.size == 1:
        return run_all(reg, backbones, tasks, opts, verbose=args.verbose)
    opts.device = distributed.device_for(world, opts.device)
    with distributed.session(opts.device):  # torchrun: every rank extracts a shard; rank 0 prints and writes
        return run_all(reg, backbones, tasks, opts, verbose=args.verbose,
                       console=None if world.leader else quiet_console())


def cmd_sweep(args: argparse.Namespace) -> int:
    from radiobench.run import executor
    from radiobench.run.sweep_session import jobs_table

    jobs_dir = Path(args.jobs_dir)
    submissions = executor.read_manifest(jobs_dir)
    if not submissions:
        raise UsageError(f"{jobs_dir} holds no sweep record ({executor.MANIFEST}); give the --jobs-dir of a "
                         "`radiobench run --executor ...` command")
    found = executor.states(list(executor.latest(submissions).values()))
    if args.json:
        print(json.dumps([{"backbone": st.submission.backbone, "task": st.submission.task, "job": st.submission.job_id,
                           "state": st.state, "log": st.submission.stderr, "error": st.error,
                           "outcomes": st.outcomes} for st in found], indent=1))
    else:
        console().print(jobs_table(found, str(jobs_dir)))
    return 1 if any(st.state == "failed" for st in found) else 0


def split_names(value: str, flag: str) -> list[str]:
    """A comma-separated list of names; an empty one (``''``, ``,``) is a usage error, not a run of nothing."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise UsageError(f"{flag} {value!r} names nothing; give one or more names separated by commas "
                         "(`radiobench list` shows them)")
    return names


def select_tasks(reg: Any, value: str) -> list[str]:
    """``all`` means every task's main variant (specs with ``in_all``); otherwise the names given."""
    if value.strip() == "all":
        return [n for n in reg.list_tasks() if reg.tasks[n].spec.in_all]
    return split_names(value, "--task")


def _cluster_options(args: argparse.Namespace) -> Any:
    """The sweep's settings when --executor is given (checked now, exit code 2), else None; a cluster
    flag without --executor is a mistake, not a no-op."""
    import os

    given = [f"{flag} {value}" if value is not True else flag
             for flag, value in (("--slurm-partition", args.slurm_partition), ("--mem", args.mem),
                                 ("--no-wait", args.no_wait)) if value]
    if args.executor is None:
        if given:
            raise UsageError(f"{given[0]} needs --executor slurm (or local)")
        return None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UsageError(f"--executor {args.executor} submits jobs; start it once, not under torchrun")
    from radiobench.run.executor import ClusterOptions

    return ClusterOptions(executor=args.executor, jobs_dir=Path(args.jobs_dir), partition=args.slurm_partition,
                          gpus_per_job=args.gpus_per_job, cpus_per_job=args.cpus_per_job, mem=args.mem,
                          timeout_min=args.timeout_min, array_parallelism=args.array_parallelism,
                          wait=not args.no_wait)


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
        raise UsageError(f"--beam {beam!r}: expected BMAJ,BMIN,BPA in degrees, finite, with BMAJ >= BMIN > 0, "
                         "e.g. 0.0015,0.0015,0")
    takers = [t for t in tasks if "beam_deg" in reg.task(t).spec.options]
    if not takers:
        readers = sorted(n for n, r in reg.tasks.items() if "beam_deg" in r.spec.options)
        raise UsageError(f"--beam {beam!r} applies to tasks that read FITS fields ({', '.join(readers)}), none of "
                         f"which is among --task {','.join(tasks)}")
    return {t: {"beam_deg": list(values)} for t in takers}


COMMANDS = {"run": cmd_run, "sweep": cmd_sweep}
