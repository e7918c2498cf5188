"""The remembered sha256 of a weights file never outlives the file it describes."""

import hashlib
import os

import pytest

from radiobench.registry import get_registry
from radiobench.models.weights import resolve

SPEC = get_registry().backbone("dino_mgcls_resnet50").spec


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    folder = tmp_path / "weights" / SPEC.name
    folder.mkdir(parents=True)
    path = folder / SPEC.weights.filename
    path.write_bytes(b"A" * 64)
    return path


def note_of(path):
    return path.with_name(path.name + ".sha256")


def test_replacement_with_an_older_mtime_is_rehashed(weights):
    assert resolve(SPEC, offline=True).sha256 == hashlib.sha256(b"A" * 64).hexdigest()
    incoming = weights.with_name("incoming")
    incoming.write_bytes(b"B" * 64)  # same size, different bytes
    older = weights.stat().st_mtime_ns - 3600 * 10**9
    os.utime(incoming, ns=(older, older))
    os.replace(incoming, weights)
    assert resolve(SPEC, offline=True).sha256 == hashlib.sha256(b"B" * 64).hexdigest()


def test_in_place_rewrite_restoring_the_mtime_is_rehashed(weights):
    """Same inode, same size, mtime set back exactly: only the ctime (which nobody can set) moves."""
    resolve(SPEC, offline=True)
    before = weights.stat()
    weights.write_bytes(b"C" * 64)
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert weights.stat().st_ino == before.st_ino and weights.stat().st_mtime_ns == before.st_mtime_ns
    assert resolve(SPEC, offline=True).sha256 == hashlib.sha256(b"C" * 64).hexdigest()


def test_note_in_the_old_format_is_recomputed_not_trusted(weights):
    note_of(weights).write_text(f"{'0' * 64}  {weights.name}\n")  # newer than the file: the old rule trusted it
    assert resolve(SPEC, offline=True).sha256 == hashlib.sha256(b"A" * 64).hexdigest()


def test_note_stays_human_readable_and_is_reused_while_the_file_is_unchanged(weights, monkeypatch):
    digest = resolve(SPEC, offline=True).sha256
    text = note_of(weights).read_text()
    assert text.split()[0] == digest and weights.name in text.splitlines()[0]
    assert f"size={weights.stat().st_size}" in text and f"inode={weights.stat().st_ino}" in text
    monkeypatch.setattr("radiobench.models.weights.sha256_file", lambda *a: pytest.fail("rehashed an unchanged file"))
    monkeypatch.setattr("radiobench.models.weights.sha256_and_stamp", lambda *a: pytest.fail("rehashed an unchanged file"))
    assert resolve(SPEC, offline=True).sha256 == digest

