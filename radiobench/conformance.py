"""Conformance checks for plugin authors: ``check_backbone``, ``check_task`` and ``check_protocol``, one module.

Each builds the plugin's object through the registry, as ``radiobench run`` does, and checks what the
core relies on. The core would find most of these faults too, but late and far from the cause: a label
outside the classes surfaces as a scikit-learn error inside a probe, an id repeated across splits
silently mixes test data into training, a missing group only fails when a seed draws a partition, a
protocol option its class does not take fails only when someone sets it. Each check names the plugin,
the rule and the first offending item, so a plugin author can run them in their own tests (and in CI)
on a few files. All three are exported by ``radiobench.api``.

No torch at import: a task or protocol plugin's tests should not pay for it, and ``radiobench.api``
exports this module's names without importing torch (``check_backbone`` imports it when called).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.specs import BackboneSpec, ProtocolSpec, TaskSpec
from radiobench.tasks.base import LazyImages, Split, Task

RANGE_SLACK = 1e-6  # as radiobench.models.extract: rounding may overshoot [0, 1] by this fraction of the range
CHUNK = 256  # images read (and scaled) at a time, so a large or lazy split is not held twice in memory


class ConformanceError(AssertionError):
    """A backbone or task breaks the interface; the message says which rule and where."""


def check_task(
    task: str | Task,
    *,
    data_root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> None:
    """Raise ``ConformanceError`` unless the task keeps the ``Task`` contract on its data.

    ``task`` is a registered name (built through the plugin registry, as ``radiobench run``
    builds it) or a ``Task`` instance. It is prepared under ``data_root`` (default:
    ``$RADIOBENCH_DATA`` or ``~/.cache/radiobench/data``), every split the spec declares is
    loaded, and each is checked: not empty; ids unique within and across splits; images
    (N, H, W) or (N, C, H, W) of an integer or floating dtype, without NaN, inside
    ``pixel_range`` (or, for a task with its own ``scale``, scaled into [0, 1]); labels that
    fit the kind (class indices in ``[0, len(classes))``, finite regression targets, ranking
    labels finite or < 0 for unlabelled); groups present for a grouped partition. Finally
    ``score`` on a trivial prediction must return finite numbers including ``spec.main_score``.
    """
    from radiobench.io.datafiles import data_root as default_data_root

    task, where = _build(task)
    spec = task.spec
    root = Path(data_root) if data_root is not None else default_data_root()
    task.prepare(root, download=download)
    splits: dict[str, Any] = {}
    seen: dict[str, str] = {}  # id -> split it first appeared in
    for name in spec.splits:
        split = task.load_split(name)
        at = f"{where}, split {name!r}"
        if spec.kind == "detection":
            _check_detection_split(split, spec, at)
        else:
            _check_split(task, split, at)
        _check_ids(split.ids, name, seen, at)
        splits[name] = split
    _check_layout(splits, where)
    if spec.kind != "detection":  # detection scores need predicted boxes; the COCO scorer is the core's
        _check_score(task, splits["test" if "test" in splits else spec.splits[-1]], where)


def _build(task: str | Task) -> tuple[Task, str]:
    if isinstance(task, str):
        from radiobench.errors import PluginError
        from radiobench.registry import get_registry
        from radiobench.specs import resolve_factory

        registered = get_registry().task(task)
        spec = registered.spec
        try:
            built = resolve_factory(spec.factory)(spec, **spec.options)
        except Exception as exc:
            raise PluginError(f"task {spec.name!r} (from {registered.plugin.label}) failed to build: "
                              f"{type(exc).__name__}: {exc}") from exc
        where = f"task {spec.name!r} (from {registered.plugin.label})"
    else:
        built = task
        where = f"task {getattr(getattr(task, 'spec', None), 'name', type(task).__name__)!r}"
    if not isinstance(built, Task):
        raise ConformanceError(f"{where}: the factory must build a radiobench.api.Task, got {type(built).__name__}")
    if not isinstance(built.spec, TaskSpec):
        raise ConformanceError(f"{where}: task.spec must be a TaskSpec, got {type(built.spec).__name__}")
    return built, where


def _check_split(task: Task, split: Any, at: str) -> None:
    spec = task.spec
    if not isinstance(split, Split):
        raise ConformanceError(f"{at}: load_split must return a radiobench.api.Split, got {type(split).__name__}")
    if len(split) == 0:
        raise ConformanceError(f"{at} is empty")
    images = split.images
    if images.ndim not in (3, 4):
        raise ConformanceError(f"{at}: images must be (N, H, W) or (N, C, H, W), got shape {tuple(images.shape)}")
    if images.ndim == 4 and images.shape[1] not in (1, 3):
        raise ConformanceError(f"{at}: (N, C, H, W) images need 1 or 3 channels (what a backbone's input contract "
                               f"can adapt), got C={images.shape[1]}")
    dtype = np.dtype(images.dtype)
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise ConformanceError(f"{at}: images must be stored pixels of an integer (e.g. uint8) or floating dtype, "
                               f"got {dtype}")
    _check_pixels(task, split, at)
    _check_labels(spec, np.asarray(split.labels), split.ids, at)
    if spec.partition is not None or spec.cv_folds is not None:
        if split.groups is None:
            declared = (f"a grouped partition {spec.partition}" if spec.partition is not None
                        else f"grouped {spec.cv_folds}-fold cross-validation")
            raise ConformanceError(f"{at}: the spec declares {declared} but the split has "
                                   "no groups; pass Split(..., groups=...) naming what must stay together")
        if len(split.groups) != len(split):
            raise ConformanceError(f"{at}: {len(split.groups)} groups for {len(split)} items")


def _check_pixels(task: Task, split: Split, at: str) -> None:
    """Read the images in chunks: no NaN in the stored pixels, and each chunk lands in [0, 1] once scaled."""
    own_scale = task.overrides_scale
    low, high = task.pixel_range if not own_scale else (0.0, 1.0)  # type: ignore[misc]
    slack = RANGE_SLACK * (high - low)
    for start in range(0, len(split), CHUNK):
        pixels = np.asarray(split.images[start : start + CHUNK])
        if len(pixels) != min(CHUNK, len(split) - start) or pixels.shape[1:] != tuple(split.images.shape[1:]):
            raise ConformanceError(f"{at}: images[{start}:{start + CHUNK}] has shape {pixels.shape}, not the "
                                   f"split's {tuple(split.images.shape)} rows")
        if np.issubdtype(pixels.dtype, np.floating):
            bad = np.isnan(pixels).reshape(len(pixels), -1).any(axis=1)
            if bad.any():
                raise ConformanceError(f"{at}: image {split.ids[start + int(bad.argmax())]!r} contains NaN; replace "
                                       "blanked pixels in the task (e.g. with the cutout's minimum) before returning them")
        if own_scale:
            scaled = np.asarray(task.scale(pixels))
            if scaled.shape != pixels.shape or scaled.dtype != np.float32:
                raise ConformanceError(f"{at}: scale() must return float32 of the input's shape {pixels.shape}, got "
                                       f"{scaled.dtype} {scaled.shape}")
            values, what = scaled, "scale() maps"
        else:
            values, what = pixels, "stored pixels of"
        flat = values.reshape(len(values), -1)
        bad = ~((flat.min(axis=1) >= low - slack) & (flat.max(axis=1) <= high + slack))  # NaN compares False
        if bad.any():
            row = int(bad.argmax())
            found = f"[{flat[row].min():.6g}, {flat[row].max():.6g}]"
            fix = "its scale() must map survey pixels into [0, 1]" if own_scale else \
                "declare a pixel_range that covers the stored pixels, or scale them as spec.scaling says"
            raise ConformanceError(f"{at}: {what} image {split.ids[start + row]!r} span {found}, outside "
                                   f"[{low:g}, {high:g}]; {fix}")


def _check_labels(spec: TaskSpec, labels: np.ndarray, ids: list[str], at: str) -> None:
    if labels.ndim != 1:
        raise ConformanceError(f"{at}: labels must be one value per item (N,), got shape {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise ConformanceError(f"{at}: labels must be numbers, got dtype {labels.dtype}")
    if spec.kind == "classification":
        if not np.issubdtype(labels.dtype, np.integer):
            raise ConformanceError(f"{at}: classification labels must be integer class indices, got dtype {labels.dtype}")
        if not spec.classes:
            raise ConformanceError(f"{at}: a classification task must declare its classes in TaskSpec.classes")
        bad = (labels < 0) | (labels >= len(spec.classes))
        if bad.any():
            row = int(bad.argmax())
            raise ConformanceError(f"{at}: item {ids[row]!r} has label {labels[row]}, outside the "
                                   f"{len(spec.classes)} declared classes (0..{len(spec.classes) - 1}: "
                                   f"{', '.join(spec.classes)})")
    elif spec.kind == "regression":
        bad = ~np.isfinite(labels.astype(float))
        if bad.any():
            row = int(bad.argmax())
            raise ConformanceError(f"{at}: item {ids[row]!r} has regression target {labels[row]}; targets must be finite")
    elif spec.kind == "ranking":
        values = labels.astype(float)
        bad = ~((values < 0) | np.isfinite(values))
        if bad.any():
            row = int(bad.argmax())
            raise ConformanceError(f"{at}: item {ids[row]!r} has ranking label {labels[row]}; a ranking label is a "
                                   "finite score, or < 0 for an unlabelled item")
        if not (values >= 0).any():
            raise ConformanceError(f"{at}: no item is labelled (every ranking label is < 0)")


def _check_ids(ids: Any, name: str, seen: dict[str, str], at: str) -> None:
    if not all(isinstance(i, str) for i in ids):
        bad = next(i for i in ids if not isinstance(i, str))
        raise ConformanceError(f"{at}: ids must be strings, found {bad!r} ({type(bad).__name__})")
    for item in ids:
        if item in seen:
            where = "twice in this split" if seen[item] == name else f"also in split {seen[item]!r}"
            raise ConformanceError(f"{at}: id {item!r} appears {where}; ids must be unique across the task")
        seen[item] = name


def _check_layout(splits: Mapping[str, Any], where: str) -> None:
    """The runner reads the channel count from the first split; the others must agree."""
    layouts = {name: _channels(s) for name, s in splits.items() if isinstance(s, Split)}
    if len(set(layouts.values())) > 1:
        listed = ", ".join(f"{n}: {c} channel(s)" for n, c in layouts.items())
        raise ConformanceError(f"{where}: splits differ in image channels ({listed}); every split needs the same layout")


def _channels(split: Split) -> int:
    return 1 if split.images.ndim == 3 else int(split.images.shape[1])


def _check_score(task: Task, split: Split, where: str) -> None:
    """Score a trivial prediction: the labels shifted by one item (every class still predicted), or the
    item order as a ranking score. A scorer that cannot take it, or returns NaN, fails every run."""
    spec, labels = task.spec, np.asarray(split.labels)
    if spec.kind == "ranking":
        labels = labels[labels >= 0]
        prediction: np.ndarray = np.arange(len(labels), dtype=float)
    else:
        prediction = np.roll(labels, 1)
    try:
        scores = task.score(labels, prediction)
    except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
        raise ConformanceError(f"{where}: score() failed on a trivial prediction: {type(exc).__name__}: {exc}") from exc
    if not isinstance(scores, Mapping):
        raise ConformanceError(f"{where}: score() must return a dict of metric name -> number, got {type(scores).__name__}")
    if spec.main_score not in scores:
        raise ConformanceError(f"{where}: score() returned {sorted(scores)}, without the declared main score "
                               f"{spec.main_score!r}")
    for metric, value in scores.items():
        if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or not math.isfinite(value):
            raise ConformanceError(f"{where}: score() returned {metric}={value!r} on a trivial prediction; every "
                                   "metric must be a finite number")


def _check_detection_split(split: Any, spec: TaskSpec, at: str) -> None:
    """Detection splits hold per-image arrays already scaled to [0, 1], boxes and class indices."""
    from radiobench.tasks.detection import DetectionSplit

    if not isinstance(split, DetectionSplit):
        raise ConformanceError(f"{at}: a detection task's load_split must return a DetectionSplit, got "
                               f"{type(split).__name__}")
    if len(split) == 0:
        raise ConformanceError(f"{at} is empty")
    for i, item in enumerate(split.ids):
        image, boxes, labels = np.asarray(split.images[i]), np.asarray(split.boxes[i]), np.asarray(split.labels[i])
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.floating):
            raise ConformanceError(f"{at}: image {item!r} must be a 2-D float array, got {image.dtype} {image.shape}")
        if np.isnan(image).any() or image.min() < -RANGE_SLACK or image.max() > 1 + RANGE_SLACK:
            raise ConformanceError(f"{at}: image {item!r} must be scaled into [0, 1] without NaN")
        if boxes.ndim != 2 or boxes.shape[1:] != (4,) or len(boxes) != len(labels) or not np.isfinite(boxes).all():
            raise ConformanceError(f"{at}: image {item!r} needs finite (n, 4) boxes and n labels, got "
                                   f"{boxes.shape} boxes and {labels.shape} labels")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(spec.classes)):
            raise ConformanceError(f"{at}: image {item!r} has a box label outside the {len(spec.classes)} declared classes")




# -- backbones (torch, imported when called) ----------------------------------------------------------------------


def radio_like_images(n: int, side: int = 64, seed: int = 0) -> np.ndarray:
    """(n, side, side) float32 in [0, 1]: noise plus one or two Gaussian lobes, like survey cutouts."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    images = rng.normal(0.05, 0.02, (n, side, side))
    for i in range(n):
        for _ in range(1 + i % 2):
            cy, cx = rng.uniform(0.3, 0.7, 2)
            images[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(0.02, 0.08) ** 2))
    return np.clip(images / images.max(axis=(1, 2), keepdims=True), 0, 1).astype(np.float32)


