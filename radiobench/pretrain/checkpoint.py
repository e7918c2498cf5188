"""Reading a run's ``checkpoint.pth`` back on ``--resume``, or saying in one line why it cannot be.

The checkpoint is a file in a folder anyone may have copied, truncated or edited. Loading it blindly
gives a torch traceback (truncated, empty, a folder, a key missing or of another shape), a hang (a named
pipe), or worse, a run that goes on from a wrong state: an ``"epoch": 99`` that writes a "finished" card
after one epoch, a loss history that does not match the epochs. So the file is read through the shared
reader (regular file, size capped by what the model being built can need), unpickled with
``weights_only=True`` (no code runs), and every part is checked against the model, optimiser and loss
built for this command before anything is loaded: one :class:`CheckpointError` naming the file and
what is wrong, and nothing in the output folder is touched.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from radiobench.io.reader import MiB, UnreadableFileError, read_bytes

CHECKPOINT = "checkpoint.pth"
PARTS = ("student", "teacher", "optimizer", "epoch", "args", "dino_loss", "history", "data", "wall_seconds")
HINT = "it cannot be resumed from; start the run again with another --output (or delete the file)"


class CheckpointError(UnreadableFileError):
    """A checkpoint that is not the one this command's run would have written."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(path, reason, HINT)


@dataclass
class Resumed:
    """What a valid checkpoint says about the run so far (its tensors are loaded into the modules)."""

    epoch: int
    args: dict[str, Any]
    history: dict[str, Any]
    data: dict[str, Any]
    wall_seconds: float


def size_limit(*modules: torch.nn.Module) -> int:
    """The most bytes a checkpoint of these modules can hold: student and teacher, Adam's two moments of the
    student, then room for the loss history (a float per step) and pickling; a larger file is not one of ours."""
    student_bytes = sum(t.numel() * t.element_size() for t in modules[0].state_dict().values())
    weights = sum(t.numel() * t.element_size() for m in modules for t in m.state_dict().values())
    return 2 * (weights + 2 * student_bytes) + 256 * MiB


def read(path: Path, limit: int) -> dict[str, Any]:
    """The unpickled checkpoint (tensors only, no code), or a CheckpointError."""
    content = read_bytes(path, limit=limit, what="checkpoint")
    try:
        state = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, pickle and torch errors alike: the file is not a checkpoint
        raise CheckpointError(path, _unreadable(exc)) from None
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds a {type(state).__name__}, not a training checkpoint")
    missing = [k for k in PARTS if k not in state]
    if missing:
        raise CheckpointError(path, f"lacks {', '.join(missing)} (not a `radiobench pretrain` checkpoint, or damaged)")
    return state


def _unreadable(exc: BaseException) -> str:
    """Why torch.load refused the file, in a few words (torch's weights-only message is a page that suggests
    loading with weights_only=False, the one thing not to do with a file from elsewhere)."""
    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"(Trying to load unsupported GLOBAL[^\n]*|Unsupported[^\n]*)", text)
        detail = found.group(1).strip().rstrip(".") if found else "refused by torch.load(weights_only=True)"
        return f"holds more than tensors and plain data, so it was not unpickled ({detail})"
    return f"not a readable torch checkpoint ({type(exc).__name__}: {_first_line(exc) or 'empty or cut short'})"


def _first_line(exc: BaseException) -> str:
    line = next((l.strip() for l in str(exc).splitlines() if l.strip()), "")
    return line if len(line) <= 200 else line[:197] + "..."


def check(state: dict[str, Any], path: Path) -> Resumed:
    """The checkpoint's bookkeeping (epoch, settings, history, data identity, time) is consistent in itself."""
    epoch, args, history = state["epoch"], state["args"], state["history"]
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise CheckpointError(path, "its settings (args) are not a table of named settings")
    total = args.get("epochs")
    if not _is_int(total) or total < 1:
        raise CheckpointError(path, f"its settings hold epochs={total!r}, not a positive whole number")
    if not _is_int(epoch) or not 0 <= epoch <= total:
        raise CheckpointError(path, f"epoch {epoch!r} is not a whole number from 0 to the run's {total} epochs")
    if not isinstance(history, dict):
        raise CheckpointError(path, "its history is not a table")
    for key in ("epoch_loss", "step_loss", "lr"):
        values = history.get(key)
        if not isinstance(values, list) or not all(_is_finite(v) for v in values):
            raise CheckpointError(path, f"history {key} is not a list of finite numbers")
    if len(history["epoch_loss"]) != epoch:
        raise CheckpointError(path, f"says epoch {epoch} but holds {len(history['epoch_loss'])} epoch losses")
    if len(history["step_loss"]) != len(history["lr"]):
        raise CheckpointError(path, f"holds {len(history['step_loss'])} step losses but {len(history['lr'])} "
                                    "learning rates")
    changes = history.get("epochs_changes", [])
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise CheckpointError(path, "history epochs_changes is not a list of tables")
    data = state["data"]
    if not isinstance(data, dict) or not isinstance(data.get("used_pixels_sha256"), str):
        raise CheckpointError(path, "its data identity (used_pixels_sha256) is missing")
    wall = state["wall_seconds"]
    if not _is_finite(wall) or wall < 0:
        raise CheckpointError(path, f"wall_seconds {wall!r} is not a finite number of seconds")
    return Resumed(int(epoch), args, history, data, float(wall))


