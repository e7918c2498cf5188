"""A jobs folder is data, never code (issue 29 A), and concurrent runs never lose a result (issue 29 H).

``radiobench sweep status DIR`` and re-submission read ``DIR/sweep.json`` and each job's
``outcome.json``; the folder may be shared or planted, so nothing in it may run code, hang the
reader or leave the folder. Runs of the same pair at once write its result under a lock.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from radiobench.cli import main
from radiobench.run import executor

pytestmark = pytest.mark.timeout(120)

PAIR = ("pixels", "mirabest")


class Planted:
    """A pickle that touches a marker file when loaded: what a planted job result would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _entry(jobs: Path, job_id: str = "1", **over: str) -> dict[str, str]:
    """A manifest entry as a submission of another host writes it (so no pid of this machine is asked)."""
    folder = jobs / "logs" / job_id
    return {"backbone": PAIR[0], "task": PAIR[1], "job_id": job_id, "executor": "local", "host": "another-host",
            "submitted": "2024-01-01T00:00:00+00:00", "stdout": str(folder / f"{job_id}_0_log.out"),
            "stderr": str(folder / f"{job_id}_0_log.err"), "outcome": str(folder / executor.OUTCOME), **over}


def _manifest(jobs: Path, *entries: dict) -> None:
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / executor.MANIFEST).write_text(json.dumps({"submissions": list(entries)}))


