"""Every setting of ``radiobench pretrain``, its type, range and default, checked before any work.

A run reads data for minutes and trains for hours, so a setting that cannot work (a string for a
number, a NaN learning rate, a 100000-pixel crop, a name with a path in it, zero prototypes) must be
refused before the output folder exists and before a byte of data is read, all at once and in one
line: :class:`PretrainConfigError` (exit code 2, like other usage errors). The same table makes the
command-line flags (one per setting, so ``--help`` lists every setting with its default and range)
and checks ``--config`` files, so the two cannot drift apart.

Torch-free: ``radiobench --help`` and a refused setting never wait for torch to import.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radiobench.errors import UsageError

KINDS = ("fits", "images", "protege", "task")  # data source kinds (radiobench.pretrain.data)
METHODS = ("dino", "byol")  # radiobench.pretrain.dino, radiobench.pretrain.byol
MONITORS = ("auto", "mirabest", "none")  # radiobench.pretrain.monitor

MIN_CROP = 16  # below this a ViT/16 sees a single patch and a ResNet's last stage a single pixel
MAX_IMAGE_SIZE = 1024  # 4.6x DINO's 224; a 100000-px crop would ask for terabytes once the data are read
MAX_STORED_SIZE = 2048  # the pool of resized sources is N x stored_size^2 float32 in memory
MAX_FITS_CROP = 4096
MAX_EPOCHS = 10_000
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")  # file names of results and caches are built from it
ARCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]{1,2})?")
SURVEY = re.compile(r"[^\x00-\x1f\x7f,]{1,100}")

# What --resume lets differ from the run being continued, and why each is safe. Everything else that is
# a setting decides what is trained (model, head, crops, schedules, optimiser, data) and must be equal.
RESUME_MAY_CHANGE = {
    "epochs": "the total may be raised or lowered (not below the epochs done); the schedules then follow the new "
              "total from the next epoch and the card records the change",
    "output": "the run folder may have been moved",
    "resume": "the switch itself",
    "device": "hardware, not a setting of the training (bit-exactness holds only on the same device)",
    "data_root": "where task data live; the data themselves are compared by the sha256 of their pixels",
    "data": "source paths may move; the data are compared by the sha256 of their pixels instead",
    "name": "the label on the leaderboard, written only to the card",
    "training_data": "survey labels, written only to the card",
    "monitor": "the kNN monitor only reads the model (no_grad, eval mode, no random draws), so it cannot change "
               "what is trained; the card records the epochs it scored",
}


class PretrainConfigError(UsageError):
    """Settings that cannot make a run: wrong type, out of range, unknown, or not for this architecture."""


def _setting(default: Any, help: str, lo: float | None = None, hi: float | None = None, *, auto: str = "",
             open_lo: bool = False, open_hi: bool = False, choices: tuple[str, ...] = (), factory: bool = False) -> Any:
    """A dataclass field with what ``--help`` says about it and the range :func:`validated` holds it to.

    ``auto``: 0 is allowed and means this (a derived default), whatever ``lo`` says.
    """
    meta = {"help": help, "lo": lo, "hi": hi, "auto": auto, "open_lo": open_lo, "open_hi": open_hi, "choices": choices}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PretrainConfig:
    """Every setting of a run; ``--config FILE`` (TOML) sets any of them, command-line flags win."""

    arch: str = _setting("vit_tiny_patch16_224", "timm architecture, e.g. vit_tiny_patch16_224, vit_small_patch8_224, "
                         "vit_base_patch16_224, resnet18, resnet50")
    data: list[str] = _setting(list, "comma-separated sources KIND:WHERE (see below); required", factory=True)
    output: str = _setting("", "run folder (checkpoint.pth, teacher.pth, card.json, loss_curve.png); required")
    method: str = _setting("dino", "self-supervised method: dino (Caron et al. 2021) or byol (Grill et al. 2020; 2 "
                           "global views, no local crops)", choices=METHODS)
    name: str = _setting("", "backbone name for results: lower-case letters, digits, _ . - (default: "
                         "<method>_<arch>_<size>px_<output folder name>)")
    epochs: int = _setting(10, "epochs in total", 1, MAX_EPOCHS)
    # at least 2: a batch of one makes a CNN's batch norm fail mid-training on 1-pixel maps of local crops
    batch_size: int = _setting(64, "images per step", 2, 65536)
    image_size: int = _setting(64, "global crop side in pixels, also the evaluation input size; a multiple of a ViT's "
                               "patch size", MIN_CROP, MAX_IMAGE_SIZE)
    local_size: int = _setting(0, "local crop side in pixels, at most --image-size; a multiple of a ViT's patch size",
                               MIN_CROP, MAX_IMAGE_SIZE,
                               auto="3/7 of --image-size rounded to the patch size, at least 16 (32 for 64 px at patch 16)")
    local_crops: int = _setting(4, "local crops per image", 0, 64)
    stored_size: int = _setting(0, "side every source image is resized to before cropping", MIN_CROP, MAX_STORED_SIZE,
                                auto="1.5 x --image-size")
    fits_crop: int = _setting(256, "crop side cut from FITS fields, before resizing", MIN_CROP, MAX_FITS_CROP)
    max_images: int = _setting(0, "a seeded random subset of this many images", 1, 1_000_000_000, auto="all images")
    device: str = _setting("auto", "auto, cpu, cuda or cuda:N")
    precision: str = _setting("auto", "auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32", choices=("auto", "bf16", "fp32"))
    seed: int = _setting(0, "seed of the initialisation, image order and crops", 0, 2**32 - 1)
    resume: bool = _setting(False, "continue the run in --output after its last full epoch (with the same settings; "
                            f"only {', '.join(k for k in RESUME_MAY_CHANGE if k not in ('resume', 'output'))} may "
                            "differ); without a checkpoint there, start it")
    data_root: str = _setting("", "data folder for task: sources (default: $RADIOBENCH_DATA)")
    training_data: list[str] = _setting(list, "comma-separated survey names for in-domain marks (default: from the "
                                        "sources)", factory=True)
    monitor: str = _setting("auto", "kNN accuracy (cosine, k=20) each epoch on a seeded 20% of MiraBest's training "
                            "split, the other 80% as neighbours (never its test split): mirabest, none, or auto = "
                            "mirabest when the data root holds the MiraBest archive", choices=MONITORS)
    # DINO hyper-parameters (facebookresearch/dino defaults unless the config says otherwise)
    out_dim: int = _setting(4096, "prototypes of the DINO head", 2, 262144)
    hidden_dim: int = _setting(2048, "width of the DINO head's MLP", 1, 16384)
    bottleneck_dim: int = _setting(256, "bottleneck of the DINO head", 1, 4096)
    norm_last_layer: bool = _setting(True, "weight-normalised last layer with its norm frozen, as in DINO")
    lr: float = _setting(5e-4, "peak learning rate at batch 256, scaled linearly with --batch-size", 0.0, 1.0,
                         open_lo=True)
    min_lr: float = _setting(1e-6, "learning rate at the end of the cosine schedule", 0.0, 1.0)
    warmup_epochs: int = _setting(1, "epochs of linear learning-rate warm-up (at most epochs - 1)", 0, MAX_EPOCHS)
    weight_decay: float = _setting(0.04, "weight decay at the start (cosine schedule)", 0.0, 1.0)
    weight_decay_end: float = _setting(0.4, "weight decay at the end", 0.0, 1.0)
    momentum_teacher: float = _setting(0.996, "teacher (DINO) or target (BYOL tau) EMA momentum at the start "
                                       "(cosine to 1)", 0.0, 1.0)
    teacher_temp: float = _setting(0.04, "teacher softmax temperature after warm-up", 0.0, 1.0, open_lo=True)
    warmup_teacher_temp: float = _setting(0.04, "teacher temperature at the start", 0.0, 1.0, open_lo=True)
    warmup_teacher_temp_epochs: int = _setting(0, "epochs of teacher-temperature warm-up", 0, MAX_EPOCHS)
    freeze_last_layer: int = _setting(1, "epochs during which the head's last layer is not updated", 0, MAX_EPOCHS)
    clip_grad: float = _setting(3.0, "per-parameter gradient-norm clip; 0: off", 0.0, 1e6)
    drop_path_rate: float = _setting(0.1, "stochastic depth of the student (BYOL: of the online network)", 0.0, 1.0,
                                     open_hi=True)
    # BYOL hyper-parameters (Grill et al. 2020; lr, min_lr, warmup_epochs, weight decay, clip_grad and
    # momentum_teacher (tau) above are shared with DINO)
    byol_hidden_dim: int = _setting(2048, "hidden width of BYOL's projector and predictor MLPs (the paper: 4096)",
                                    1, 16384)
    byol_projection_dim: int = _setting(256, "output of BYOL's projector and predictor", 1, 4096)

    @classmethod
    def fields(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def derived(self) -> PretrainConfig:
        """Defaults that follow from other settings (those that need the architecture: ``local_size``, in train)."""
        out = dataclasses.replace(self, data=list(self.data), training_data=list(self.training_data))
        out.stored_size = self.stored_size or round(self.image_size * 1.5)
        if not out.name:
            out.name = default_name(self.arch, self.image_size, self.output, self.method)
        return out


TYPES: dict[str, Any] = typing.get_type_hints(PretrainConfig)


def default_name(arch: str, image_size: int, output: str, method: str = "dino") -> str:
    """``<method>_<arch>_<size>px_<folder>``, lower-cased, anything but ``[a-z0-9_.-]`` made ``_`` (a valid name)."""
    raw = f"{method}_{arch}_{image_size}px_{Path(output).name}".lower()
    return re.sub(r"[^a-z0-9_.-]", "_", raw)[:100]


def default_local_size(image_size: int, patch: int) -> int:
    """DINO's 96 px for 224 (3/7), rounded to a multiple of ``patch`` (1 for CNNs), at least 16."""
    floor = patch * math.ceil(MIN_CROP / patch)
    return max(floor, patch * round(image_size * 3 / 7 / patch))


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def describe(key: str) -> str:
    """The ``--help`` line of a setting: what it is, its default and its range."""
    f = next(f for f in dataclasses.fields(PretrainConfig) if f.name == key)
    meta, kind = f.metadata, TYPES[key]
    text = meta["help"]
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    if meta["auto"]:
        text += f" (default: 0 = {meta['auto']})"
    elif meta["choices"]:
        text += f" (one of {', '.join(meta['choices'])}; default: {default})"
    elif kind is bool:
        text += f" (default: {'on' if default else 'off'})"
    elif default not in ("", []) and "default:" not in text:
        text += f" (default: {default})"
    if meta["lo"] is not None:
        text += f"; {'else ' if meta['auto'] else ''}{_range_words(meta)}"
    return text.replace("%", "%%")


