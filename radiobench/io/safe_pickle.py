"""Loading pickled data sets without executing code.

torchvision-CIFAR-style batches (MiraBest) are pickles. ``pickle.load`` would run
whatever a tampered file asks for, so only the handful of numpy reconstructors a
plain array needs are admitted; anything else is refused before it is called.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from radiobench.errors import UnsafeDataError

try:  # numpy >= 2 moved the reconstructors; old pickles still name numpy.core
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(_module, "scalar")] = _multiarray.scalar


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeDataError(
                f"{self.source}: refusing to unpickle {module}.{name} (only numpy arrays, lists, "
                "strings and numbers are allowed in data files); the file is not the published one, "
                "delete it and download it again"
            ) from None


def loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` admitting only numpy arrays and builtin containers/scalars."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafeDataError:
        raise
    except Exception as exc:  # truncated or garbled pickles
        raise UnsafeDataError(f"{source}: not a readable data pickle ({type(exc).__name__}: {exc})") from None