def _status(jobs: Path, capsys) -> tuple[int, list[dict], str]:
    capsys.readouterr()
    code = main(["sweep", "status", str(jobs), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else [], err


def _one_line_error(capsys, jobs: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["sweep", "status", str(jobs)])
    out, err = capsys.readouterr()
    assert not out.strip() and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return code, err.strip()


# ------------------------------------------------------------------------------------------- planted pickles


@pytest.mark.parametrize("field", ["result", "outcome"])
def test_a_planted_pickle_is_never_loaded(field, tmp_path, capsys):
    """Named as an old manifest's submitit result, or as the outcome itself: nothing runs, the job is failed."""
    jobs, marker = tmp_path / "jobs", tmp_path / "pwned"
    planted = jobs / "logs" / "1" / "1_0_result.pkl"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(pickle.dumps(Planted(marker)))
    entry = _entry(jobs, **{field: str(planted)})
    if field == "result":
        del entry["outcome"]
    _manifest(jobs, entry)

    code, rows, err = _status(jobs, capsys)
    assert not marker.exists()
    assert code == 1 and not err and [r["state"] for r in rows] == ["failed"]
    error = rows[0]["error"]
    assert "\n" not in error and "Traceback" not in error
    if field == "result":  # the pickle is not read; its folder holds no outcome.json
        assert "ended without a result" in error
    else:
        assert str(planted) in error and "not UTF-8" in error
    assert main(["sweep", "status", str(jobs)]) == 1 and not marker.exists()


def test_the_cli_in_a_fresh_process_runs_nothing_from_a_planted_folder(tmp_path):
    from conftest import radiobench_cli

    jobs, marker = tmp_path / "jobs", tmp_path / "pwned"
    planted = tmp_path / "elsewhere" / "result.pkl"  # outside the jobs folder, as the original attack had it
    planted.parent.mkdir()
    planted.write_bytes(pickle.dumps(Planted(marker)))
    entry = _entry(jobs, result=str(planted))
    del entry["outcome"]
    _manifest(jobs, entry)
    done = radiobench_cli("sweep", "status", str(jobs), timeout=60)
    assert not marker.exists()
    assert done.returncode == 1 and "refusing a path outside the jobs folder" in done.stderr
    assert str(planted) in done.stderr and len(done.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------- the manifest


@pytest.mark.parametrize("field", ["stdout", "stderr", "outcome", "result"])
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_manifest_path_outside_the_jobs_folder_is_refused(field, how, tmp_path, capsys):
    jobs, outside = tmp_path / "jobs", tmp_path / "outside"
    outside.mkdir()
    (jobs / "logs" / "1").mkdir(parents=True)
    if how == "absolute":
        path = str(outside / "x.json")
    elif how == "dotdot":
        path = str(jobs / "logs" / "1" / ".." / ".." / ".." / "outside" / "x.json")
    else:
        (jobs / "logs" / "1" / "link").symlink_to(outside)
        path = str(jobs / "logs" / "1" / "link" / "x.json")
    entry = _entry(jobs, **{field: path})
    if field == "result":
        del entry["outcome"]
    _manifest(jobs, _entry(jobs, "7"), entry)
    code, err = _one_line_error(capsys, jobs)
    assert code == 1
    assert "refusing a path outside the jobs folder" in err and path in err and "submission 2" in err
    assert f"({field})" in err


@pytest.mark.parametrize("entry, said", [
    ({"job_id": 1}, "job_id must be text, not int"),
    ({"stdout": None}, "stdout must be text, not NoneType"),
    ({"job_id": "../../etc"}, "is not a local job id"),
    ({"job_id": "99999999999999999999"}, "is not a local job id"),
    ({"executor": "ssh"}, "executor must be one of local, slurm"),
    ({"extra": "x"}, "is not a radiobench job record"),
])
def test_a_malformed_manifest_entry_is_one_line(entry, said, tmp_path, capsys):
    jobs = tmp_path / "jobs"
    _manifest(jobs, {**_entry(jobs), **entry})
    code, err = _one_line_error(capsys, jobs)
    assert code == 1 and said in err and str(jobs / executor.MANIFEST) in err


@pytest.mark.parametrize("content, said", [
    ("{not json", "not valid JSON"),
    ('{"submissions": {}}', "no list of submissions"),
    ("[1, 2]", "no list of submissions"),
    ("[" * 200_000, "nests deeper than any radiobench file"),
    (b"\x80\x04\x95", "not UTF-8"),
    ("fifo", "named pipe"),
    ("folder", "a folder"),
    ("huge", "more than the 16 MiB"),
])
def test_an_unreadable_manifest_is_one_line_and_never_hangs(content, said, tmp_path, capsys):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    path = jobs / executor.MANIFEST
    if content == "fifo":
        os.mkfifo(path)
    elif content == "folder":
        path.mkdir()
    elif content == "huge":
        with open(path, "wb") as handle:
            handle.truncate(17 << 20)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, err = _one_line_error(capsys, jobs)
    assert code == 1 and said in err and str(path) in err


# ------------------------------------------------------------------------------------------- job outcomes


def _good_outcome() -> dict:
    row = {"backbone": PAIR[0], "task": PAIR[1], "protocol": "linear", "status": "done", "main_score": "0.81 ± 0.01",
           "path": "/results/pixels__mirabest__linear.json", "error": ""}
    return {"format": executor.OUTCOME_FORMAT, "backbone": PAIR[0], "task": PAIR[1], "job_id": "1", "state": "done",
            "outcomes": [row], "error": "", "finished": "2024-01-01T00:10:00+00:00"}


def _with(**changes) -> dict:
    document = _good_outcome()
    for key, value in changes.items():
        if key.startswith("row_"):
            document["outcomes"][0][key[4:]] = value
        else:
            document[key] = value
    return document


@pytest.mark.parametrize("content, said", [
    ("{not json", "not valid JSON"),
    ("[" * 200_000, "nests deeper than any radiobench file"),
    (b"\x80\x04\x95\x00", "not UTF-8"),
    ("fifo", "named pipe"),
    ("folder", "a folder"),
    ("huge", "more than the 1 MiB"),
    ("dangling", "missing"),
    (_with(format="something/2"), "format is not"),
    (_with(state="running"), "state must be done or failed"),
    (_with(state=1), "state must be text"),
    (_with(backbone="dino"), "not this job's 'pixels' on 'mirabest'"),
    (_with(outcomes={}), "outcomes must be a list"),
    (_with(row_main_score=0.8), "main_score has the wrong type (float)"),
    (_with(row_path=["x"]), "path has the wrong type (list)"),
    (_with(row_status="great"), "status must be one of"),
    (_with(row_extra="x"), "must have exactly the fields"),
    ([1, 2], "format is not"),
    (_with(finished="2023-12-31T23:00:00+00:00"), "before this job was submitted"),  # a reused pid's old outcome
    (_with(finished="yesterday"), "is not a time"),
])
def test_a_malformed_outcome_is_a_failed_job_named_in_one_line(content, said, tmp_path, capsys):
    jobs = tmp_path / "jobs"
    entry = _entry(jobs)
    path = Path(entry["outcome"])
    path.parent.mkdir(parents=True)
    if content == "fifo":
        os.mkfifo(path)
    elif content == "folder":
        path.mkdir()
    elif content == "huge":
        with open(path, "wb") as handle:
            handle.truncate(2 << 20)
    elif content == "dangling":
        path.symlink_to(path.parent / "gone.json")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    _manifest(jobs, entry)

    code, rows, err = _status(jobs, capsys)
    assert code == 1 and not err and len(rows) == 1
    row = rows[0]
    assert row["state"] == "failed" and row["outcomes"] == [] and said in row["error"], row["error"]
    assert str(path) in row["error"] and "\n" not in row["error"] and "Traceback" not in row["error"]
    assert main(["sweep", "status", str(jobs)]) == 1  # the table too, without a traceback


def test_a_well_formed_outcome_is_read_as_the_job_state(tmp_path, capsys):
    jobs = tmp_path / "jobs"
    entry = _entry(jobs)
    folder = Path(entry["outcome"]).parent
    path = executor.write_outcome(folder, *PAIR, "1", "done", _good_outcome()["outcomes"])
    assert path == Path(entry["outcome"])
    _manifest(jobs, entry)
    code, rows, _ = _status(jobs, capsys)
    assert code == 0 and rows[0]["state"] == "done" and rows[0]["outcomes"] == _good_outcome()["outcomes"]

    executor.write_outcome(folder, *PAIR, "1", "failed", [], "linear failed: too few labels")
    code, rows, _ = _status(jobs, capsys)
    assert code == 1 and rows[0]["state"] == "failed" and rows[0]["error"].startswith("linear failed: too few labels")


def test_a_failing_job_writes_its_failed_outcome_and_still_raises(tmp_path):
    from radiobench.errors import RadiobenchError
    from radiobench.run.options import RunOptions

    jobs = tmp_path / "jobs"
    opts = RunOptions(results_dir=tmp_path / "results", data_root=tmp_path / "data", device="cpu")
    with pytest.raises(RadiobenchError):
        executor.PairJob("pixels", "no_such_task", opts, jobs)()
    (path,) = (jobs / "logs").glob(f"*/{executor.OUTCOME}")
    document = json.loads(path.read_text())
    assert document["format"] == executor.OUTCOME_FORMAT and document["state"] == "failed"
    assert (document["backbone"], document["task"]) == ("pixels", "no_such_task")
    assert "no_such_task" in document["error"] and "\n" not in document["error"]


def test_an_old_manifest_naming_a_result_inside_the_folder_is_read_without_its_pickle(tmp_path, capsys):
    jobs = tmp_path / "jobs"
    entry = _entry(jobs)
    folder = Path(entry.pop("outcome")).parent
    folder.mkdir(parents=True)
    (folder / "1_0_result.pkl").write_bytes(pickle.dumps(("success", [])))
    executor.write_outcome(folder, *PAIR, "1", "done", [])
    _manifest(jobs, {**entry, "result": str(folder / "1_0_result.pkl")})
    (submission,) = executor.read_manifest(jobs)
    assert submission.outcome == str(folder / executor.OUTCOME)
    assert _status(jobs, capsys)[1][0]["state"] == "done"


# ------------------------------------------------------------------------------------------- a real sweep


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_local_sweep_records_json_outcomes_and_status_reads_only_them(shared_data, tmp_path, capsys):
    jobs, results = tmp_path / "jobs", tmp_path / "results"
    cmd = ["run", "--backbone", "pixels", "--task", "mirabest", "--limit", "40", "--seeds", "1", "--device", "cpu",
           "--protocol", "knn", "--data-root", str(shared_data), "--results-dir", str(results),
           "--executor", "local", "--jobs-dir", str(jobs)]
    assert main(cmd) == 0
    (submission,) = executor.read_manifest(jobs)
    outcome = Path(submission.outcome)
    assert outcome.parent == jobs.resolve() / "logs" / submission.job_id and outcome.name == executor.OUTCOME
    document = json.loads(outcome.read_text())
    assert document["format"] == executor.OUTCOME_FORMAT and document["state"] == "done"
    assert [row["status"] for row in document["outcomes"]] == ["done"]

    # the status comes from the JSON alone: submitit's pickles gone, an edited score shown
    for stray in outcome.parent.glob("*.pkl"):
        stray.unlink()
    document["outcomes"][0]["main_score"] = "0.123 (edited)"
    outcome.write_text(json.dumps(document))
    code, rows, _ = _status(jobs, capsys)
    assert code == 0 and rows[0]["state"] == "done" and rows[0]["outcomes"][0]["main_score"] == "0.123 (edited)"


# ------------------------------------------------------------------------------------------- concurrent writers


AT_ONCE = """
import json, sys, time
from pathlib import Path

from radiobench.run import Progress, RunOptions, pipeline
from radiobench.testing import registry_with

meeting, index, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
real_lock = pipeline.result_lock


def lock_after_everyone_looked(path, waiting=lambda: None):
    (meeting / index).touch()  # past triage: the result was missing when this run looked
    began = time.monotonic()
    while len(list(meeting.iterdir())) < n:
        assert time.monotonic() - began < 90, "the other runs never arrived"
        time.sleep(0.02)
    return real_lock(path, waiting)


class Notes(Progress):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


pipeline.result_lock = lock_after_everyone_looked
options = RunOptions(**{k: Path(v) if k.endswith(("_dir", "_root")) else v for k, v in json.loads(sys.argv[4]).items()})
notes = Notes()
(outcome,) = pipeline.run_pair(registry_with(), "fake_backbone", "fake_task", options, notes)
print(json.dumps({"status": outcome.status, "error": outcome.error, "notes": notes.lines,
                  "written": outcome.path.read_bytes().hex() if outcome.status == "done" else ""}))
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_runs_of_one_pair_at_once_write_one_result_and_the_others_keep_it(tmp_path):
    """Three processes pass triage (no result yet), meet, then race for the lock: one fits and writes, the
    others wait, find its result answers them, and keep it."""
    import subprocess
    import sys

    from conftest import ROOT
    from radiobench.results import iter_results
    from radiobench.results.files import lock_path

    results, meeting = tmp_path / "results", tmp_path / "meeting"
    meeting.mkdir()
    options = {"results_dir": str(results), "cache_dir": str(tmp_path / "cache"), "device": "cpu",
               "protocols": ["linear"], "data_root": str(tmp_path / "data"), "seeds": 2}
    n = 3
    runs = [subprocess.Popen([sys.executable, "-c", AT_ONCE, str(meeting), str(i), str(n), json.dumps(options)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
            for i in range(n)]
    logs = [run.communicate(timeout=200) for run in runs]
    assert [run.returncode for run in runs] == [0] * n, logs
    found = [json.loads(out.strip().splitlines()[-1]) for out, _ in logs]

    assert sorted(f["status"] for f in found) == ["done"] + ["skipped"] * (n - 1), found
    (done,) = [f for f in found if f["status"] == "done"]
    for f in found:
        if f["status"] == "skipped":
            assert f["error"].startswith("already answered:"), f
            assert any("already answered by another run meanwhile" in line for line in f["notes"]), f
    on_disk = list(iter_results(results))
    assert len(on_disk) == 1  # the lock file beside it is no result
    path, _ = on_disk[0]
    assert path.read_bytes().hex() == done["written"]  # the finished result, not overwritten
    lock_path(path).touch()
    assert [p for p, _ in iter_results(results)] == [path]
