"""leaderboard/run.py picks what can run here: offline weights in, download-only weights out with the reason."""

import importlib.util

import pytest

from conftest import ROOT
from radiobench.registry import get_registry


def test_only_backbones_with_weights_at_hand_are_run(monkeypatch, tmp_path):
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "none"))
    spec = importlib.util.spec_from_file_location("leaderboard_run", ROOT / "leaderboard" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ok, missing = module.available_backbones(get_registry())
    assert {"pixels", "random_resnet18", "imagenet_efficientnet_lite0"} <= set(ok)
    assert "dino_mgcls_vits8" in missing and "not found and offline mode is on" in missing["dino_mgcls_vits8"]
    assert not set(ok) & set(missing)


@pytest.mark.slow
@pytest.mark.parametrize("protocol, page", [("linear", "leaderboard.md"), ("knn", "leaderboard-knn.md"),
                                            ("knn-distance", "leaderboard-knn-distance.md"),
                                            ("detect", "leaderboard-detect.md")])
def test_committed_pages_are_rendered_from_the_committed_results(protocol, page):
    from radiobench.board.collect import collect
    from radiobench.board.render import render

    board = collect(ROOT / "leaderboard" / "results", protocol=protocol)
    assert render(board, "md") == (ROOT / "leaderboard" / page).read_text()
    # every learned probe over 5 seeds; the source finder has nothing random to reseed and runs once
    assert all(cell.n_seeds == (1 if backbone == "pybdsf" else 5) for (backbone, _), cell in board.cells.items())


def fake_python(tmp_path, numpy_version="2.4.1"):
    """An interpreter stand-in that logs each call and answers gpu.sh's probes as a GPU machine would."""
    log = tmp_path / "calls.log"
    script = tmp_path / "python3"
    script.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {log}
case "$*" in
  *"numpy.__version__.split"*) [ "{numpy_version}" \\< "2.5" ] ;;
  *) exit 0 ;;
esac
""")
    script.chmod(0o755)
    return script, log


def test_gpu_bench_installs_offline_then_times_both_precisions(tmp_path):
    import subprocess

    python, log = fake_python(tmp_path)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    done = subprocess.run(["bash", str(ROOT / "leaderboard" / "gpu.sh"), "bench", "--data-root", "DATA", "--task", "rgd",
                           "--json", "out/extraction", "--images", "64"],
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), "RADIOBENCH_WHEELS": str(wheels)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert all("--no-index" in c for c in calls if "pip install" in c)  # nothing resolved on the GPU machine
    assert any("torch.cuda.is_available()" in c for c in calls)  # refuses to time a machine without CUDA
    benches = [c for c in calls if c.startswith("benchmarks/extraction.py")]
    assert benches == [
        f"benchmarks/extraction.py --device cuda --precision {p} --data-root DATA --task rgd --images 64 "
        f"--json out/extraction-{p}.json" for p in ("bf16", "fp32")
    ]


def test_gpu_script_without_carried_wheels_says_how_to_get_them(tmp_path):
    import subprocess

    python, _ = fake_python(tmp_path)
    done = subprocess.run(["bash", str(ROOT / "leaderboard" / "gpu.sh"), "bench"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), "RADIOBENCH_WHEELS": str(tmp_path / "no")})
    assert done.returncode == 2 and "gpu.sh fetch" in done.stderr