def check_backbone(
    backbone: Any,
    *,
    n_images: int = 5,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    pixel_scale_arcsec: float | None = None,
) -> None:
    """Raise ``ConformanceError`` unless the backbone keeps the ``Backbone`` contract.

    The synthetic 64-pixel images are prepared by the contract, declared transforms included; a contract
    with a crop in sky units gets ``pixel_scale_arcsec``, by default one at which its largest crop spans
    half of each image.

    ``backbone`` is a registered name (built through the registry, as ``radiobench run`` builds it) or a
    ``Backbone``. Checks: the spec is a ``BackboneSpec``; ``embed`` returns a finite floating tensor of
    shape (B, spec.embed_dim); two calls give the same output (determinism); each image's
    embedding does not depend on the rest of its batch (batch-size independence; a model
    left in training mode with batch norm fails this). A backbone with ``feature_map`` must
    return a finite (B, D, h, w) map; a source finder (``embed_dim`` 0) must have ``detect``.
    """
    import torch

    from radiobench.models.extract import check_output
    from radiobench.models.preprocess import prepare_batch

    if isinstance(backbone, str):
        from radiobench.registry import get_registry
        from radiobench.run import build_backbone

        registered = get_registry().backbone(backbone)
        owner = registered.plugin.label
        backbone = build_backbone(registered)
    else:
        owner = "the object under test"
    spec = getattr(backbone, "spec", None)
    if not isinstance(spec, BackboneSpec):
        raise ConformanceError(f"backbone.spec must be a BackboneSpec, got {type(spec).__name__}")
    if spec.embed_dim == 0:  # a source finder: no embedding, a detect() instead
        if not callable(getattr(backbone, "detect", None)):
            raise ConformanceError(f"backbone {spec.name!r} has embed_dim 0 but no detect(images, beams) method")
        return
    side = 64
    if pixel_scale_arcsec is None:
        pixel_scale_arcsec = _half_image_scale(spec.input, side)
    images = prepare_batch(torch.from_numpy(radio_like_images(n_images, side)), spec.input, pixel_scale_arcsec).to(
        getattr(backbone, "device", "cpu")
    )
    if getattr(backbone, "has_feature_map", False):
        _check_feature_map(backbone, images, owner)
    try:
        with torch.inference_mode():
            first = check_output(backbone.embed(images), n_images, spec.name, spec.embed_dim, owner)
            again = check_output(backbone.embed(images), n_images, spec.name, spec.embed_dim, owner)
            alone = np.concatenate(
                [check_output(backbone.embed(images[i : i + 1]), 1, spec.name, spec.embed_dim, owner) for i in range(n_images)]
            )
    except Exception as exc:
        raise ConformanceError(str(exc)) from exc
    if not np.allclose(first, again, atol=atol, rtol=rtol):
        raise ConformanceError(
            f"backbone {spec.name!r} is not deterministic: two calls on the same images differ by up to "
            f"{np.abs(first - again).max():.3g} (is dropout active? call .eval())"
        )
    if not np.allclose(first, alone, atol=atol, rtol=rtol):
        raise ConformanceError(
            f"backbone {spec.name!r} depends on batch size: embeddings differ by up to "
            f"{np.abs(first - alone).max():.3g} between a batch of {n_images} and single images (batch norm in training mode?)"
        )


