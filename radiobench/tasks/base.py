"""The Task interface: data preparation, split loading, pixel scaling and scoring.

A task returns survey pixels as stored (e.g. uint8 cutouts) and declares how they map to
[0, 1]; the core applies that batch by batch, then the backbone's input contract. Keeping
the raw pixels lets the cache key and the results name the scaling instead of hiding it
inside a loader.

The map is either ``pixel_range`` (linear, declared as data) or an overridden ``scale``
(any numpy code). Prefer the first: the core can then apply it on the accelerator, so the
stored pixels (uint8: a quarter of float32's bytes) are what crosses the bus, and the host
does nothing but slice and pin.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.specs import TaskSpec


class LazyImages:
    """Images decoded slice by slice on demand, for tasks whose files are slow to decode.

    A cached run then decodes nothing (it needs labels, not pixels), and a cold run decodes
    each batch while the previous one is in the model (``extract`` prefetches), instead of
    decoding everything up front. ``load(rows)`` returns the stored pixels of those rows.
    """

    def __init__(self, rows: np.ndarray, image_shape: tuple[int, ...], dtype: Any,
                 load: Callable[[np.ndarray], np.ndarray]):
        self.rows, self.image_shape, self.dtype, self.load = np.asarray(rows), tuple(image_shape), np.dtype(dtype), load

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.image_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.image_shape)

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice):
            raise TypeError("LazyImages supports slices; use subset(rows) for a selection")
        return self.load(self.rows[index])

    def subset(self, rows: np.ndarray) -> LazyImages:
        return LazyImages(self.rows[rows], self.image_shape, self.dtype, self.load)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[:], dtype=dtype)


@dataclass
class Split:
    images: np.ndarray | LazyImages  # (N, H, W) or (N, C, H, W), survey pixels before scaling
    labels: np.ndarray  # (N,) int class indices, float targets, or ranking labels (< 0: unlabelled)
    ids: list[str]
    groups: np.ndarray | None = None  # (N,) what must stay together in a partition (e.g. the field)

    def __post_init__(self) -> None:
        if self.images.ndim not in (3, 4):
            raise RadiobenchError(f"task split images must be (N, H, W) or (N, C, H, W), got {self.images.shape}")
        if not (len(self.images) == len(self.labels) == len(self.ids)):
            raise RadiobenchError("task split images, labels and ids differ in length")
        if self.groups is not None and len(self.groups) != len(self.labels):
            raise RadiobenchError("task split groups and labels differ in length")

    def subset(self, rows: np.ndarray) -> Split:
        images = self.images.subset(rows) if isinstance(self.images, LazyImages) else self.images[rows]
        return Split(images, self.labels[rows], [self.ids[i] for i in rows],
                     None if self.groups is None else self.groups[rows])

    def __len__(self) -> int:
        return len(self.labels)


def linear_scale(pixels: Any, low: float, high: float) -> Any:
    """``(pixels - low) / (high - low)`` as float32, for numpy arrays and torch tensors alike.

    One definition for both so the host (numpy) and device (torch) paths give bit-identical
    pixels: the same float32 subtraction and division, skipped where they are identities. The
    torch divisor is a 0-d tensor on the pixels' device because CUDA turns division by a Python
    number into multiplication by its reciprocal, which can differ in the last bit.
    """
    if isinstance(pixels, np.ndarray):
        out = pixels.astype(np.float32, copy=False)
        span: Any = np.float32(high - low)
    else:
        import torch  # a task module must not cost a torch import (`radiobench list` stays fast)

        out = pixels.float()
        span = torch.full((), high - low, dtype=torch.float32, device=out.device)
    if low != 0:
        out = out - low
    if high - low != 1:
        out = out / span
    return out


class Task(abc.ABC):
    """Subclass, define the abstract methods and either ``pixel_range`` or ``scale``; the
    spec comes from registration."""

    pixel_range: tuple[float, float] | None = None
    """Stored pixels lie in [low, high] and map linearly to [0, 1] (uint8 cutouts: (0, 255))."""

    every_depth: bool = False
    """Read each backbone's ``depth_embedding`` (its embedding and the mean of every earlier depth) instead of
    ``embed``: a task whose answer is local, like a source count, that the last layer's pooled summary loses."""

    def __init__(self, spec: TaskSpec, **options: Any):
        if self.pixel_range is None and not self.overrides_scale:
            raise TypeError(f"task class {type(self).__qualname__} must set pixel_range or override scale()")
        self.spec = spec
        self.options = options  # spec.options, for tasks that take variants (e.g. a CV fold)
        self.root: Path | None = None

    @property
    def data_sha256(self) -> str:
        """Identity of the data the numbers come from: the published checksum, unless the
        task reads a user-assembled set (e.g. MGCLS fields) and computes it in ``prepare``."""
        return self.spec.data_sha256

    def metadata(self) -> dict[str, Any]:
        """What ``prepare`` derived and a reader needs (per-field scaling, source-finder settings), for results."""
        return {}

    def folder(self, root: Path) -> Path:
        return Path(root) / (self.spec.data_folder or self.spec.name)

    #: ``prepare(root, download=True)`` can fetch the data; False: it is got by hand, as ``spec.download_hint`` says
    can_download: bool = True

    @property
    def generated(self) -> bool:
        """True when ``prepare`` makes the data itself (a simulation), so nothing is ever missing."""
        return False

    def data_present(self, root: Path) -> bool | None:
        """A cheap look, without reading or hashing, whether ``prepare`` will find the data under ``root``.

        The run's pre-flight asks this of every task so that all missing data sets are named at
        once, before an hour of work on the others; ``prepare`` still verifies what it reads.
        None (the default): this task cannot tell without preparing, and its pairs are run to find out.
        """
        return None

    @abc.abstractmethod
    def prepare(self, root: Path, download: bool = False) -> None:
        """Make the data available under ``root`` and verify it, or raise DatasetNotFoundError."""

    @abc.abstractmethod
    def load_split(self, split: str) -> Split:
        """Return one split; ``prepare`` has been called."""

    def scale(self, pixels: np.ndarray) -> np.ndarray:
        """Map a batch of survey pixels to float32 in [0, 1] (as ``spec.scaling`` says).

        Override only for a map that is not linear in the stored pixels; the default applies
        ``pixel_range``.
        """
        assert self.pixel_range is not None  # __init__ ensured one of the two
        return linear_scale(pixels, *self.pixel_range)

    @property
    def overrides_scale(self) -> bool:
        """True when ``scale`` is the task's own code, which only the host can run."""
        return getattr(self.scale, "__func__", None) is not Task.scale

    def score(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """Every metric of this task; ``spec.main_score`` must be one of the keys (default: the kind's metrics)."""
        from radiobench.kinds import get_kind

        return get_kind(self.spec.kind).score(y_true, y_pred)


# where these lived before task kinds became objects; kept for plugins that import them from here
from radiobench.kinds import INTERESTING, ranking_scores  # noqa: E402,F401
