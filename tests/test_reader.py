"""The one reader: regular files only, sizes and expansions capped, one line naming the file."""

from __future__ import annotations

import gzip
import io
import os
import zipfile

import numpy as np
import pytest

from radiobench.io.reader import (
    MiB,
    NotRegularFileError,
    UnreadableFileError,
    check_image_pixels,
    gunzip,
    load_npz,
    read_bytes,
    read_json,
    read_text,
)

pytestmark = pytest.mark.timeout(30)


def test_reads_a_regular_file_whole(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"x": 1}')
    assert read_bytes(path, limit=100) == b'{"x": 1}'
    assert read_json(path, limit=100) == {"x": 1}


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match=r"r.json is not a regular file \(a named pipe\); delete it"):
        read_bytes(fifo, limit=100)


def test_a_device_is_refused_before_reading(tmp_path):
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotRegularFileError, match=r"zero.npz is not a regular file \(a character device\)"):
        read_bytes(link, limit=100)


def test_a_folder_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(UnreadableFileError, match=r"nope.json: result is missing; check the path"):
        read_bytes(tmp_path / "nope.json", limit=10, what="result")
    with pytest.raises(NotRegularFileError, match=r"is not a regular file \(a folder\)"):
        read_bytes(tmp_path, limit=10)


def test_an_oversized_file_is_refused_by_size_before_reading(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2000)
    with pytest.raises(UnreadableFileError, match=r"big.json: cache entry of 1.95 KiB, more than the 1000 bytes"):
        read_bytes(path, limit=1000, what="cache entry")


def test_binary_and_broken_json_are_one_line(tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UnreadableFileError, match="b.json: file is not UTF-8 text"):
        read_text(path, limit=100)
    path.write_text("{")
    with pytest.raises(UnreadableFileError, match=r"b.json: JSON file is not valid JSON \(") as err:
        read_json(path, limit=100)
    assert "\n" not in str(err.value)
    path.write_text("[" * 100_000)
    with pytest.raises(UnreadableFileError, match="b.json: JSON file nests deeper than any radiobench file"):
        read_json(path, limit=200_000)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_npz_round_trip_and_a_zip_bomb_is_refused_before_expanding():
    assert load_npz(_npz(a=np.arange(3)), limit=MiB, source="s.npz")["a"].tolist() == [0, 1, 2]
    bomb = _npz(a=np.zeros(50 * MiB // 8))  # ~50 KB on disk, 50 MiB expanded
    assert len(bomb) < MiB
    with pytest.raises(UnreadableFileError, match=r"s.npz: numpy archive expands to 50 MiB, more than the 1 MiB"):
        load_npz(bomb, limit=MiB, source="s.npz")


def test_npz_with_a_pickled_object_is_refused():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(UnreadableFileError, match="s.npz: numpy archive is not readable"):
        load_npz(buffer.getvalue(), limit=MiB, source="s.npz")


def test_garbage_is_not_a_zip():
    with pytest.raises(UnreadableFileError, match="not a readable zip archive"):
        load_npz(b"hello", limit=MiB, source="s.npz")
    with zipfile.ZipFile(buf := io.BytesIO(), "w") as z:
        z.writestr("a.npy", b"junk")
    with pytest.raises(UnreadableFileError, match="numpy archive is not readable"):
        load_npz(buf.getvalue(), limit=MiB, source="s.npz")


def test_gzip_expansion_is_capped():
    small = gzip.compress(b"abc")
    assert gunzip(small, limit=10, source="f.gz") == b"abc"
    bomb = gzip.compress(b"\0" * (8 * MiB))
    with pytest.raises(UnreadableFileError, match=r"f.fits.gz: gzip file expands to more than the 1 MiB"):
        gunzip(bomb, limit=MiB, source="f.fits.gz")
    with pytest.raises(UnreadableFileError, match="not a readable gzip stream"):
        gunzip(b"not gzip", limit=MiB, source="f.gz")


def test_image_pixel_cap():
    check_image_pixels((100, 100), max_pixels=10_000, source="a.png")
    with pytest.raises(UnreadableFileError, match=r"a.png: image declares 11000 x 11000 pixels, more than the 10,000"):
        check_image_pixels((11000, 11000), max_pixels=10_000, source="a.png")
