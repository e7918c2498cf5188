"""Reading members of downloaded archives without letting them write anywhere.

Tasks read the members they need straight from the verified archive into memory, so
nothing is ever extracted; an archive holding absolute paths, ``..`` components,
links or device files is refused as a whole, since it cannot be the published one.
"""

from __future__ import annotations

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


def read_tar_members(archive: Path, wanted: Iterable[str]) -> dict[str, bytes]:
    """Read the regular files named in ``wanted`` (paths inside the archive) into memory."""
    wanted = set(wanted)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = check_member_name(member.name, archive)
                if member.issym() or member.islnk() or member.isdev():
                    raise UnsafeDataError(
                        f"{archive}: member {member.name!r} is a link or device; refusing to read this archive"
                    )
                if member.isfile() and name in wanted:
                    handle = tar.extractfile(member)
                    assert handle is not None  # regular files always have data
                    found[name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UnsafeDataError(f"{archive}: not a readable tar archive ({exc}); delete it and download it again") from None
    missing = sorted(wanted - found.keys())
    if missing:
        raise UnsafeDataError(f"{archive}: missing expected member(s) {', '.join(missing)}")
    return found