def _range_words(meta: Any) -> str:
    lo, hi = meta["lo"], meta["hi"]
    left = f"above {lo}" if meta["open_lo"] else f"{lo}"
    right = f"below {hi}" if meta["open_hi"] else f"{hi:,}" if isinstance(hi, int) else f"{hi}"
    return f"{left} to {right}" if not meta["open_lo"] else f"{left}, at most {hi}"


# -- parsing and checking ---------------------------------------------------------------------------------------


def parse_flag(key: str, text: str) -> Any:
    """A command-line string as the setting's type; what cannot be read is left as text for :func:`validated`
    to refuse with the others (so every bad setting is named in the one message)."""
    kind = TYPES[key]
    if kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            return text
    if kind == list[str]:
        return split_list(text)
    return text


def split_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def validated(values: dict[str, Any], origins: dict[str, str] | None = None) -> PretrainConfig:
    """A config from ``values`` (settings by name, as typed), or one :class:`PretrainConfigError` naming every
    setting that is wrong. ``origins``: where each value came from (``--epochs``, ``epochs in FILE``)."""
    origins = origins or {}
    unknown = sorted(set(values) - PretrainConfig.fields())
    if unknown:
        raise PretrainConfigError(f"unknown pretrain setting{'s' * (len(unknown) > 1)} {', '.join(unknown)}; known: "
                                  f"{', '.join(sorted(PretrainConfig.fields()))}")
    clean, problems = {}, []
    for f in dataclasses.fields(PretrainConfig):
        if f.name not in values:
            continue
        value, why = _coerce(f, values[f.name])
        if why:
            problems.append(f"{_label(f.name, values[f.name], origins)}: {why}")
        else:
            clean[f.name] = value
    config = PretrainConfig(**clean)
    refused = set(values) - set(clean)  # their defaults stand in: no second complaint about them
    problems += [f"{_label(k, getattr(config, k), origins)}: {why}" for k, why in _cross_checks(config)
                 if k not in refused]
    if problems:
        many = len(problems) > 1
        raise PretrainConfigError(f"bad pretrain setting{'s' * many}: {'; '.join(problems)}; fix {'them' if many else 'it'} "
                                  "(`radiobench pretrain --help` lists every setting with its default and range)")
    return config


