"""The one way radiobench opens a file it did not just write: regular files only, sizes capped before reading.

Every file the tool reads back (results, prediction sidecars, cache entries, checkpoints,
configs, images, job records) may come from someone else: a shared results folder, a
copied cache, a planted jobs folder. Three things go wrong with a plain ``open``:

- a named pipe or a character device (``/dev/zero``) in place of the file blocks forever
  or reads until memory runs out;
- a small compressed file (npz, gzip, PNG) expands to gigabytes;
- the error that follows is a traceback that does not say which file.

So a file is opened without blocking and checked to be a regular file on the open handle
(nothing swapped in between a check and the read slips through), its size is compared with
a cap before a byte is read, compressed content is checked against a cap on what it expands
to before it is expanded, and every refusal is one :class:`UnreadableFileError` line that
names the file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from radiobench.errors import DatasetNotFoundError, RadiobenchError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


class UnreadableFileError(RadiobenchError):
    """A file that is not a regular file, is too large, expands too far, or is not what it should be."""

    def __init__(self, path: str | Path, reason: str, hint: str = "delete it or put the right file there"):
        super().__init__(f"{path}: {reason}; {hint}")
        self.path = Path(path)


class NotRegularFileError(UnreadableFileError, DatasetNotFoundError):
    """A named pipe, folder or device where a file should be (a data file too: hence also DatasetNotFoundError)."""

    def __init__(self, path: str | Path, mode: int):
        RadiobenchError.__init__(self, f"{path} is not a regular file ({file_kind(mode)}); delete it and put the "
                                 "real file there")
        self.path = Path(path)


def file_kind(mode: int) -> str:
    """What a non-regular ``st_mode`` is, in words."""
    kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((word for test, word in kinds if test(mode)), "not a plain file")


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading if, and only if, it is a regular file (symlinks to one are fine).

    Opened with ``O_NONBLOCK`` so that a named pipe does not block the open itself, then
    checked on the handle; blocking is restored for the regular file that passed.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)  # not on Windows, which has no named pipes in the file system
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(Path(path), mode)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _size_words(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def read_bytes(path: str | Path, *, limit: int, what: str = "file") -> bytes:
    """The whole content of the regular file ``path``, refused when it holds more than ``limit`` bytes.

    The size is checked on the open handle before reading, and the read itself stops at
    ``limit + 1`` bytes, so a file that grows while it is read is refused as well.
    """
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise UnreadableFileError(path, f"{what} of {_size_words(size)}, more than the {_size_words(limit)} "
                                          "radiobench reads")
            content = handle.read(limit + 1)
    except FileNotFoundError:
        raise UnreadableFileError(path, f"{what} is missing", "check the path") from None
    except IsADirectoryError:
        raise UnreadableFileError(path, f"{what} is a folder, not a file", "give the file's path") from None
    except PermissionError:
        raise UnreadableFileError(path, f"{what} cannot be read (permission denied)", "fix its permissions") from None
    except OSError as exc:
        if isinstance(exc, UnreadableFileError):
            raise
        raise UnreadableFileError(path, f"{what} cannot be read ({exc.strerror or exc})", "check the disk") from None
    if len(content) > limit:
        raise UnreadableFileError(path, f"{what} grew past {_size_words(limit)} while it was read")
    return content


def read_text(path: str | Path, *, limit: int, what: str = "file") -> str:
    """:func:`read_bytes`, decoded as UTF-8 (a binary file is refused by name, not with a UnicodeDecodeError)."""
    content = read_bytes(path, limit=limit, what=what)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFileError(path, f"{what} is not UTF-8 text") from None


def read_json(path: str | Path, *, limit: int, what: str = "JSON file") -> Any:
    """:func:`read_text`, parsed as JSON; what the document must hold is the caller's to check."""
    text = read_text(path, limit=limit, what=what)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UnreadableFileError(path, f"{what} is not valid JSON ({exc})") from None
    except RecursionError:  # [[[[...: nested deeper than the parser's stack
        raise UnreadableFileError(path, f"{what} nests deeper than any radiobench file") from None


def load_npz(content: bytes, *, limit: int, source: str | Path, what: str = "numpy archive") -> dict[str, Any]:
    """Every array of an ``.npz`` archive, refused when its members would expand past ``limit`` bytes.

    A zip member's header states its expanded size, and Python's zip reader never returns
    more than that, so checking the stated sizes before expanding bounds the memory used.
    Nothing is unpickled (``allow_pickle=False``).
    """
    import numpy as np

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableFileError(source, f"{what} is not a readable zip archive ({exc})") from None
    if expanded > limit:
        raise UnreadableFileError(source, f"{what} expands to {_size_words(expanded)}, more than the "
                                  f"{_size_words(limit)} radiobench reads")
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except Exception as exc:  # noqa: BLE001 - zipfile, numpy and OS errors alike: the file is not ours
        raise UnreadableFileError(source, f"{what} is not readable ({type(exc).__name__}: {exc})") from None
    stray = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]  # numpy hands non-.npy members back as bytes
    if stray:
        raise UnreadableFileError(source, f"{what} is not readable (member {stray[0]!r} is not a numpy array)")
    return arrays


def gunzip(content: bytes, *, limit: int, source: str | Path, what: str = "gzip file") -> bytes:
    """The expanded content of gzip ``content``, stopped (and refused) as soon as it passes ``limit`` bytes.

    gzip's trailer states the expanded size only modulo 4 GiB, so the expansion itself is capped.
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            out = stream.read(limit + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise UnreadableFileError(source, f"{what} is not a readable gzip stream ({exc})") from None
    if len(out) > limit:
        raise UnreadableFileError(source, f"{what} expands to more than the {_size_words(limit)} radiobench reads")
    return out


def check_image_pixels(size: tuple[int, int], *, max_pixels: int, source: str | Path) -> None:
    """Refuse an image whose header declares more than ``max_pixels`` pixels, before it is decoded.

    PIL's own guard (``Image.MAX_IMAGE_PIXELS``) only warns below twice its limit, and a
    PNG of 100 kB can declare 11000 x 11000 pixels (0.5 GB as float32).
    """
    width, height = size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise UnreadableFileError(source, f"image declares {width} x {height} pixels, more than the {max_pixels:,} "
                                  "radiobench decodes", "resize or crop it first")
