"""Sweeps through submitit (local executor), the shared feature cache under concurrency, and torchrun.

Real MiraBest images, cheap backbones (pixels, random_resnet18) and ``--limit`` keep each test
under about a minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from radiobench.cli import main
from radiobench.results import read_result
from radiobench.run import distributed, executor

from conftest import ROOT

PAIR_ARGS = ["--task", "mirabest", "--limit", "40", "--seeds", "2", "--device", "cpu"]


def _scores(results_dir: Path) -> dict[str, dict]:
    """Each result file's metrics (per seed and summary), keyed by file name."""
    out = {}
    for path in sorted(results_dir.glob("*.json")):
        record = read_result(path)
        out[path.name] = {m: (s.per_seed, s.mean) for m, s in record.metrics.items()}
    return out


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "RADIOBENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("flags, said", [
    (["--executor", "local", "--mem", "16X"], "--mem '16X'"),
    (["--executor", "local", "--no-wait"], "--no-wait needs --executor slurm"),
    (["--executor", "local", "--array-parallelism", "0"], "--array-parallelism must be"),
    (["--mem", "16G"], "--mem 16G needs --executor"),
])
def test_bad_sweep_settings_fail_before_any_work(flags, said, capsys, tmp_path):
    code = main(["run", "--backbone", "pixels", "--task", "mirabest", "--data-root", str(tmp_path / "none"),
                 "--jobs-dir", str(tmp_path / "jobs"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "jobs").exists()


def test_slurm_without_sbatch_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch there
    code = main(["run", "--backbone", "pixels", "--task", "mirabest", "--executor", "slurm"])
    err = capsys.readouterr().err
    assert code == 2 and "sbatch is not on PATH" in err and len(err.strip().splitlines()) == 1


def test_shards_cover_every_row_once_in_order():
    for n in (0, 1, 5, 40, 41):
        for size in (1, 2, 3):
            rows = np.concatenate([distributed.shard_rows(n, r, size) for r in range(size)])
            assert rows.tolist() == list(range(n))
    assert distributed.from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}) == distributed.World(1, 2, 1)
    assert distributed.from_env({}) == distributed.World()


@pytest.mark.slow
def test_local_sweep_matches_the_sequential_run_and_resubmits_only_what_failed(shared_data, tmp_path, monkeypatch,
                                                                               capsys):
    data = ["--data-root", str(shared_data), *PAIR_ARGS]
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache-seq"))
    assert main(["run", "--backbone", "pixels,random_resnet18", *data, "--results-dir", str(tmp_path / "seq")]) == 0

    # a sweep through submitit's local executor, own cache: the same scores, file for file
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache-sweep"))
    jobs = tmp_path / "jobs"
    sweep_cmd = ["run", "--backbone", "pixels,random_resnet18", *data, "--results-dir", str(tmp_path / "swept"),
                 "--executor", "local", "--jobs-dir", str(jobs), "--array-parallelism", "2"]
    capsys.readouterr()
    assert main(sweep_cmd) == 0
    assert "2 jobs submitted (local)" in capsys.readouterr().out
    assert _scores(tmp_path / "swept") == _scores(tmp_path / "seq") and len(_scores(tmp_path / "seq")) == 2

    # the same command again submits nothing
    assert main(sweep_cmd) == 0
    assert "0 jobs submitted (local), 2 of 2 pairs already answered" in capsys.readouterr().out
    assert len(executor.read_manifest(jobs)) == 2

    # a job killed mid-run: status names it with its log; re-submitting runs that pair only
    from radiobench.registry import get_registry
    from radiobench.run.options import RunOptions

    killed_dir = tmp_path / "killed"
    opts = RunOptions(seeds=2, limit=40, device="cpu", data_root=shared_data, results_dir=killed_dir)
    cluster = executor.ClusterOptions("local", jobs, array_parallelism=2, poll_seconds=0.5)
    sweep = executor.submit(get_registry(), [("pixels", "mirabest"), ("random_resnet18", "mirabest")], opts, cluster)
    victim = next(s for s in sweep.mine if s.backbone == "random_resnet18")
    started = time.monotonic()
    while not executor._marker(jobs.resolve(), victim.job_id).exists():  # killed mid-run, not before it began
        assert time.monotonic() - started < 120, "the job never started"
        time.sleep(0.1)
    sweep.live[victim.job_id].cancel()
    found = {st.submission.backbone: st for st in executor.wait(sweep)}
    assert found["pixels"].state == "done" and found["random_resnet18"].state == "failed"
    capsys.readouterr()
    assert main(["sweep", "status", str(jobs), "--json"]) == 1
    status = {row["backbone"]: row for row in json.loads(capsys.readouterr().out)}
    assert status["random_resnet18"]["state"] == "failed" and Path(status["random_resnet18"]["log"]).exists()
    assert status["random_resnet18"]["log"] in status["random_resnet18"]["error"]
    assert status["pixels"]["state"] == "done"

    resubmit = [*sweep_cmd[:sweep_cmd.index("--results-dir")], "--results-dir", str(killed_dir),
                *sweep_cmd[sweep_cmd.index("--executor"):]]
    assert main(resubmit) == 0
    out = capsys.readouterr().out
    assert "1 job submitted (local), 1 of 2 pairs already answered" in out
    assert _scores(killed_dir) == _scores(tmp_path / "seq")
    assert main(["sweep", "status", str(jobs)]) == 0