def _label(key: str, value: Any, origins: dict[str, str]) -> str:
    where = origins.get(key, "")
    shown = _show(value)
    if where.startswith("--"):
        return f"{where} {shown}"
    return f"{key} = {shown}{f' in {where}' if where else ''}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _coerce(f: dataclasses.Field, value: Any) -> tuple[Any, str]:
    """(the value as the field's type, "") or (None, why not)."""
    kind, meta = TYPES[f.name], f.metadata
    if kind is bool:
        return (value, "") if isinstance(value, bool) else (None, "not true or false")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "not a whole number"
        if meta["auto"] and value == 0:
            return 0, ""
        return (value, "") if _in_range(value, meta) else (None, f"out of range ({_range_words(meta)}"
                                                            f"{'; 0: ' + meta['auto'] if meta['auto'] else ''})")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "not a number"
        if not math.isfinite(value):
            return None, "not a finite number"
        return (float(value), "") if _in_range(value, meta) else (None, f"out of range ({_range_words(meta)})")
    if kind == list[str]:
        if isinstance(value, str):
            value = split_list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "not a list of strings"
        return [v.strip() for v in value if v.strip()], ""
    if not isinstance(value, str):
        return None, "not a string"
    if meta["choices"] and value not in meta["choices"]:
        return None, f"not one of {', '.join(meta['choices'])}"
    return value, ""