def _half_image_scale(contract: Any, side: int) -> float | None:
    """A pixel scale at which the contract's largest crop in sky units spans half of a ``side``-pixel image."""
    from radiobench.models.transforms import CentreCrop

    skies = [t.sky_arcsec for t in contract.transforms if isinstance(t, CentreCrop) and t.sky_arcsec is not None]
    return 2 * max(skies) / side if skies else None


def _check_feature_map(backbone: Any, images: Any, owner: str) -> None:
    import torch

    with torch.inference_mode():
        maps = backbone.feature_map(images)
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4 or len(maps) != len(images):
        raise ConformanceError(f"backbone {backbone.spec.name!r} (from {owner}): feature_map must return (B, D, h, w) "
                               f"for {len(images)} images, got {getattr(maps, 'shape', type(maps).__name__)}")
    if min(maps.shape[2:]) < 2 or not torch.isfinite(maps).all():
        raise ConformanceError(f"backbone {backbone.spec.name!r} (from {owner}): feature_map must be finite and at "
                               f"least 2x2, got {tuple(maps.shape)}")


# -- protocols (no torch for a vector protocol) -------------------------------------------------------------------


def check_protocol(protocol: str | ProtocolSpec, *, options: Mapping[str, Any] | None = None) -> None:
    """Raise ``ConformanceError`` unless the protocol keeps the ``ProtocolSpec`` and ``Protocol`` contract.

    ``protocol`` is a registered name or a ``ProtocolSpec``; ``options`` are values to build it with (default:
    the spec's defaults). Checks: the factory imports and is a ``Protocol`` subclass (``MapProtocol`` for
    detection kinds), built with every declared option, each of which it records under its name in
    ``describe()`` (what a result's ``protocol.params`` holds), as JSON. Then, for each vector kind the spec
    declares, it is run through the core's seed loop on small synthetic features, twice: predictions must be
    one finite value per test item (class indices for classification), the chosen parameters a JSON dict,
    and the same seed must give the same predictions; an unsupervised protocol (``supervised = False``) must
    not read the training labels. A map protocol is built and checked, not fitted (that trains a head).
    """
    import json

    from radiobench.kinds import KINDS
    from radiobench.protocols.base import MapProtocol, Protocol

    spec, where = _protocol_spec(protocol)
    try:
        cls = spec.resolve()
    except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
        raise ConformanceError(f"{where}: factory {spec.factory!r} does not import: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, (Protocol, MapProtocol))):
        raise ConformanceError(f"{where}: factory {spec.factory!r} must name a radiobench.api.Protocol (or MapProtocol) "
                               f"subclass, got {cls!r}")
    wanted = MapProtocol if issubclass(cls, MapProtocol) else Protocol
    wrong = [k for k in spec.kinds if (KINDS[k].evaluation == "maps") != (wanted is MapProtocol)]
    if wrong:
        raise ConformanceError(f"{where}: a {wanted.__name__} cannot run on {', '.join(wrong)} tasks (their evaluation "
                               f"is {KINDS[wrong[0]].evaluation}); use {'Protocol' if wanted is MapProtocol else 'MapProtocol'}")
    values = spec.values(dict(options or {}))
    built = _build_protocol(spec, values, where)
    params = built.describe()
    if not isinstance(params, Mapping):
        raise ConformanceError(f"{where}: describe() must return a dict of parameters, got {type(params).__name__}")
    for name, value in values.items():
        if name not in params or json.dumps(params[name], default=str) != json.dumps(value, default=str):
            raise ConformanceError(f"{where}: option {name!r} was set to {value!r} but describe() records "
                                   f"{params.get(name, '(nothing)')!r}; declare it as a dataclass field of "
                                   f"{cls.__name__} (or a key of its options dict)")
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{where}: describe() must be JSON (it is recorded in every result): {exc}") from exc
    if wanted is MapProtocol:
        return
    for kind in spec.kinds:
        _check_fits(spec, values, kind, where)


def _protocol_spec(protocol: str | ProtocolSpec) -> tuple[ProtocolSpec, str]:
    if isinstance(protocol, str):
        from radiobench.registry import get_registry

        registered = get_registry().protocol(protocol)
        return registered.spec, f"protocol {registered.spec.name!r} (from {registered.plugin.label})"
    if not isinstance(protocol, ProtocolSpec):
        raise ConformanceError(f"check_protocol takes a registered name or a ProtocolSpec, got {type(protocol).__name__}")
    return protocol, f"protocol {protocol.name!r}"


def _build_protocol(spec: ProtocolSpec, values: dict[str, Any], where: str) -> Any:
    try:
        return spec.build(values)
    except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
        raise ConformanceError(f"{where}: building it with options {values} failed: {type(exc).__name__}: {exc}") from exc


def _synthetic(kind: str) -> tuple[TaskSpec, Any]:
    """A small task of ``kind`` as features: two separated clusters (class 0/1), or a target along one axis."""
    from radiobench.protocols.base import Evaluation

    rng = np.random.default_rng(0)
    n, dim = 48, 8
    x = rng.normal(0, 1, (n, dim)).astype(np.float32)
    if kind == "classification":
        y = np.arange(n) % 2
        x[:, 0] += 3 * y
        spec = TaskSpec(name="conformance", factory="radiobench.conformance:unused", version="1", kind=kind,
                        main_score="error", higher_is_better=False, classes=("a", "b"))
        return spec, Evaluation.fixed((x[:32], y[:32]), (x[32:], y[32:]))
    target = x[:, 0] * 2 + 0.1 * rng.normal(0, 1, n)
    if kind == "regression":
        spec = TaskSpec(name="conformance", factory="radiobench.conformance:unused", version="1", kind=kind,
                        main_score="r2", higher_is_better=True)
        return spec, Evaluation.fixed((x[:32], target[:32]), (x[32:], target[32:]))
    grades = np.digitize(target, np.quantile(target, [0.2, 0.4, 0.6, 0.8])).astype(float)
    grades[::3] = -1  # unlabelled items
    spec = TaskSpec(name="conformance", factory="radiobench.conformance:unused", version="1", kind=kind,
                    main_score="average_precision", higher_is_better=True, splits=("all",))
    return spec, Evaluation.ranking(x, grades, cv_folds=3)


def _check_fits(spec: ProtocolSpec, values: dict[str, Any], kind: str, where: str) -> None:
    import json

    from radiobench.kinds import get_kind
    from radiobench.protocols.base import LabelBudget, run_seeds

    task, evaluation = _synthetic(kind)
    at = f"{where} on a synthetic {kind} task"
    score = get_kind(kind).score

    def run(ev: Any) -> list[Any]:
        protocol = _build_protocol(spec, values, where)
        try:
            return run_seeds(protocol, task, score, ev, [0, 1], LabelBudget())
        except ConformanceError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
            raise ConformanceError(f"{at}: fitting failed: {type(exc).__name__}: {exc}") from exc

    first, again = run(evaluation), run(evaluation)
    for a, b in zip(first, again):
        pa, pb = np.asarray(a.items.predicted, dtype=float), np.asarray(b.items.predicted, dtype=float)
        if not np.isfinite(pa).all():
            raise ConformanceError(f"{at}: seed {a.seed} predicted NaN or infinite values (or missed test items): "
                                   "fit_predict must return one finite prediction per test row")
        if kind == "classification" and not (np.isin(pa, (0, 1))).all():
            raise ConformanceError(f"{at}: seed {a.seed} predicted {sorted(set(pa.tolist()) - {0.0, 1.0})[:3]}, not class "
                                   "indices of the task's classes")
        if not np.array_equal(pa, pb):
            raise ConformanceError(f"{at}: seed {a.seed} gave different predictions on two runs; draw every random "
                                   "number from the seed fit_predict is given")
        if not isinstance(a.params, dict):
            raise ConformanceError(f"{at}: fit_predict must return (predictions, dict of chosen parameters), got "
                                   f"{type(a.params).__name__} as the second value")
        try:
            json.dumps(a.params, allow_nan=False, default=_json_number)
        except (TypeError, ValueError) as exc:
            raise ConformanceError(f"{at}: the chosen parameters must be JSON (they are recorded): {exc}") from exc
    protocol = _build_protocol(spec, values, where)
    if not getattr(protocol, "supervised", True):
        hidden = type(evaluation)(evaluation.x, np.where(evaluation.y >= 0, -1.0, evaluation.y), evaluation.folds)
        blind = run_seeds(protocol, task, lambda y, p: {"n": float(len(p))}, hidden, [0], LabelBudget())
        if not np.array_equal(np.asarray(blind[0].items.predicted, dtype=float),
                              np.asarray(first[0].items.predicted, dtype=float)):
            raise ConformanceError(f"{at}: supervised = False, but its predictions change with the training labels")


def _json_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


__all__ = ["ConformanceError", "check_backbone", "check_protocol", "check_task", "radio_like_images"]