@pytest.mark.slow
def test_processes_sharing_a_cache_extract_each_split_once(shared_data, tmp_path):
    """Three runs of the same pair at once on one cache: one extraction per split, every result valid."""
    cache = tmp_path / "cache"
    runs = [subprocess.Popen([sys.executable, "-m", "radiobench", "run", "--backbone", "random_resnet18",
                              "--data-root", str(shared_data), *PAIR_ARGS, "--results-dir", str(tmp_path / f"r{i}")],
                             env=_env(cache), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for i in range(3)]
    logs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), logs
    records = [read_result(next((tmp_path / f"r{i}").glob("*.json"))) for i in range(3)]
    for split in ("train", "test"):
        assert sum(not r.cache[split].hit for r in records) == 1, [r.cache[split] for r in records]
        assert len({r.cache[split].key for r in records}) == 1
    assert len({json.dumps({m: s.per_seed for m, s in r.metrics.items()}) for r in records}) == 1
    entries = list((cache / "features").rglob("*.npz"))
    assert len(entries) == 2 and not list((cache / "features").rglob(".*.tmp"))


@pytest.mark.slow
def test_torchrun_two_gloo_processes_give_the_single_process_features_and_scores(shared_data, tmp_path):
    args = ["run", "--backbone", "random_resnet18", "--data-root", str(shared_data), *PAIR_ARGS]
    one = subprocess.run([sys.executable, "-m", "radiobench", *args, "--results-dir", str(tmp_path / "one")],
                         env=_env(tmp_path / "cache-one"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stdout + one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "radiobench", *args, "--results-dir", str(tmp_path / "two")],
                         env=_env(tmp_path / "cache-two"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stdout + two.stderr
    assert two.stdout.count("Summary") == 1  # rank 1 prints nothing

    def entries(cache: Path) -> dict[str, np.ndarray]:
        out = {}
        for path in sorted((cache / "features").rglob("*.npz")):
            with np.load(path) as data:
                out[path.name] = (data["features"], data["labels"])
        return out

    single, sharded = entries(tmp_path / "cache-one"), entries(tmp_path / "cache-two")
    assert sorted(single) == sorted(sharded) and len(single) == 2  # the same cache keys: one entry per split
    for name in single:
        np.testing.assert_allclose(sharded[name][0], single[name][0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(sharded[name][1], single[name][1])
    assert _scores(tmp_path / "two") == _scores(tmp_path / "one")
    assert [p.name for p in (tmp_path / "two").glob("*.json")] == [p.name for p in (tmp_path / "one").glob("*.json")]


def test_the_leaderboard_run_passes_its_sweep_settings_to_radiobench_run():
    import argparse
    import importlib.util

    spec = importlib.util.spec_from_file_location("leaderboard_run", ROOT / "leaderboard" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    none = argparse.Namespace(executor=None)
    assert module.executor_flags(none) == []
    slurm = argparse.Namespace(executor="slurm", jobs_dir="j", array_parallelism=8, gpus_per_job=1, cpus_per_job=None,
                               timeout_min=None, slurm_partition="gpu", mem="32G")
    flags = module.executor_flags(slurm)
    assert flags == ["--executor", "slurm", "--jobs-dir", "j", "--array-parallelism", "8", "--gpus-per-job", "1",
                     "--slurm-partition", "gpu", "--mem", "32G"]
    from radiobench.cli import build_parser

    parsed = build_parser().parse_args(["run", "--backbone", "pixels", "--task", "mirabest", *flags])
    assert (parsed.executor, parsed.array_parallelism, parsed.mem) == ("slurm", 8, "32G")
