"""Reading checkpoints without executing them, and loading them with named mismatches.

``torch.load(..., weights_only=True)`` refuses any pickled object that is not a tensor
or a plain container, and safetensors holds nothing but tensors; so a checkpoint can
never run code here. A checkpoint whose keys or shapes do not fit the architecture
fails with the offending key names instead of a stack trace.

A weights file is opened once, as :mod:`radiobench.io.reader` opens every file (regular files
only: a named pipe or a link to ``/dev/zero`` is refused by name), its size capped
(:data:`CHECKPOINT_LIMIT`) and, for torch's zip format, its members' expanded size too; then
the loaders read that very handle. It is not read into memory first, as ``read_bytes`` would:
a ViT-L training checkpoint would then be held twice.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import torch

from radiobench.errors import RadiobenchError, UnsafeDataError
from radiobench.io.reader import GiB, UnreadableFileError, open_regular

# A backbone's weights are 45 MiB (ResNet-18) to 350 MiB (ViT-B) and 1.2 GiB (ViT-L); a training
# checkpoint adds the other network and the optimiser state, about four times that: 5 GiB for
# ViT-L, 18 GiB for ViT-g. 32 GiB admits all of them and refuses a planted file before torch reads it.
CHECKPOINT_LIMIT = 32 * GiB


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
    """The tensors (and inert run configuration) of a ``.pth``/``.pt``/``.ckpt`` or ``.safetensors`` file.

    Every failure is one line naming the file: :class:`CheckpointError` for a file that is not a
    readable checkpoint (not a regular file, too large, truncated), :class:`UnsafeDataError` for
    one that holds code.
    """
    path = Path(path)
    with _open_checkpoint(path) as handle:
        if path.suffix == ".safetensors":
            return _read_safetensors(handle, path)
        return _read_torch(handle, path)


def _open_checkpoint(path: Path) -> BinaryIO:
    """``path`` opened as a regular file whose size, and stated expanded size for a zip, fit the cap."""
    try:
        handle = open_regular(path)
    except UnreadableFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc}); check the path") from None
    try:
        size = os.fstat(handle.fileno()).st_size
        if size > CHECKPOINT_LIMIT:
            raise CheckpointError(f"{path}: {size / GiB:.3g} GiB, more than the {CHECKPOINT_LIMIT / GiB:.3g} GiB a "
                                  "checkpoint may hold; is this the weights file?")
        if zipfile.is_zipfile(handle):  # torch's format stores members uncompressed; a deflated one may expand
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                expanded = sum(info.file_size for info in archive.infolist())
            if expanded > CHECKPOINT_LIMIT:
                raise CheckpointError(f"{path}: expands to {expanded / GiB:.3g} GiB, more than the "
                                      f"{CHECKPOINT_LIMIT / GiB:.3g} GiB a checkpoint may hold; "
                                      "is this the weights file?")
        handle.seek(0)
    except CheckpointError:
        handle.close()
        raise
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        handle.close()
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc}); truncated? download it again") from None
    return handle


def _read_safetensors(handle: BinaryIO, path: Path) -> Any:
    """safetensors maps a file by name: given the checked handle's own name (``/dev/fd/N``), it maps
    the file that was checked, not whatever the path leads to now."""
    from safetensors import SafetensorError
    from safetensors.torch import load, load_file

    own = Path(f"/dev/fd/{handle.fileno()}")
    try:
        return load_file(str(own)) if own.exists() else load(handle.read())
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc}); "
                              "truncated? download it again") from None


def _read_torch(handle: BinaryIO, path: Path) -> Any:
    try:
        with torch.serialization.safe_globals(INERT_GLOBALS):
            return torch.load(handle, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Weights only load failed" in str(exc) or "Unsupported global" in str(exc):
            raise UnsafeDataError(
                f"{path}: refusing to load: the checkpoint holds Python objects that could run code "
                f"({_unsafe_globals(handle)}); only tensors, plain containers and run configurations are accepted"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({first}); truncated? download it again") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first}); truncated? download it again") from None


def _unsafe_globals(handle: BinaryIO) -> str:
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in INERT_GLOBALS if not isinstance(g, tuple)}
    allowed |= {g[1] for g in INERT_GLOBALS if isinstance(g, tuple)}
    try:
        handle.seek(0)
        names = [n for n in torch.serialization.get_unsafe_globals_in_checkpoint(handle) if n not in allowed]
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
