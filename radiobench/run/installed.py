"""What the installed plugins know that result files do not: the layer where the registry meets results.

The board and ``compare`` render from result files and sidecars alone (``radiobench.results``
and ``radiobench.board`` never import the registry). What an installed plugin adds, a task's
description and citation, which registered backbones have no result yet and why, and a
run's scorer for its resamples, is asked here, by the commands that have a registry.
"""

from __future__ import annotations

from typing import Any

from radiobench.errors import RadiobenchError
from radiobench.results.scoring import FAST, Scorer


def scorer_for(task: Any) -> Scorer:
    """The resample scorer of a built task: the numpy twin of its kind's default, or the task's own ``score``."""
    from radiobench.kinds import get_kind
    from radiobench.tasks.base import Task
    from radiobench.tasks.detection import DetectionTask

    kind = get_kind(task.spec.kind)
    own = type(task).score
    if own is Task.score and kind.target in FAST:
        return FAST[kind.target]
    if own is DetectionTask.score:
        from radiobench.results.coco import DetectionScorer

        return DetectionScorer(task.spec.classes)
    return task.score


def task_specs() -> dict[str, Any]:
    """name -> TaskSpec of the installed tasks ({} when the registry cannot load: the board renders from files)."""
    try:
        from radiobench.registry import get_registry

        return {name: t.spec for name, t in get_registry().tasks.items()}
    except Exception:  # noqa: BLE001 - a broken plugin must not stop a leaderboard made from result files
        return {}


def unevaluated_backbones(shown: set[str]) -> dict[str, str]:
    """Registered backbones with no result among ``shown``, each with why when it is known.

    Only looks: weights are resolved offline without fetching (never a download), so a missing
    file says "weights not available here" with where they come from.
    """
    from radiobench.models.weights import WeightsNotFoundError, resolve

    try:
        from radiobench.registry import get_registry

        registry = get_registry()
    except Exception:  # noqa: BLE001 - as task_specs
        return {}
    out = {}
    for name in registry.list_backbones():
        if name in shown:
            continue
        spec = registry.backbones[name].spec
        try:
            resolve(spec, offline=True, fetch_missing=False)
            why = "weights here (or none needed); not run yet"
        except WeightsNotFoundError:
            source = spec.weights.download_source or spec.weights.source_page
            why = f"weights not available here ({spec.weights.kind}{': ' + source if source else ''})"
        except RadiobenchError as exc:
            why = str(exc).split(";")[0]
        out[name] = why
    return out


def training_data(names: Any) -> dict[str, str]:
    """Registered backbones' training data, to show what the missing ones would bring ({} without a registry)."""
    try:
        from radiobench.registry import get_registry

        backbones = get_registry().backbones
    except Exception:  # noqa: BLE001 - as task_specs
        return {}
    return {b: ", ".join(backbones[b].spec.training_data) for b in names if b in backbones}
