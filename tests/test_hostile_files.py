"""Files planted where radiobench reads (issue 29 E and the one-reader rule): a named pipe, a link to
/dev/zero, an archive that claims gigabytes, a sidecar rewritten to flatter its result, a damaged cache
entry. Each is refused in one line naming the file (or, for a cache, treated as a miss and made again);
nothing hangs, fills the memory or ends in a traceback. Every test runs under a timeout, so a read that
blocks on a pipe fails the test instead of hanging the suite."""

from __future__ import annotations

import json
import os
import re
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from radiobench.cli import main
from radiobench.errors import ResultsError
from radiobench.results import ResultRecord
from radiobench.results.predictions import ItemPredictions, read_predictions, sha256, to_bytes

from test_compare import synthetic

pytestmark = pytest.mark.timeout(120)


# --------------------------------------------------------------------------- helpers


def sidecar_of(result: Path) -> Path:
    return result.with_name(json.loads(result.read_text())["predictions"]["file"])


def replace_sidecar(result: Path, content: bytes) -> None:
    """Write ``content`` as the result's sidecar and record its sha256 in the JSON, as a forger would."""
    sidecar_of(result).write_bytes(content)
    record = json.loads(result.read_text())
    record["predictions"]["sha256"] = sha256(content)
    result.write_text(json.dumps(record))


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")


def claims_gigabytes(content: bytes) -> bytes:
    """``content`` (a zip) with its first member's central-directory entry claiming 3.75 GiB expanded.

    What a zip bomb looks like to a reader that checks before expanding: the stated size. Kept a
    few kilobytes on disk; a reader that expanded first would fail on the data, not on the size.
    """
    data = bytearray(content)
    at = data.index(b"PK\x01\x02")  # central directory file header; uncompressed size at +24
    data[at + 24:at + 28] = struct.pack("<I", 0xF000_0000)
    return bytes(data)


def board_for(folder: Path):
    from radiobench.board.collect import collect
    from radiobench.board.render import render

    board = collect(folder)
    return board, render(board, "md")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- prediction sidecars


HOSTILE_SIDECARS = {
    "named pipe": (fifo, "is not a regular file (a named pipe)"),
    "link to /dev/zero": (dev_zero, "is not a regular file (a character device)"),
}


@pytest.mark.parametrize("plant", list(HOSTILE_SIDECARS), ids=list(HOSTILE_SIDECARS))
def test_a_sidecar_that_is_not_a_regular_file_is_refused_by_name_everywhere(tmp_path, capsys, plant):
    make, words = HOSTILE_SIDECARS[plant]
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, _ = synthetic(tmp_path, "beta", 0.30, seed=2)
    make(sidecar_of(b))
    with pytest.raises(ResultsError, match=re.escape(words)) as info:
        read_predictions(b, ResultRecord.read(b))
    assert "beta__t__linear.predictions.npz" in str(info.value) and "\n" not in str(info.value)
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    assert words in one_line(capsys.readouterr().err)
    board, page = board_for(tmp_path)
    beta = board.cells[("beta", "t")]
    assert beta.refused and words in beta.refused and beta.rank is None and not beta.tied
    assert "⊘ beta on t: not tested" in page


