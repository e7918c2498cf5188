"""Hostile or damaged data files: refused with a clear message, nothing written."""

import functools
import http.server
import io
import os
import pickle
import shutil
import tarfile
import threading

import numpy as np
import pytest

from radiobench.io import archives, safe_pickle
from radiobench.io.download import sha256_file
from radiobench.errors import ChecksumError, DatasetNotFoundError, UnsafeDataError
from radiobench.registry import get_registry
from radiobench.run import build_task
from radiobench_plugins import mirabest

ARCHIVE = mirabest.ARCHIVE


def mirabest_task():
    return build_task(get_registry().task("mirabest"))


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/radiobench-pwned",))


def test_pickle_carrying_code_is_refused_before_it_runs(tmp_path):
    payload = pickle.dumps({"data": [_Exploit()], "labels": [0]})
    with pytest.raises(UnsafeDataError, match=r"refusing to unpickle (posix|os)\.system"):
        safe_pickle.loads(payload, "evil_batch")
    assert not os.path.exists("/tmp/radiobench-pwned")


def test_plain_array_pickles_still_load():
    batch = {"data": [np.arange(4, dtype=np.uint8)], "labels": [1], "filenames": [np.str_("a.png")]}
    assert safe_pickle.loads(pickle.dumps(batch), "ok")["labels"] == [1]


def test_truncated_pickle_is_a_clear_error():
    with pytest.raises(UnsafeDataError, match="not a readable data pickle"):
        safe_pickle.loads(pickle.dumps({"data": list(range(100))})[:20], "cut")


def _tar_with(tmp_path, name, member_name, data=b"x", kind=tarfile.REGTYPE):
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member_name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
        else:
            info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize(
    "member, kind, message",
    [
        ("../../escape.txt", tarfile.REGTYPE, "leaves the target folder"),
        ("/etc/cron.d/evil", tarfile.REGTYPE, "absolute path"),
        ("F_batches/link", tarfile.SYMTYPE, "link or device"),
    ],
)
def test_archive_members_escaping_the_target_are_refused(tmp_path, member, kind, message):
    archive = _tar_with(tmp_path, "evil.tar.gz", member, kind=kind)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(UnsafeDataError, match=message):
        archives.read_tar_members(archive, ["F_batches/test_batch"])
    assert set(tmp_path.rglob("*")) == before  # nothing extracted anywhere under the folder
    assert not (tmp_path.parent.parent / "escape.txt").exists()


def test_tampered_archive_fails_its_checksum_and_nothing_is_extracted(shared_data, tmp_path):
    folder = tmp_path / "mirabest"
    folder.mkdir()
    data = bytearray((shared_data / "mirabest" / ARCHIVE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / ARCHIVE).write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"does not match the published .* run `radiobench data download mirabest`"):
        mirabest_task().prepare(tmp_path)
    assert [p.name for p in tmp_path.rglob("*")] == ["mirabest", ARCHIVE]


def test_missing_archive_message_names_command_and_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        mirabest_task().prepare(tmp_path)
    message = str(info.value)
    assert f"radiobench data download mirabest --data-root {tmp_path}" in message
    assert str(tmp_path / "mirabest") in message and "jb.man.ac.uk" in message


def test_real_archive_is_read_in_place_without_writing(shared_data):
    # shared/data is read-only: preparing and loading must not need to write there
    task = mirabest_task()
    task.prepare(shared_data)
    assert len(task.load_split("test")) == 104


@pytest.fixture
def http_server(tmp_path):
    """A loopback HTTP server over tmp_path/www, standing in for the official host."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_verifies_and_keeps_a_good_file(shared_data, tmp_path, http_server, monkeypatch):
    www, base = http_server
    shutil.copy(shared_data / "mirabest" / ARCHIVE, www / ARCHIVE)
    monkeypatch.setattr("radiobench_plugins.mirabest.task.URLS", (f"{base}/{ARCHIVE}",))
    task = mirabest_task()
    task.prepare(tmp_path / "root", download=True)
    assert sha256_file(tmp_path / "root" / "mirabest" / ARCHIVE) == mirabest.ARCHIVE_SHA256
    assert len(task.load_split("train")) == 729


def test_download_of_tampered_file_keeps_nothing(tmp_path, http_server, monkeypatch):
    www, base = http_server
    (www / ARCHIVE).write_bytes(b"not the archive")
    monkeypatch.setattr("radiobench_plugins.mirabest.task.URLS", (f"{base}/{ARCHIVE}", f"{base}/missing.tar.gz"))
    with pytest.raises(DatasetNotFoundError, match="nothing was kept.*could not download .*missing.tar.gz"):
        mirabest_task().prepare(tmp_path / "root", download=True)
    folder = tmp_path / "root" / "mirabest"
    assert not folder.exists() or list(folder.iterdir()) == []
