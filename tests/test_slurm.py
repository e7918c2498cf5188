"""A real Slurm: Debian's slurm-wlm as a one-node cluster under a temporary folder, and a sweep through it.

The fixture starts munged (unless one answers already), slurmctld and slurmd as root with a
minimal configuration (no cgroups, no accounting, its own ports and state folders), waits for
the node to be idle (a time limit on every wait), and stops what it started. The sweep goes
through the same ``radiobench run --executor slurm`` path a user types; its result files
must score exactly as a sequential run's. Skipped only where the Slurm binaries are absent or
this is not root (CI installs them and runs as root; there, absence fails).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from radiobench.cli import main
from radiobench.run import executor

from conftest import need
from test_sweep import PAIR_ARGS, _scores

BINARIES = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun", "scancel")
WAIT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _until(check, what: str, timeout: float = WAIT_S) -> None:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"Slurm test cluster: {what} not within {timeout:.0f} s")
        time.sleep(0.5)


def _munge_answers() -> bool:
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    missing = [b for b in BINARIES if shutil.which(b) is None]
    need(not missing, f"Slurm binaries absent ({', '.join(missing)}): apt-get install slurm-wlm munge")
    need(os.geteuid() == 0, "the one-node Slurm test cluster starts its daemons as root")
    root = tmp_path_factory.mktemp("slurm")
    started: list[Path] = []  # pid files of the daemons this fixture started
    if not _munge_answers():
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
            shutil.chown(key, "munge", "munge")
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, timeout=30)
        started.append(Path("/run/munge/munged.pid"))
        _until(_munge_answers, "munged answering")
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    conf.write_text(f"""\
ClusterName=radiobenchtest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName={host} CPUs={os.cpu_count()} RealMemory=1000 State=UNKNOWN
PartitionName=radiobench Nodes=ALL Default=YES MaxTime=15 State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for daemon, pid in (("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
        subprocess.run([daemon, "-f", str(conf)], check=True, env=env, timeout=30)
        started.append(root / pid)

    def idle() -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env)
        return out.stdout.strip() == "idle"

    try:
        _until(idle, "the node idle")
    except RuntimeError as exc:
        logs = "\n".join(p.read_text()[-2000:] for p in (root / "slurmctld.log", root / "slurmd.log") if p.exists())
        _stop(started)
        raise RuntimeError(f"{exc}\n{logs}") from None
    yield conf

    def drained() -> bool:  # stopping slurmd under a finishing job step would leave its slurmstepd behind
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=env)
        return out.returncode == 0 and not out.stdout.strip()

    try:
        _until(drained, "the queue empty", timeout=60)
    except RuntimeError:
        subprocess.run(["scancel", "--user", "root"], env=env, timeout=30)
        _until(drained, "the queue empty after scancel", timeout=60)
    finally:
        _stop(started)


def _stop(pid_files: list[Path]) -> None:
    for path in reversed(pid_files):
        try:
            os.kill(int(path.read_text().split()[0]), 15)
        except (OSError, ValueError):
            pass


@pytest.mark.slow
def test_a_sweep_on_slurm_scores_as_the_sequential_run(slurm_cluster, shared_data, tmp_path, monkeypatch, capsys):
    data = ["--data-root", str(shared_data), *PAIR_ARGS]
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache-seq"))
    assert main(["run", "--backbone", "pixels,random_resnet18", *data, "--results-dir", str(tmp_path / "seq")]) == 0

    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster))
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache-slurm"))  # the jobs inherit it (sbatch --export=ALL)
    jobs = tmp_path / "jobs"
    cmd = ["run", "--backbone", "pixels,random_resnet18", *data, "--results-dir", str(tmp_path / "slurm"),
           "--executor", "slurm", "--jobs-dir", str(jobs), "--slurm-partition", "radiobench", "--cpus-per-job", "1",
           "--mem", "500M", "--timeout-min", "10", "--array-parallelism", "2"]
    capsys.readouterr()
    one = [*cmd[:2], "pixels", *cmd[3:]]  # a first submission of one pair, waiting for it
    assert main(one) == 0
    assert "1 job submitted (slurm)" in capsys.readouterr().out
    assert main([*cmd, "--no-wait"]) == 0  # then both: the finished pair is not submitted again
    assert "1 job submitted (slurm), 1 of 2 pairs already answered" in capsys.readouterr().out

    def finished() -> bool:
        main(["sweep", "status", str(jobs), "--json"])
        rows = json.loads(capsys.readouterr().out)
        assert not [r for r in rows if r["state"] == "failed"], rows
        return all(r["state"] == "done" for r in rows)

    _until(finished, "both jobs done", timeout=300)
    assert len(executor.read_manifest(jobs)) == 2
    assert _scores(tmp_path / "slurm") == _scores(tmp_path / "seq") and len(_scores(tmp_path / "seq")) == 2

    assert main(cmd) == 0  # waits, but there is nothing to wait for
    assert "0 jobs submitted (slurm), 2 of 2 pairs already answered" in capsys.readouterr().out
