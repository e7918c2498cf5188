"""Reading members of downloaded archives without letting them write anywhere.

Tasks read the members they need straight from the verified archive into memory, so
nothing is ever extracted. Given the archive's verified bytes (``data``), members are parsed
from those very bytes, so a file replaced after its hash is never what gets read. An archive
holding absolute paths, ``..`` components, links or device files is refused as a whole,
since it cannot be the published one.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterable
from pathlib import Path

from radiobench.errors import UnsafeDataError


def check_member_name(name: str, archive: Path) -> str:
    """Return the normalised member name, or raise if it would leave the target folder."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeDataError(f"{archive}: member {name!r} has an absolute path; refusing to read this archive")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeDataError(f"{archive}: member {name!r} leaves the target folder ('..'); refusing to read this archive")
    return posixpath.normpath(name)


# Largest archive member read into memory: the data sets' batches and HDF5 files are tens of MiB
MEMBER_LIMIT = 4 << 30


def read_tar_members(archive: Path, wanted: Iterable[str], data: bytes | None = None) -> dict[str, bytes]:
    """Read the regular files named in ``wanted`` (paths inside the archive) into memory.

    With ``data`` (the archive's bytes, e.g. from ``datafiles.read_verified``) the file at
    ``archive`` is not opened at all; its name only labels the messages.
    """
    wanted = set(wanted)
    found: dict[str, bytes] = {}
    try:
        with _open_tar(archive, data) as tar:
            for member in tar:
                name = check_member_name(member.name, archive)
                if member.issym() or member.islnk() or member.isdev():
                    raise UnsafeDataError(
                        f"{archive}: member {member.name!r} is a link or device; refusing to read this archive"
                    )
                if member.isfile() and name in wanted:
                    if member.size > MEMBER_LIMIT:
                        raise UnsafeDataError(f"{archive}: member {member.name!r} declares {member.size:,} bytes, more "
                                              f"than the {MEMBER_LIMIT:,} radiobench reads from an archive")
                    handle = tar.extractfile(member)
                    assert handle is not None  # regular files always have data
                    found[name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UnsafeDataError(f"{archive}: not a readable tar archive ({exc}); delete it and download it again") from None
    missing = sorted(wanted - found.keys())
    if missing:
        raise UnsafeDataError(f"{archive}: missing expected member(s) {', '.join(missing)}")
    return found


def _open_tar(archive: Path, data: bytes | None) -> tarfile.TarFile:
    if data is None:  # opened as a regular file only (a pipe would block), through the one reader
        from radiobench.io.reader import open_regular

        return tarfile.open(fileobj=open_regular(archive), mode="r:*")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