def test_a_sidecar_claiming_gigabytes_is_refused_before_it_is_expanded(tmp_path, capsys):
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, items = synthetic(tmp_path, "beta", 0.30, seed=2)
    bomb = claims_gigabytes(to_bytes(items))
    assert len(bomb) < 64 * 1024
    replace_sidecar(b, bomb)  # the sha256 matches: only the expansion cap stands in the way
    with pytest.raises(ResultsError, match=r"predictions file expands to 3\.75 GiB, more than the 1 GiB radiobench "
                                           r"reads; re-run the result with --overwrite"):
        read_predictions(b, ResultRecord.read(b))
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    assert "expands to 3.75 GiB" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("damage, words", [
    (lambda cols: cols.pop("id"), "no text column 'id'"),
    (lambda cols: cols.update(predicted=cols["predicted"][:-1]), "column 'predicted' is"),
    (lambda cols: cols.update(truth=cols["truth"].astype(str)), "column 'truth' is"),
    # a pickle among the columns is not refused: it is no column radiobench reads, and nothing is unpickled
    (lambda cols: cols.update(extra=np.asarray(b"\x80\x03cos\nsystem\n")), None),
])
def test_a_sidecar_with_damaged_columns_is_named_not_a_traceback(tmp_path, damage, words):
    import io

    b, items = synthetic(tmp_path, "beta", 0.30, seed=2)
    with np.load(io.BytesIO(to_bytes(items))) as archive:
        columns = {k: archive[k] for k in archive.files}
    damage(columns)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **columns)
    replace_sidecar(b, buffer.getvalue())
    if words is None:
        assert sorted(read_predictions(b, ResultRecord.read(b))) == [0, 1, 2]
        return
    with pytest.raises(ResultsError, match=f"not a well-formed predictions file \\({words}") as info:
        read_predictions(b, ResultRecord.read(b))
    assert str(sidecar_of(b)) in str(info.value)


def test_a_sidecar_holding_pickles_or_stray_members_is_refused_and_nothing_is_unpickled(tmp_path):
    import io

    b, items = synthetic(tmp_path, "beta", 0.30, seed=2)
    with np.load(io.BytesIO(to_bytes(items))) as archive:
        columns = {k: archive[k] for k in archive.files}
    buffer = io.BytesIO()
    np.savez(buffer, **{**columns, "id": columns["id"].astype(object)})  # an object array is a pickle
    replace_sidecar(b, buffer.getvalue())
    with pytest.raises(ResultsError, match=r"predictions file is not readable \(ValueError: Object arrays cannot"):
        read_predictions(b, ResultRecord.read(b))
    buffer = io.BytesIO(to_bytes(items))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("run.pkl", b"\x80\x03cos\nsystem\n")
    replace_sidecar(b, buffer.getvalue())
    with pytest.raises(ResultsError, match=r"member 'run.pkl' is not a numpy array"):
        read_predictions(b, ResultRecord.read(b))


def test_a_sidecar_of_another_run_with_its_sha256_recorded_is_refused_not_tested_by_a_looser_rule(tmp_path, capsys):
    """Another backbone's predictions copied in as beta's, the sha256 updated: the JSON's 0.30 is not what they give."""
    a, a_items = synthetic(tmp_path, "alpha", 0.05, seed=1)
    synthetic(tmp_path, "gamma", 0.06, seed=4)
    b, _ = synthetic(tmp_path, "beta", 0.30, seed=2)
    replace_sidecar(b, to_bytes(a_items))
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"{b}: its predictions give error 0.0" in err and "for seed 0 but the result records 0.3" in err
    assert "belongs to another run" in err and "--overwrite" in err
    board, page = board_for(tmp_path)
    beta = board.cells[("beta", "t")]
    assert beta.refused and str(b) in beta.refused and beta.rank is None and not beta.tied
    assert "⊘ beta on t: not tested" in page and "~" not in page.split("| beta |")[1].splitlines()[0]
    assert board.cells[("alpha", "t")].rank == 1  # the others are still tested against each other


