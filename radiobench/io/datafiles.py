"""Where data lives and how it is checked before anything reads it.

Hashing a path and then opening it again leaves a window in which the file can be
replaced, so the bytes parsed need not be the bytes verified, and features computed from
the replacement would be stored under the genuine identity. Readers therefore either
parse the very bytes they hashed (``read_verified``), or, where a data set is too large to
hold in memory, record the file's stamp when hashing it and refuse it if the stamp has
changed once it has been read (``sha256_and_stamp`` and ``check_unchanged``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

from radiobench.io.download import CHUNK, sha256_file
from radiobench.io.reader import NotRegularFileError, open_regular
from radiobench.errors import ChecksumError, DatasetNotFoundError

DEFAULT_HOME = Path("~/.cache/radiobench")
#: What tells one version of a file from another without reading it. ctime is in because nobody
#: can set it back: an in-place rewrite that restores size and mtime still moves it.
STAMP_FIELDS = ("size", "mtime_ns", "ctime_ns", "inode", "device")

Stamp = dict[str, int]


class TaskData(Protocol):
    """What a missing file's message needs of its task: a :class:`radiobench.specs.TaskSpec` (``self.spec``) is one."""

    @property
    def name(self) -> str: ...

    @property
    def data_folder(self) -> str: ...

    @property
    def download_hint(self) -> str: ...


#: The task a file belongs to: its spec (the message then names the data root and the spec's download
#: hint), or just its name (the data folder is then taken to be named after the task, and no hint is known).
TaskRef = str | TaskData


def cache_root() -> Path:
    return Path(os.environ.get("RADIOBENCH_CACHE") or DEFAULT_HOME).expanduser()


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--data-root``, else ``RADIOBENCH_DATA``, else ``~/.cache/radiobench/data``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RADIOBENCH_DATA")
    return Path(env).expanduser() if env else DEFAULT_HOME.expanduser() / "data"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(path: Path, sha256: str, task: TaskRef, url: str) -> bytes:
    """The file's bytes, read through one open and checked against the published sha256.

    Parse what this returns, never ``path`` again: the returned bytes are exactly the ones
    that matched, whatever happens to the file afterwards. ``task``: the task's spec
    (``self.spec``), or its name (see ``TaskRef``).
    """
    try:
        with open_regular(Path(path)) as handle:  # a named pipe would block the read forever
            data = handle.read()
    except FileNotFoundError:
        raise _missing(Path(path), task, url) from None
    except NotRegularFileError as exc:
        raise _not_regular(exc, task, url) from None
    _check_digest(Path(path), sha256_bytes(data), sha256, _name(task))
    return data


def verify_file(path: Path, sha256: str, task: TaskRef) -> None:
    """Check the file on disk; a later reader must not reopen it by path (see ``read_verified``)."""
    _check_digest(path, sha256_file(path), sha256, _name(task))


def require_file(path: Path, sha256: str, task: TaskRef, url: str, hint: str | None = None) -> Path:
    """Return ``path`` once verified; if it is missing or not a regular file, say where it goes and how to get it.

    ``url`` is what `radiobench data download` fetches; data with none (``url=""``) is got by
    hand as ``hint`` says (default: the ``download_hint`` of ``task`` when it is the task's spec).

    Kept for plugins that need a path (e.g. a reader that only takes file names); it leaves
    the hash-then-reopen window open, so prefer ``read_verified`` wherever the bytes fit in memory.
    """
    if not path.exists():
        raise _missing(path, task, url, hint)
    try:
        verify_file(path, sha256, task)
    except NotRegularFileError as exc:  # checked on the open handle, so a pipe is refused before any read
        raise _not_regular(exc, task, url, hint) from None
    return path


def file_stamp(stat: os.stat_result) -> Stamp:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "inode": stat.st_ino, "device": stat.st_dev}


def sha256_and_stamp(path: Path) -> tuple[str, Stamp]:
    """The sha256 and the stamp of one and the same file version, read through one handle.

    The stamp is the open handle's, taken before reading and checked after, and the path must
    still lead to that file at the end; otherwise the file changed while it was hashed.
    """
    for _ in range(3):  # a file still being written settles, or we give up and say so
        with open_regular(path) as handle:  # a named pipe would block the read forever
            before = file_stamp(os.fstat(handle.fileno()))
            digest = hashlib.sha256()
            while block := handle.read(CHUNK):
                digest.update(block)
            after = file_stamp(os.fstat(handle.fileno()))
        if before == after == _current_stamp(path):
            return digest.hexdigest(), before
    raise ChecksumError(f"{path} kept changing while it was hashed; wait until whatever writes it is done, then retry")


def check_unchanged(path: Path, stamp: Stamp, task: str) -> None:
    """Refuse a file that is no longer the version that was hashed (replaced or rewritten since)."""
    if _current_stamp(path) != stamp:
        raise ChecksumError(
            f"{task}: {path} changed since it was hashed (replaced or rewritten while it was being read); "
            "nothing from it was kept: run again once the data folder is no longer being modified"
        )


def _current_stamp(path: Path) -> Stamp | None:
    try:
        return file_stamp(os.stat(path))
    except OSError:
        return None


def _check_digest(path: Path, actual: str, sha256: str, task: str) -> None:
    if actual != sha256:
        raise ChecksumError(
            f"{path}: sha256 {actual[:16]}... does not match the published {sha256[:16]}... "
            f"(corrupt, truncated or tampered); delete it and run `radiobench data download {task}`"
        )


def _name(task: TaskRef) -> str:
    return task if isinstance(task, str) else task.name


def _missing(path: Path, task: TaskRef, url: str, hint: str | None = None) -> DatasetNotFoundError:
    return DatasetNotFoundError(f"{_name(task)}: {path.name} not found in {path.parent}; "
                                f"{_how_to_get(path, task, url, hint)}")


def _not_regular(exc: NotRegularFileError, task: TaskRef, url: str, hint: str | None = None) -> DatasetNotFoundError:
    """A named pipe (or folder, device) where the data file goes: reading it would hang or fail, so say what to do."""
    reason = str(exc).split(";")[0]
    return DatasetNotFoundError(f"{_name(task)}: {reason}; delete it and {_how_to_get(exc.path, task, url, hint)}")


def _how_to_get(path: Path, task: TaskRef, url: str, hint: str | None) -> str:
    """The next step for a missing file: the download command when there is a URL, else the task's own hint.

    Without a URL, `radiobench data download` has nothing to fetch, so the user is sent to
    ``hint``, else to the ``download_hint`` of the task's spec when the caller passed the spec.
    Nothing here looks the task up: this layer sits below the registry.
    """
    name = _name(task)
    spec = None if isinstance(task, str) else task
    if url:
        root = _data_root_of(path, (spec.data_folder or spec.name) if spec is not None else name)
        return f"run `radiobench data download {name} --data-root {root}` or place the file from {url} there"
    hint = hint or (spec.download_hint if spec is not None else "")
    if hint:
        return f"get it by hand ({hint}) and place it in {path.parent}; it has no automatic download"
    return (f"get it by hand and place it in {path.parent}; it has no automatic download and the task names no "
            f"source, so ask the authors of the plugin that provides {name!r}")


def _data_root_of(path: Path, folder: str) -> Path:
    """The data root above ``path``: the parent of the task's data folder (files may sit in subfolders of it)."""
    return next((p.parent for p in path.parents if p.name == folder), path.parent.parent)