def check_steps(resumed: Resumed, steps_per_epoch: int, path: Path) -> None:
    """The loss history has one value per step of the epochs done (known once the data are read)."""
    expected = resumed.epoch * steps_per_epoch
    if len(resumed.history["step_loss"]) != expected:
        raise CheckpointError(path, f"holds {len(resumed.history['step_loss'])} step losses, not the {expected} of "
                                    f"{resumed.epoch} epochs of {steps_per_epoch} steps")


def restore(state: dict[str, Any], path: Path, student: torch.nn.Module, teacher: torch.nn.Module,
            optimizer: torch.optim.Optimizer, loss_fn: torch.nn.Module) -> None:
    """Check every tensor against the modules built for this command, then load them all."""
    _check_module(state["student"], student, "student", path)
    _check_module(state["teacher"], teacher, "teacher", path)
    _check_module(state["dino_loss"], loss_fn, "dino_loss", path)
    _check_optimizer(state["optimizer"], optimizer, path)
    try:
        student.load_state_dict(state["student"])
        teacher.load_state_dict(state["teacher"])
        optimizer.load_state_dict(state["optimizer"])
        loss_fn.load_state_dict(state["dino_loss"])
    except Exception as exc:  # noqa: BLE001 - anything the checks above missed is still the file's fault
        raise CheckpointError(path, f"does not fit the model built ({type(exc).__name__}: {_first_line(exc)})") from None


def _check_module(given: Any, module: torch.nn.Module, part: str, path: Path) -> None:
    expected = module.state_dict()
    if not isinstance(given, dict):
        raise CheckpointError(path, f"{part} is a {type(given).__name__}, not a table of tensors")
    missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
    if missing or extra:
        words = [f"lacks {_few(missing)}" if missing else "", f"has unexpected {_few(extra)}" if extra else ""]
        raise CheckpointError(path, f"{part} {' and '.join(w for w in words if w)} (another architecture or head?)")
    for key, want in expected.items():
        _check_tensor(given[key], want.shape, want.dtype, f"{part} {key}", path)


def _check_tensor(tensor: Any, shape: torch.Size, dtype: torch.dtype, what: str, path: Path) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise CheckpointError(path, f"{what} is a {type(tensor).__name__}, not a tensor")
    if tensor.shape != shape or tensor.dtype != dtype:
        raise CheckpointError(path, f"{what} is {tuple(tensor.shape)} {tensor.dtype}, the model built needs "
                                    f"{tuple(shape)} {dtype}")
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise CheckpointError(path, f"{what} holds NaN or infinite values")


def _check_optimizer(given: Any, optimizer: torch.optim.Optimizer, path: Path) -> None:
    if not isinstance(given, dict) or not isinstance(given.get("state"), dict) or not isinstance(given.get("param_groups"), list):
        raise CheckpointError(path, "optimizer is not an optimiser state (state and param_groups)")
    groups = optimizer.param_groups
    if len(given["param_groups"]) != len(groups) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and len(g["params"]) == len(mine["params"])
            for g, mine in zip(given["param_groups"], groups)):
        raise CheckpointError(path, "optimizer param_groups do not match the model built (another architecture?)")
    params = [p for group in groups for p in group["params"]]
    ids = [i for g in given["param_groups"] for i in g["params"]]
    if not all(_is_int(i) for i in ids) or sorted(ids) != list(range(len(params))):
        raise CheckpointError(path, "optimizer param_groups do not number the parameters 0 to N-1")
    for index, moments in given["state"].items():
        if not _is_int(index) or not 0 <= index < len(params) or not isinstance(moments, dict):
            raise CheckpointError(path, f"optimizer state {index!r} is not one of the model's parameters")
        for name in ("exp_avg", "exp_avg_sq"):
            param = params[index]
            _check_tensor(moments.get(name), param.shape, param.dtype, f"optimizer state {index} {name}", path)
        step = moments.get("step")
        if not isinstance(step, torch.Tensor) or step.numel() != 1 or not bool(torch.isfinite(step).all()):
            raise CheckpointError(path, f"optimizer state {index} step is not a finite number")


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