def _in_range(value: float, meta: Any) -> bool:
    lo, hi = meta["lo"], meta["hi"]
    above = value > lo if meta["open_lo"] else value >= lo
    below = value < hi if meta["open_hi"] else value <= hi
    return above and below


def _cross_checks(c: PretrainConfig) -> list[tuple[str, str]]:
    """Rules between settings and on the form of names; (setting, why) for each broken one."""
    found = []
    if not c.output.strip():
        found.append(("output", "required: give --output DIR, the run folder"))
    if not c.data:
        found.append(("data", "required: give --data KIND:WHERE[,...], e.g. fits:FIELDS_DIR,task:mirabest"))
    for source in c.data:
        kind, sep, where = source.partition(":")
        if not sep or kind not in KINDS or not where.strip():
            found.append(("data", f"source {source!r} is not KIND:WHERE with KIND one of {', '.join(KINDS)}"))
    if c.name and not NAME.fullmatch(c.name):
        found.append(("name", "not a plain name: lower-case letters, digits, _ . - (starting with a letter or digit, "
                              "at most 100 characters; no path separators)"))
    if not ARCH.fullmatch(c.arch):
        found.append(("arch", "not a timm architecture name"))
    if not DEVICE.fullmatch(c.device):
        found.append(("device", "use auto, cpu, cuda or cuda:N"))
    if c.local_size and c.local_size > c.image_size:
        found.append(("local_size", f"larger than image_size {c.image_size} (local crops are the small ones)"))
    bad = [s for s in c.training_data if not SURVEY.fullmatch(s)]
    if bad:
        found.append(("training_data", f"survey name {bad[0]!r} is empty, too long or holds control characters"))
    return found


# -- resume ------------------------------------------------------------------------------------------------------


def resume_differences(previous: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(setting, the run's value, this command's value) for every setting that must not change on resume."""
    keys = sorted((set(previous) | set(current)) - set(RESUME_MAY_CHANGE))
    missing = "(not recorded)"
    return [(k, previous.get(k, missing), current.get(k, missing)) for k in keys
            if previous.get(k, missing) != current.get(k, missing)]


# -- where settings come from -------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 1 << 20  # a config is a page of TOML; anything larger is not one


def load_config(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of a TOML ``--config`` file (``-`` or ``_`` in keys; a ``comment`` key is ignored) and, for
    each, where it came from. Read through the shared reader: a named pipe or a huge file is refused, not waited on."""
    import tomllib

    from radiobench.io.reader import UnreadableFileError, read_text

    try:
        text = read_text(path, limit=MAX_CONFIG_BYTES, what="config file")
    except UnreadableFileError as exc:
        raise PretrainConfigError(f"--config {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PretrainConfigError(f"--config {path}: not valid TOML ({exc}); fix the file") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name == "comment":
            continue
        if name in values:
            raise PretrainConfigError(f"--config {path}: {name} is set twice (as {name} and {name.replace('_', '-')}); "
                                      "keep one")
        values[name] = value
    unknown = sorted(set(values) - PretrainConfig.fields())
    if unknown:
        raise PretrainConfigError(f"--config {path}: unknown setting{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                                  f"known: {', '.join(sorted(PretrainConfig.fields()))}")
    return values, {k: str(path) for k in values}


def from_command(args: Any) -> PretrainConfig:
    """The run's settings: the ``--config`` file's, then every flag given (flags win), all checked at once."""
    values, origins = load_config(args.config) if getattr(args, "config", None) else ({}, {})
    for key in PretrainConfig.fields():
        given = getattr(args, key, None)
        if given is None:
            continue
        values[key] = given if isinstance(given, bool) else parse_flag(key, given)
        origins[key] = flag(key)
    return validated(values, origins)
