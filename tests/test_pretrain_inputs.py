"""`radiobench pretrain` refuses every bad setting and input in one line (issue 29 B, C, D; issue 31).

Each case runs the command the CLI runs (``radiobench.cli.main``, in this process) or ``train`` itself,
and checks the one ``error:`` line, the exit code, no traceback, and that the output folder was not
made (or, for a resume, not touched). Runs that train are tiny: 8 synthetic 40 px images, ViT-Ti/16 at
32 px, a 16-prototype head, 1-2 epochs of 2 steps.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from radiobench.cli import main
from radiobench.pretrain import train as train_module
from radiobench.pretrain.settings import PretrainConfig, PretrainConfigError
from radiobench.pretrain.train import train

pytestmark = pytest.mark.timeout(120)

TINY = dict(arch="vit_tiny_patch16_224", image_size=32, batch_size=4, epochs=2, out_dim=16, hidden_dim=16,
            bottleneck_dim=8, local_crops=2, device="cpu", seed=1, name="tiny_inputs_test")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def flags(images: Path, folder: Path, **changes) -> list[str]:
    """``radiobench pretrain`` arguments for the tiny run into ``folder``, with ``changes`` (None drops a flag)."""
    values = {**TINY, "data": f"images:{images}", "output": str(folder), **changes}
    out = ["pretrain"]
    for key, value in values.items():
        if value is not None:
            out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def refused_with_log(capsys, argv: list[str], code: int = 2) -> tuple[str, str]:
    """The one error line of ``radiobench argv`` (checked to be alone, without a traceback, with exit ``code``)
    and all it wrote to stderr."""
    rc = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc == code, err
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0], err


def refused(capsys, argv: list[str], code: int = 2) -> str:
    return refused_with_log(capsys, argv, code)[0]


def exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- D: settings, refused before the output folder exists and before any data are read -------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"image_size": 100000}, "--image-size 100000: out of range (16 to 1,024)"),
    ({"max_images": -3}, "--max-images -3: out of range (1 to 1,000,000,000; 0: all images)"),
    ({"out_dim": 0}, "--out-dim 0: out of range (2 to 262,144)"),
    ({"name": "../../evil"}, "--name '../../evil': not a plain name"),
    ({"lr": "nan"}, "--lr nan: not a finite number"),
    ({"epochs": "abc"}, "--epochs 'abc': not a whole number"),
    ({"local_size": 48}, "--local-size 48: larger than image_size 32"),
    ({"device": "tpu"}, "--device 'tpu': use auto, cpu, cuda or cuda:N"),
    ({"precision": "fp8"}, "--precision 'fp8': not one of auto, bf16, fp32"),
    ({"data": "nowhere"}, "--data ['nowhere']: source 'nowhere' is not KIND:WHERE"),
    ({"output": None}, "output = '': required: give --output DIR"),
])
def test_a_bad_setting_is_refused_in_one_line_before_any_work(capsys, tmp_path, images, changes, message):
    line = refused(capsys, flags(images, tmp_path / "out", **changes))
    assert line.startswith(f"error: bad pretrain setting: {message}"), line
    assert line.endswith("fix it (`radiobench pretrain --help` lists every setting with its default and range)")
    assert not (tmp_path / "out").exists()


def test_every_bad_setting_is_named_at_once(capsys, tmp_path, images):
    line = refused(capsys, flags(images, tmp_path / "out", epochs="abc", max_images=-3, lr="nan"))
    assert line == ("error: bad pretrain settings: --epochs 'abc': not a whole number; --max-images -3: out of range "
                    "(1 to 1,000,000,000; 0: all images); --lr nan: not a finite number; fix them (`radiobench "
                    "pretrain --help` lists every setting with its default and range)")


@pytest.mark.parametrize(("toml", "message"), [
    ('epochs = "abc"', "epochs = 'abc' in {config}: not a whole number"),
    ("local_crops = -2", "local_crops = -2 in {config}: out of range (0 to 64)"),
    ("lr = nan", "lr = nan in {config}: not a finite number"),
    ("out_dim = 0", "out_dim = 0 in {config}: out of range (2 to 262,144)"),
    ("teacher_temp = 0.0", "teacher_temp = 0.0 in {config}: out of range (above 0.0, at most 1.0)"),
    ("norm_last_layer = 1", "norm_last_layer = 1 in {config}: not true or false"),
    ('data = ["images:x", 3]', "data = ['images:x', 3] in {config}: not a list of strings"),
])
def test_a_bad_config_value_is_refused_naming_the_file(capsys, tmp_path, images, toml, message):
    config = write_config(tmp_path / "c.toml", toml + "\n")
    argv = flags(images, tmp_path / "out", **{k: None for k in ("epochs", "local_crops", "out_dim", "data")})
    if "data" not in toml:
        argv += ["--data", f"images:{images}"]
    line = refused(capsys, argv + ["--config", str(config)])
    assert line.startswith(f"error: bad pretrain setting: {message.format(config=config)}"), line
    assert not (tmp_path / "out").exists()


def test_unknown_config_keys_are_listed_with_the_known_ones(capsys, tmp_path, images):
    config = write_config(tmp_path / "c.toml", "epoch = 3\nlearning_rate = 0.1\n")
    line = refused(capsys, flags(images, tmp_path / "out") + ["--config", str(config)])
    known = ", ".join(sorted(PretrainConfig.fields()))
    assert line == f"error: --config {config}: unknown settings epoch, learning_rate; known: {known}"


def test_a_config_that_is_not_toml(capsys, tmp_path, images):
    config = write_config(tmp_path / "c.toml", "epochs = = 3\n")
    line = refused(capsys, flags(images, tmp_path / "out") + ["--config", str(config)])
    assert line.startswith(f"error: --config {config}: not valid TOML (")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_config_on_a_named_pipe_is_refused_without_waiting(capsys, tmp_path, images):
    os.mkfifo(tmp_path / "c.toml")
    line = refused(capsys, flags(images, tmp_path / "out") + ["--config", str(tmp_path / "c.toml")])
    assert line == (f"error: --config {tmp_path / 'c.toml'} is not a regular file (a named pipe); delete it and put "
                    "the real file there")
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_file(capsys, tmp_path, images):
    (tmp_path / "out").write_text("x")
    line = refused(capsys, flags(images, tmp_path / "out"))
    assert line == f"error: --output {tmp_path / 'out'} is a file, not a folder; give the run folder's path"


def test_an_output_under_a_file(capsys, tmp_path, images):
    (tmp_path / "file").write_text("x")
    line = refused(capsys, flags(images, tmp_path / "file" / "out"))
    assert line == (f"error: --output {tmp_path / 'file' / 'out'}: {tmp_path / 'file'} is a file, not a folder; "
                    "pick another --output")


def test_an_output_that_cannot_be_written(capsys, tmp_path, images):
    if os.geteuid() == 0:  # root writes through permissions; /proc takes no new files from anyone
        if not Path("/proc").is_dir():
            pytest.skip("root, and no /proc to stand in for an unwritable folder")
        target = Path("/proc/radiobench-pretrain-test/out")
    else:
        (tmp_path / "locked").mkdir(mode=0o555)
        target = tmp_path / "locked" / "out"
    line = refused(capsys, flags(images, target))
    assert line.startswith(f"error: --output {target}: cannot write in ") and "pick another --output" in line
    assert not target.exists()


def test_image_size_not_a_multiple_of_the_patch(capsys, tmp_path, images):
    line = refused(capsys, flags(images, tmp_path / "out", image_size=100, local_size=27))
    assert line == ("error: image_size=100, local_size=27: not a multiple of vit_tiny_patch16_224's patch size 16; "
                    "use e.g. image_size=96, local_size=32")
    assert not (tmp_path / "out").exists()


def test_an_unknown_architecture(capsys, tmp_path, images):
    line = refused(capsys, flags(images, tmp_path / "out", arch="vit_tiny_patch16_2244"))
    assert line.startswith("error: --arch 'vit_tiny_patch16_2244': timm has no such architecture. Did you mean ")


def test_an_unknown_task_is_refused_before_data_are_read(capsys, tmp_path, images):
    line, log = refused_with_log(capsys, flags(images, tmp_path / "out", data=f"images:{images},task:no_such_task"))
    assert line.startswith("error: Unknown task 'no_such_task'.")
    assert "reading" not in log and not (tmp_path / "out").exists()


def test_the_default_local_crop_fits_the_default_architecture(tmp_path, images):
    """Issue 31: at its defaults (ViT-Ti/16, 64 px) the local crop was 27 px and training crashed after reading
    the data; now it is 32, a multiple of the patch."""
    config = PretrainConfig(data=[f"images:{images}"], output=str(tmp_path / "out"), epochs=1, batch_size=4,
                            out_dim=16, hidden_dim=16, bottleneck_dim=8, device="cpu")
    out = train(config)
    card = json.loads((out / "card.json").read_text())
    assert card["settings"]["local_size"] == 32 and card["image_size"] == 64
    assert card["name"] == "dino_vit_tiny_patch16_224_64px_out"


def test_help_lists_every_setting_with_its_default_and_claims_no_times(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for key in PretrainConfig.fields():
        assert f"--{key.replace('_', '-')}" in text, key
    assert "(default: 4096)" in text and "(default: 0 = 3/7 of --image-size" in text
    assert not re.search(r"\b(hour|hours|minutes?|seconds?)\b", text), "a time the help cannot promise"


# -- D: data files ----------------------------------------------------------------------------------------------


def test_a_decompression_bomb_png_is_refused_from_its_header(capsys, tmp_path, images):
    from PIL import Image

    folder = tmp_path / "bomb"
    folder.mkdir()
    Image.new("1", (11000, 11000)).save(folder / "bomb.png", optimize=True)
    assert (folder / "bomb.png").stat().st_size < 200_000
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line == (f"error: {folder / 'bomb.png'}: image declares 11000 x 11000 pixels, more than the 67,108,864 "
                    "radiobench decodes; resize or crop it first")
    assert not (tmp_path / "out").exists()


def test_a_text_file_named_png(capsys, tmp_path, images):
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "a.png").write_text("not an image\n")
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line == (f"error: {folder / 'a.png'}: not a PNG or JPEG image (its content is of no image format PIL reads "
                    "here); delete it or put the right file there")


def test_a_truncated_png_names_the_file_and_stops(capsys, tmp_path, images):
    folder = tmp_path / "cut"
    shutil.copytree(images, folder)
    whole = (folder / "3.png").read_bytes()
    (folder / "3.png").write_bytes(whole[: len(whole) // 2])
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line.startswith(f"error: {folder / '3.png'}: not a readable PNG or JPEG image (")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_among_the_images_is_refused_without_waiting(capsys, tmp_path, images):
    folder = tmp_path / "pipe"
    shutil.copytree(images, folder)
    os.mkfifo(folder / "9.png")
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line == f"error: {folder / '9.png'} is not a regular file (a named pipe); delete it and put the real file there"


def test_a_gzip_bombed_fits_is_stopped_at_the_cap_and_named(capsys, tmp_path, images, monkeypatch):
    from radiobench.pretrain import files

    monkeypatch.setattr(files, "MAX_FITS_BYTES", 1 << 20)  # the real cap is 1 GiB: the same code, a smaller bomb
    folder = tmp_path / "gz"
    folder.mkdir()
    header = "".join(card.ljust(80) for card in ("SIMPLE  =                    T", "BITPIX  =                  -32",
                                                 "NAXIS   =                    2", "NAXIS1  =                 4096",
                                                 "NAXIS2  =                 4096", "END")).ljust(2880)
    with gzip.open(folder / "bomb.fits.gz", "wb") as handle:
        handle.write(header.encode() + bytes(4096 * 4096 * 4))
    assert (folder / "bomb.fits.gz").stat().st_size < 100_000
    line = refused(capsys, flags(images, tmp_path / "out", data=f"fits:{folder}"), code=1)
    assert line == (f"error: {folder / 'bomb.fits.gz'}: gzipped FITS file expands to more than the 1 MiB radiobench "
                    "reads; delete it or put the right file there")


def test_a_fits_whose_header_promises_more_data_than_it_holds(capsys, tmp_path, images):
    from astropy.io import fits

    folder = tmp_path / "fits"
    folder.mkdir()
    fits.PrimaryHDU(np.ones((64, 64), np.float32)).writeto(folder / "a.fits")
    whole = (folder / "a.fits").read_bytes()
    (folder / "a.fits").write_bytes(whole[:2880 + 4000])
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line == (f"error: {folder / 'a.fits'}: not a readable FITS image (the header declares 16,384 bytes of data, "
                    "the file holds 4,000); truncated or corrupt?; delete it or put the right file there")


def test_a_bzip2_fits_is_refused_not_expanded(capsys, tmp_path, images):
    import bz2

    folder = tmp_path / "bz"
    folder.mkdir()
    (folder / "a.fits").write_bytes(bz2.compress(b"SIMPLE  =" + bytes(1 << 20)))
    line = refused(capsys, flags(images, tmp_path / "out", data=f"images:{folder}"), code=1)
    assert line.startswith(f"error: {folder / 'a.fits'}: not a FITS file (it does not start with a SIMPLE card")


def test_fits_pixels_are_those_of_the_survey_reader(shared_data):
    from radiobench.astro.fitsimage import read_radio_image
    from radiobench.pretrain.files import read_fits_plane

    paths = sorted((shared_data / "fits" / "first_mirabest").glob("*.fits"))[:5]
    assert paths
    for path in paths:
        ours, _ = read_fits_plane(path)
        theirs = read_radio_image(path, beam_deg=(1.0, 1.0, 0.0)).data
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs, equal_nan=True)


# -- D: a full disk --------------------------------------------------------------------------------------------


def tiny(images: Path, output: Path, **changes) -> PretrainConfig:
    return PretrainConfig(**{**TINY, "data": [f"images:{images}"], "output": str(output), **changes})


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, images, monkeypatch):
    real = train_module._serialise
    calls = []

    class FullDisk:
        """A file whose writes fail as on a full disk, after a first bit went through."""

        def __init__(self, handle):
            self.handle, self.written = handle, 0

        def write(self, data):
            if self.written > 1000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.handle.write(data)

        def flush(self):
            self.handle.flush()

    def full_on_second(obj, handle):  # torch.save itself, as on a disk that fills during epoch 2's checkpoint
        calls.append(1)
        real(obj, FullDisk(handle) if len(calls) == 2 else handle)

    monkeypatch.setattr(train_module, "_serialise", full_on_second)
    out = tmp_path / "out"
    with pytest.raises(train_module.PretrainWriteError, match=exact(
            f"disk full writing {out / 'checkpoint.pth'}; the checkpoint after epoch 1 is kept: free space under "
            f"{out} and run the same command with --resume")):
        train(tiny(images, out))
    assert torch.load(out / "checkpoint.pth", weights_only=True)["epoch"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pth"]  # no temporary file, no card
    monkeypatch.setattr(train_module, "_serialise", real)
    train(tiny(images, out, resume=True))
    assert json.loads((out / "card.json").read_text())["epochs"] == 2


def test_a_full_disk_while_writing_the_card(capsys, tmp_path, images, monkeypatch):
    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train_module, "write_text_atomic", full)
    out = tmp_path / "out"
    line = refused(capsys, flags(images, out), code=1)
    assert line == (f"error: disk full writing {out / 'card.json'}; the checkpoint after epoch 2 is kept: free space "
                    f"under {out} and run the same command with --resume")
    assert not (out / "card.json").exists()


# -- B and C: --resume ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, images) -> Path:
    """A tiny 2-epoch run stopped after epoch 1 (its checkpoint.pth), copied by each test that uses it."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(tiny(images, out), stop_after=1)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture
def run(interrupted, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(interrupted, copy)
    return copy


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: (p.read_bytes() if p.is_file() else b"<not a file>") for p in folder.iterdir()}


def resume_refused(capsys, images, run, code=2, **changes) -> str:
    before = snapshot(run)
    line = refused(capsys, flags(images, run, **changes) + ["--resume"], code=code)
    assert snapshot(run) == before, "the output folder was touched"
    return line


def test_resume_with_other_hyper_parameters_names_each_with_both_values(capsys, images, run):
    line = resume_refused(capsys, images, run, lr=0.001, momentum_teacher=0.99, teacher_temp=0.07, clip_grad=1.0)
    assert line == (f"error: --resume: the run in {run} was trained with clip_grad=3.0, lr=0.0005, "
                    "momentum_teacher=0.996, teacher_temp=0.04; this command asks clip_grad=1.0, lr=0.001, "
                    "momentum_teacher=0.99, teacher_temp=0.07; resume with the same settings or start a new --output")


def test_resume_with_another_head_is_a_settings_message_not_a_size_mismatch(capsys, images, run):
    line = resume_refused(capsys, images, run, hidden_dim=32)
    assert line == (f"error: --resume: the run in {run} was trained with hidden_dim=16; this command asks hidden_dim=32; "
                    "resume with the same settings or start a new --output")


