"""On-disk cache of extracted features, keyed by everything that changes them.

Key fields (hashed together): backbone name, weights identity, input contract with its
channel handling, backbone options, task name/version/data sha256, split, scaling,
``--limit``, precision, torch/timm versions and the cache format version. An entry is
written to a temporary file and renamed into place, so a killed run leaves either the
complete entry or nothing under the final name; an unreadable or mismatching entry is
treated as a miss and rewritten.

Entries are read back through :mod:`radiobench.io.reader` rules (a regular file, its size and
its members' expanded sizes capped before anything is expanded) and checked field by field:
the key, numeric arrays, features of 2 (vectors) or 4 (maps) axes with a row per item, labels
a row per item, every feature finite. Whatever fails, a named pipe or a planted archive
included, is the unreadable entry above: a warning, the entry deleted, the features extracted
again. A cache can be shared, so nothing read from one is used unchecked.

Many processes may share one cache (a sweep's jobs on a cluster, runs side by side): a
process that misses an entry extracts it only while holding the entry's file lock
(:meth:`CacheEntry.claimed`, from ``filelock``), and looks again once it holds it, so two
jobs that need the same features extract them once; the other waits and reads the entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.io.atomic import open_atomic
from radiobench.io.datafiles import cache_root
from radiobench.io.reader import GiB, open_regular

FORMAT_VERSION = 1
# Entries are stored uncompressed, so on disk and expanded they are the same size. The largest
# legitimate ones are a million vectors of 2048 floats or a few thousand ViT-B feature maps: about
# 8 GiB, which a run then holds in memory anyway. Twice that is refused before it is read.
ENTRY_LIMIT = 16 * GiB
MEMBERS = {"features", "labels", "key", "fields"}


def cache_key(fields: dict[str, Any]) -> str:
    canonical = json.dumps({"format": FORMAT_VERSION, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class CacheEntry:
    path: Path
    key: str
    fields: dict[str, Any]

    @classmethod
    def for_fields(cls, fields: dict[str, Any], root: Path | None = None) -> CacheEntry:
        key = cache_key(fields)
        root = (root or cache_root()) / "features"
        path = root / _safe(fields["task"]) / _safe(fields["backbone"]) / f"{_safe(fields['split'])}-{key[:24]}.npz"
        return cls(path, key, fields)

    def load(self, expected_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The entry's (features, labels) if it holds valid ones for ``expected_rows`` items, else None.

        Anything wrong with it (unreadable, another key, a wrong shape or dtype, a non-finite
        feature) is a miss: the entry is deleted, with a warning, and extracted again.
        """
        if not os.path.lexists(self.path):
            return None
        try:
            arrays = _read_entry(self.path)
            problem = _invalid(arrays, self.key, expected_rows)
            if problem:
                raise ValueError(problem)
        except Exception as exc:  # noqa: BLE001 - any unreadable entry is a miss, never an error
            warnings.warn(f"ignoring unreadable feature cache entry {self.path} ({exc}); recomputing", stacklevel=2)
            self.path.unlink(missing_ok=True)
            return None
        return arrays["features"], arrays["labels"]

    @contextmanager
    def claimed(self) -> Iterator[None]:
        """Hold this entry's lock (a ``.lock`` file beside it) while the block runs.

        Whoever holds it is the only process that may extract and write the entry; a reader
        that takes it after a writer sees the complete entry (writes are atomic renames), so
        the check-then-extract of :func:`radiobench.run.vectors` is not a race between jobs.
        The lock is released by the OS if the holder is killed.
        """
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path.with_name(f".{self.path.name}.lock"))):
            yield

    def save(self, features: np.ndarray, labels: np.ndarray) -> None:
        with open_atomic(self.path, "wb") as handle:
            np.savez(
                handle,
                features=features,
                labels=labels,
                key=np.array(self.key),
                fields=np.array(json.dumps(self.fields, sort_keys=True)),
            )


def _read_entry(path: Path) -> dict[str, np.ndarray]:
    """Every array of the entry at ``path``, read from one regular-file handle with its sizes capped.

    Not :func:`~radiobench.io.reader.read_bytes` plus ``load_npz``: that would hold a multi-GiB
    entry twice in memory. The same checks are made on the handle instead: a regular file of at
    most :data:`ENTRY_LIMIT` bytes whose members state at most that much expanded, nothing unpickled.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > ENTRY_LIMIT:
            raise ValueError(f"{size} bytes, more than the {ENTRY_LIMIT} a feature cache entry may hold")
        with zipfile.ZipFile(handle) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            names = {name.removesuffix(".npy") for name in archive.namelist()}
        if expanded > ENTRY_LIMIT:
            raise ValueError(f"expands to {expanded} bytes, more than the {ENTRY_LIMIT} a feature cache entry may hold")
        if names != MEMBERS:
            raise ValueError(f"members {sorted(names)}, expected {sorted(MEMBERS)}")
        handle.seek(0)
        with np.load(handle, allow_pickle=False) as data:
            return {name: data[name] for name in MEMBERS}


def _invalid(arrays: dict[str, np.ndarray], key: str, rows: int) -> str | None:
    """Why ``arrays`` are not this entry's features for ``rows`` items (None: they are)."""
    features, labels, stored_key = arrays["features"], arrays["labels"], arrays["key"]
    if any(not isinstance(a, np.ndarray) for a in arrays.values()):
        return "a member is not a numpy array"
    if stored_key.shape != () or stored_key.dtype.kind != "U" or str(stored_key) != key:
        return "entry does not match its key"
    if features.dtype.kind not in "iuf" or features.ndim not in (2, 4) or len(features) != rows:
        return (f"entry does not match its key: features {features.dtype} {features.shape}, expected "
                f"{rows} rows of numbers with 2 or 4 axes")
    if labels.dtype.kind not in "biuf" or labels.ndim != 1 or len(labels) != rows:
        return f"entry does not match its key: labels {labels.dtype} {labels.shape}, expected {rows} numbers"
    if not np.isfinite(features).all():
        return "entry holds non-finite features"
    return None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
