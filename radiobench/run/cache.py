"""On-disk cache of extracted features, keyed by everything that changes them.

Key fields (hashed together): backbone name, weights identity, input contract with its
channel handling, backbone options, task name/version/data sha256, split, scaling,
``--limit``, precision, torch/timm versions and the cache format version. An entry is
written to a temporary file and renamed into place, so a killed run leaves either the
complete entry or nothing under the final name; an unreadable or mismatching entry is
treated as a miss and rewritten.

Many processes may share one cache (a sweep's jobs on a cluster, runs side by side): a
process that misses an entry extracts it only while holding the entry's file lock
(:meth:`CacheEntry.claimed`, from ``filelock``), and looks again once it holds it, so two
jobs that need the same features extract them once; the other waits and reads the entry.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.io.atomic import open_atomic
from radiobench.io.datafiles import cache_root

FORMAT_VERSION = 1


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
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                stored_key = str(data["key"])
                features, labels = data["features"], data["labels"]
            if stored_key != self.key or features.ndim not in (2, 4) or len(features) != expected_rows or len(labels) != expected_rows:
                raise ValueError("entry does not match its key")
            if not np.isfinite(features).all():
                raise ValueError("entry holds non-finite features")
        except Exception as exc:  # noqa: BLE001 - any unreadable entry is a miss, never an error
            warnings.warn(f"ignoring unreadable feature cache entry {self.path} ({exc}); recomputing", stacklevel=2)
            self.path.unlink(missing_ok=True)
            return None
        return features, labels

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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