def test_resume_may_not_lower_epochs_below_those_done(capsys, images, run):
    def two_of_three(state):  # as if the run had been a 3-epoch one stopped after epoch 2
        state["args"]["epochs"], state["epoch"] = 3, 2
        for key in ("epoch_loss", "step_loss", "lr"):
            state["history"][key] *= 2

    edit_checkpoint(run, two_of_three)
    line = resume_refused(capsys, images, run, epochs=1)
    assert line == f"error: --epochs 1: the run in {run} has already trained 2 epochs; give --epochs 2 or more"


def test_resume_with_more_epochs_continues_and_the_card_says_so(images, run):
    train(tiny(images, run, epochs=3, resume=True))
    card = json.loads((run / "card.json").read_text())
    assert card["epochs"] == 3 and len(card["loss_per_epoch"]) == 3
    assert card["epochs_changed_on_resume"] == [{"after_epoch": 1, "from": 2, "to": 3}]


def edit_checkpoint(run: Path, change) -> Path:
    path = run / "checkpoint.pth"
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    return path


class Hostile:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile(run: Path) -> None:
    torch.save({"student": Hostile(run.parent / "pwned")}, run / "checkpoint.pth")


def _truncated(run: Path) -> None:
    data = (run / "checkpoint.pth").read_bytes()
    (run / "checkpoint.pth").write_bytes(data[: len(data) // 2])


def _empty(run: Path) -> None:
    (run / "checkpoint.pth").write_bytes(b"")


def _folder(run: Path) -> None:
    (run / "checkpoint.pth").unlink()
    (run / "checkpoint.pth").mkdir()


def _pipe(run: Path) -> None:
    (run / "checkpoint.pth").unlink()
    os.mkfifo(run / "checkpoint.pth")


CHECKPOINT_DAMAGE = {
    "hostile pickle": (_hostile, "holds more than tensors and plain data, so it was not unpickled (Trying to load "
                                 "unsupported GLOBAL "),
    "truncated": (_truncated, "not a readable torch checkpoint ("),
    "empty": (_empty, "not a readable torch checkpoint ("),
    "folder": (_folder, None),
    "named pipe": (_pipe, None),
    "missing keys": (lambda r: edit_checkpoint(r, lambda s: (s.pop("optimizer"), s.pop("history"))),
                     "lacks optimizer, history (not a `radiobench pretrain` checkpoint, or damaged)"),
    "epoch as text": (lambda r: edit_checkpoint(r, lambda s: s.update(epoch="1")),
                      "epoch '1' is not a whole number from 0 to the run's 2 epochs"),
    "epoch 99": (lambda r: edit_checkpoint(r, lambda s: s.update(epoch=99)),
                 "epoch 99 is not a whole number from 0 to the run's 2 epochs"),
    "history too short": (lambda r: edit_checkpoint(r, lambda s: s.update(epoch=2)),
                          "says epoch 2 but holds 1 epoch losses"),
    "steps do not match": (lambda r: edit_checkpoint(r, lambda s: s["history"].update(
        step_loss=s["history"]["step_loss"][:1], lr=s["history"]["lr"][:1])),
        "holds 1 step losses, not the 2 of 1 epochs of 2 steps"),
    "tensor of another shape": (lambda r: edit_checkpoint(r, lambda s: s["teacher"].update(
        {"head.last_layer.weight_v": torch.zeros(17, 8)})),
        "teacher head.last_layer.weight_v is (17, 8) torch.float32, the model built needs (16, 8) torch.float32"),
    "tensor missing": (lambda r: edit_checkpoint(r, lambda s: s["student"].pop("backbone.cls_token")),
                       "student lacks backbone.cls_token (another architecture or head?)"),
    "NaN weights": (lambda r: edit_checkpoint(r, lambda s: s["student"]["backbone.cls_token"].fill_(float("nan"))),
                    "student backbone.cls_token holds NaN or infinite values"),
    "settings not a table": (lambda r: edit_checkpoint(r, lambda s: s.update(args=[1, 2])),
                             "its settings (args) are not a table of named settings"),
    "optimizer of another model": (lambda r: edit_checkpoint(r, lambda s: s["optimizer"].update(param_groups=[])),
                                   "optimizer param_groups do not match the model built (another architecture?)"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_is_refused_by_name(capsys, images, run, case):
    damage, reason = CHECKPOINT_DAMAGE[case]
    if case == "named pipe" and not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    damage(run)
    path = run / "checkpoint.pth"
    line = resume_refused(capsys, images, run, code=1)
    if reason is None:
        kind = "a named pipe" if case == "named pipe" else "a folder"
        assert line == f"error: {path} is not a regular file ({kind}); delete it and put the real file there"
    else:
        assert line.startswith(f"error: {path}: {reason}"), line
        assert line.endswith("; it cannot be resumed from; start the run again with another --output (or delete the file)")
    assert not (run.parent / "pwned").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_for_a_card_is_not_taken_for_a_finished_run(capsys, images, run):
    os.mkfifo(run / "card.json")
    line = resume_refused(capsys, images, run)
    assert line == (f"error: {run / 'card.json'} is not a regular file (a run's card is); delete it, or choose another "
                    "--output")


def test_a_checkpoint_larger_than_the_model_can_need_is_not_read(capsys, images, run, monkeypatch):
    from radiobench.pretrain import checkpoint

    monkeypatch.setattr(checkpoint, "size_limit", lambda *modules: 1000)
    line = resume_refused(capsys, images, run, code=1)
    assert re.fullmatch(rf"error: {re.escape(str(run / 'checkpoint.pth'))}: checkpoint of [\d.]+ [KM]iB, more than "
                        r"the 1000 bytes radiobench reads; delete it or put the right file there", line), line


# -- the card a run leaves is read back as carefully ------------------------------------------------------------


def test_a_card_with_a_path_for_a_name_is_not_registered(tmp_path):
    from radiobench.errors import RadiobenchError
    from radiobench.pretrain.card import FORMAT, spec_from_dir

    (tmp_path / "card.json").write_text(json.dumps({
        "format": FORMAT, "name": "../../evil", "arch": "resnet18", "embed_dim": 512, "image_size": 64,
        "checkpoint": "teacher.pth", "sha256": "0" * 64, "epochs": 1, "seed": 0}))
    with pytest.raises(RadiobenchError, match=r"card.json: name '../../evil' is not a plain name"):
        spec_from_dir(tmp_path)


def test_a_card_pointing_outside_its_folder_is_not_registered(tmp_path):
    from radiobench.errors import RadiobenchError
    from radiobench.pretrain.card import FORMAT, spec_from_dir

    (tmp_path / "card.json").write_text(json.dumps({
        "format": FORMAT, "name": "ok", "arch": "resnet18", "embed_dim": 512, "image_size": 64,
        "checkpoint": "../../etc/passwd", "sha256": "0" * 64, "epochs": 1, "seed": 0}))
    with pytest.raises(RadiobenchError, match=r"checkpoint '../../etc/passwd' is not a file name beside the card"):
        spec_from_dir(tmp_path)


def test_settings_are_checked_when_train_is_called_directly(tmp_path, images):
    with pytest.raises(PretrainConfigError, match=r"^bad pretrain setting: out_dim = 0: out of range"):
        train(tiny(images, tmp_path / "out", out_dim=0))
    assert not (tmp_path / "out").exists()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