def test_perfect_predictions_over_a_result_are_refused_with_both_numbers(tmp_path, capsys):
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, items = synthetic(tmp_path, "beta", 0.30, seed=2)
    replace_sidecar(b, to_bytes({s: ItemPredictions(it.ids, it.truth, it.truth.copy()) for s, it in items.items()}))
    assert main(["compare", "beta", "alpha", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    err = one_line(capsys.readouterr().err)
    assert "beta__t__linear.json: its predictions give error 0.0000 for seed 0 but the result records 0.3" in err


# --------------------------------------------------------------------------- result files


@pytest.mark.parametrize("plant", list(HOSTILE_SIDECARS), ids=list(HOSTILE_SIDECARS))
def test_a_result_file_that_is_not_a_regular_file_is_one_line(tmp_path, capsys, plant):
    make, words = HOSTILE_SIDECARS[plant]
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, _ = synthetic(tmp_path, "beta", 0.30, seed=2)
    make(b)
    with pytest.raises(ResultsError, match=re.escape(words)) as info:
        ResultRecord.read(b)
    assert str(b) in str(info.value) and "\n" not in str(info.value)
    # the board does not hang on it, and names it rather than dropping the row
    code = main(["leaderboard", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and f"{b} is not a regular file, so it is no result" in one_line(err)


# --------------------------------------------------------------------------- the feature cache


def cache_entry(tmp_path: Path):
    from radiobench.run.cache import CacheEntry

    from test_cache import fields

    entry = CacheEntry.for_fields(fields(), tmp_path)
    entry.save(np.random.default_rng(0).random((5, 16), dtype=np.float32), np.arange(5))
    return entry


def rewrite_entry(entry, **changes) -> None:
    with np.load(entry.path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    with open(entry.path, "wb") as handle:
        np.savez(handle, **arrays)


BAD_ENTRIES = {
    "features of another shape": (lambda e: rewrite_entry(e, features=np.zeros((5, 4, 4), np.float32)),
                                  "does not match"),
    "features of text": (lambda e: rewrite_entry(e, features=np.full((5, 16), "x")), "does not match"),
    "fewer labels": (lambda e: rewrite_entry(e, labels=np.arange(4)), "does not match"),
    "non-finite features": (lambda e: rewrite_entry(e, features=np.full((5, 16), np.nan, np.float32)), "non-finite"),
    "another key": (lambda e: rewrite_entry(e, key=np.array("0" * 64)), "does not match its key"),
    "an extra member": (lambda e: rewrite_entry(e, extra=np.zeros(1)), "members"),
    "a named pipe": (lambda e: fifo(e.path), "not a regular file"),
    "a link to /dev/zero": (lambda e: dev_zero(e.path), "not a regular file"),
    "a member claiming gigabytes": (lambda e: e.path.write_bytes(claims_gigabytes(e.path.read_bytes())), "expands to"),
}


@pytest.mark.parametrize("damage", list(BAD_ENTRIES), ids=list(BAD_ENTRIES))
def test_a_bad_feature_cache_entry_is_a_miss_deleted_and_made_again(tmp_path, monkeypatch, damage):
    from radiobench.run import cache

    monkeypatch.setattr(cache, "ENTRY_LIMIT", 1 << 30)  # the real cap is 16 GiB: a claim above it is not worth writing
    entry = cache_entry(tmp_path)
    make, words = BAD_ENTRIES[damage]
    make(entry)
    with pytest.warns(UserWarning, match=f"ignoring unreadable feature cache entry {entry.path}.*{words}"):
        assert entry.load(5) is None
    assert not os.path.lexists(entry.path)
    entry.save(np.ones((5, 16), np.float32), np.arange(5))  # extracted again: the next run hits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = entry.load(5)
    assert got is not None and got[0].shape == (5, 16)


def test_feature_maps_and_numeric_labels_of_every_kind_are_hits(tmp_path):
    from radiobench.run.cache import CacheEntry

    from test_cache import fields

    for labels in (np.arange(3), np.linspace(0, 1, 3), np.array([-1, 4, 5])):
        entry = CacheEntry.for_fields(fields(), tmp_path)
        entry.save(np.zeros((3, 8, 2, 2), np.float16), labels)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert entry.load(3) is not None


# --------------------------------------------------------------------------- other files read back


def test_a_checkpoint_that_is_a_pipe_or_dev_zero_is_one_line(tmp_path):
    from radiobench.models.checkpoints import CheckpointError, read_checkpoint

    for name, make in (("w.pth", fifo), ("w.safetensors", dev_zero)):
        make(tmp_path / name)
        with pytest.raises(CheckpointError, match=rf"{name} is not a regular file"):
            read_checkpoint(tmp_path / name)


def test_a_checkpoint_zip_claiming_gigabytes_is_refused_before_torch_reads_it(tmp_path, monkeypatch):
    import torch

    from radiobench.models import checkpoints

    path = tmp_path / "w.pth"
    torch.save({"w": torch.ones(4)}, path)
    assert checkpoints.read_checkpoint(path)["w"].sum() == 4
    monkeypatch.setattr(checkpoints, "CHECKPOINT_LIMIT", 1 << 20)  # a 32 GiB claim is not worth writing here
    path.write_bytes(claims_gigabytes(path.read_bytes()))
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"w\.pth: expands to 3\.75 GiB, more than the .* GiB a checkpoint may hold"):
        checkpoints.read_checkpoint(path)


def test_a_weights_note_that_is_a_pipe_is_a_missing_note(tmp_path):
    from radiobench.models.weights import _read_note

    fifo(tmp_path / "w.pth.sha256")
    assert _read_note(tmp_path / "w.pth.sha256") is None


def test_a_coco_annotation_pipe_and_a_png_declaring_a_huge_image_are_one_line(tmp_path):
    import zlib

    from PIL import Image

    from radiobench.tasks.coco import CocoError, read_coco
    from radiobench.tasks.detection import read_png_channel

    fifo(tmp_path / "ann.json")
    with pytest.raises(CocoError, match=r"ann\.json is not a regular file \(a named pipe\)"):
        read_coco(tmp_path / "ann.json", tmp_path)
    path = tmp_path / "bomb.png"
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = struct.pack(">II", 9_000, 9_000) + bytes(data[24:29])  # under PIL's own limits, over radiobench's
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(bytes(data))
    with pytest.raises(CocoError, match=r"bomb\.png: image declares 9000 x 9000 pixels, more than the 67,108,864"):
        read_png_channel(path, 0)


def test_catalogue_cache_and_truth_catalogue_pipes_do_not_hang(tmp_path):
    from radiobench.astro.label_quality import read_truth
    from radiobench.astro.sourcefinding import read_catalogue_cache
    from radiobench.io.reader import UnreadableFileError

    fifo(tmp_path / "cached.csv")
    assert read_catalogue_cache(tmp_path / "cached.csv") is None and not os.path.lexists(tmp_path / "cached.csv")
    fifo(tmp_path / "f.truth.csv")
    with pytest.raises(UnreadableFileError, match=r"f\.truth\.csv is not a regular file"):
        read_truth(tmp_path / "f.truth.csv")


def test_a_planted_zip_in_a_members_listing_never_reaches_the_archive_reader(tmp_path):
    """The Protege image archives are opened as regular files: a pipe in their place is one line."""
    from radiobench.errors import UnsafeDataError
    from radiobench_plugins.mgcls_anomaly.task import unpack_pngs

    fifo(tmp_path / "part1.zip")
    with pytest.raises(UnsafeDataError, match=r"part1\.zip is not a regular file"):
        unpack_pngs(tmp_path / "part1.zip", tmp_path / "images")
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("1.png", b"x")
    assert unpack_pngs(tmp_path / "ok.zip", tmp_path / "images") == 1


def test_a_pipe_planted_as_a_result_is_named_not_silently_dropped(tmp_path):
    from radiobench.errors import ResultsError
    from radiobench.results.files import iter_results

    os.mkfifo(tmp_path / "planted__t__linear.json")
    with pytest.raises(ResultsError, match=r"planted__t__linear.json is not a regular file, so it is no result"):
        list(iter_results(tmp_path))


def test_a_catalogue_and_an_archive_are_read_as_regular_files_only(tmp_path):
    from radiobench.astro.catalogues import CatalogueError, _read_columns
    from radiobench.errors import UnsafeDataError
    from radiobench.io.archives import read_tar_members

    os.mkfifo(tmp_path / "cat.csv")
    with pytest.raises(CatalogueError, match=r"cat.csv is not a regular file \(a named pipe\)"):
        _read_columns(tmp_path / "cat.csv")
    (tmp_path / "ok.csv").write_text("# made here\nRA, DEC\n10.5, -30.25\n")
    assert _read_columns(tmp_path / "ok.csv")["DEC"].tolist() == [-30.25]
    os.mkfifo(tmp_path / "data.tar.gz")
    with pytest.raises(Exception, match=r"data.tar.gz is not a regular file \(a named pipe\)"):
        read_tar_members(tmp_path / "data.tar.gz", ["x"])
