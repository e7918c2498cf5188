"""Reading checkpoints without executing them, and loading them with named mismatches.

``torch.load(..., weights_only=True)`` refuses any pickled object that is not a tensor
or a plain container, and safetensors holds nothing but tensors; so a checkpoint can
never run code here. A checkpoint whose keys or shapes do not fit the architecture
fails with the offending key names instead of a stack trace.
"""

from __future__ import annotations

import argparse
import pathlib
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from radiobench.errors import RadiobenchError, UnsafeDataError


class CheckpointError(RadiobenchError):
    """A checkpoint that is unreadable or does not fit the architecture."""


class _AttributeDict(dict):
    """Stands in for Lightning's AttributeDict (a dict with attribute access) when reading hparams."""


# Training checkpoints carry their run configuration next to the tensors: DINO pickles an
# argparse.Namespace, Lightning a dict with pathlib paths. These types only hold data (no
# constructor runs code), so they are admitted; everything else stays refused.
INERT_GLOBALS = [
    argparse.Namespace,
    pathlib.PosixPath,
    pathlib.PurePosixPath,
    pathlib.WindowsPath,
    pathlib.PureWindowsPath,
    (_AttributeDict, "lightning.fabric.utilities.data.AttributeDict"),
    (_AttributeDict, "lightning_fabric.utilities.data.AttributeDict"),
    (_AttributeDict, "pytorch_lightning.utilities.parsing.AttributeDict"),
]


def read_checkpoint(path: Path) -> Any:
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc}); truncated? download it again") from None
    try:
        with torch.serialization.safe_globals(INERT_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Weights only load failed" in str(exc) or "Unsupported global" in str(exc):
            raise UnsafeDataError(
                f"{path}: refusing to load: the checkpoint holds Python objects that could run code "
                f"({_unsafe_globals(path)}); only tensors, plain containers and run configurations are accepted"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({first}); truncated? download it again") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first}); truncated? download it again") from None


def _unsafe_globals(path: Path) -> str:
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in INERT_GLOBALS if not isinstance(g, tuple)}
    allowed |= {g[1] for g in INERT_GLOBALS if isinstance(g, tuple)}
    try:
        names = [n for n in torch.serialization.get_unsafe_globals_in_checkpoint(path) if n not in allowed]
    except Exception:  # noqa: BLE001 - only used to word the message
        names = []
    return "globals: " + ", ".join(names) if names else "non-tensor objects"


def select(checkpoint: Any, path: Path, *keys: str) -> Mapping[str, torch.Tensor]:
    """Descend into nested dicts (e.g. ``"teacher"``, ``"state_dict"``); the first key present wins."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{path}: expected a dict checkpoint, found {type(checkpoint).__name__}")
    for key in keys:
        if key in checkpoint:
            inner = checkpoint[key]
            if not isinstance(inner, Mapping):
                raise CheckpointError(f"{path}: entry {key!r} is a {type(inner).__name__}, not a state dict")
            return inner
    raise CheckpointError(
        f"{path}: none of {', '.join(repr(k) for k in keys)} in the checkpoint (it has {', '.join(map(repr, list(checkpoint)[:8]))}); "
        "is this the right file for this backbone?"
    )


def strip_prefixes(state: Mapping[str, Any], prefixes: Iterable[str]) -> dict[str, Any]:
    """Remove any of ``prefixes`` (repeatedly, in order) from each key."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in prefixes:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def load_into(model: torch.nn.Module, state: Mapping[str, Any], path: Path, name: str, *, drop: Iterable[str] = ()) -> None:
    """Load ``state`` into ``model`` exactly; ``drop`` lists key prefixes to discard first (heads)."""
    drop = tuple(drop)
    state = {k: v for k, v in state.items() if not (drop and k.startswith(drop))}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in expected
        if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape (file vs model)", wrong)):
            if keys:
                more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
                parts.append(f"{label}: {', '.join(keys[:5])}{more}")
        raise CheckpointError(f"{path} does not fit backbone {name!r}: " + "; ".join(parts) + ". Wrong file or wrong architecture?")
    model.load_state_dict(state, strict=True)
