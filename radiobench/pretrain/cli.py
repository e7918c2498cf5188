"""``radiobench pretrain`` arguments and command (imported by radiobench.cli; no torch at import)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from radiobench.errors import RadiobenchError

PRETRAIN_EXAMPLES = """\
examples:
  # the committed CPU configuration
  radiobench pretrain --config configs/pretrain-cpu.toml --output ~/.cache/radiobench/pretrained/cpu-dino-vit-tiny

  # any mix of sources; then evaluate the result like any backbone
  radiobench pretrain --arch resnet18 --image-size 64 --epochs 5 --output runs/r18 \\
      --data fits:fields/,protege:../shared/data/mgcls_protege,task:mirabest
  radiobench run --backbone pretrained:runs/r18 --task mirabest,rgd --data-root ../shared/data

sources: fits:PATH (fields or a folder/glob of them, cut into --fits-crop crops), images:DIR (PNG/JPEG/FITS
cutouts of one size), protege:DIR (MGCLS Protege cutouts, annotations masked), task:NAME (a task's train
split, minus anything within 90" of a test image of a task on the same survey).

Every setting is checked before the output folder is made or any data are read; a bad one stops the
command with one line naming it (exit 2). A file of the data that cannot be used (not an image, truncated,
over 64 M pixels, not a FITS image) stops it too, naming the file: no run trains on part of the data
it was given. --config files take the same settings as these flags (keys with _ or -).
"""


def add_parser(sub: Any) -> None:
    from radiobench.pretrain.settings import PretrainConfig, describe, flag

    p = sub.add_parser("pretrain", help="self-supervised pretraining (DINO or BYOL) of a backbone on radio images",
                       description="DINO (student/teacher, centring and sharpening, multi-crop) or BYOL (--method "
                                   "byol: online/target networks, two views) on crops of radio images; augmentations "
                                   "are flips, 90-degree rotations and resized crops, no colour jitter. Writes the "
                                   "evaluated encoder (DINO: teacher; BYOL: online), a card.json and a loss curve "
                                   "(with the kNN monitor's accuracy per epoch) to --output; evaluate with "
                                   "`radiobench run --backbone pretrained:DIR`.",
                       epilog=PRETRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file of settings (keys as the flags, with _ or -); flags given here win")
    dino = p.add_argument_group("DINO hyper-parameters (lr to drop-path also BYOL's)")
    byol = p.add_argument_group("BYOL hyper-parameters (--method byol)")
    for f in dataclasses.fields(PretrainConfig):
        group = dino if f.name in DINO_KEYS else byol if f.name.startswith("byol_") else p
        if f.name == "resume":
            group.add_argument("--resume", action="store_true", default=None, help=describe("resume"))
        elif f.type in ("bool", bool):
            group.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=describe(f.name))
        else:  # read as text and checked with the others, so every bad setting is named in one line
            group.add_argument(flag(f.name), metavar=f.name.upper(), help=describe(f.name))


DINO_KEYS = frozenset({"out_dim", "hidden_dim", "bottleneck_dim", "norm_last_layer", "lr", "min_lr", "warmup_epochs",
                       "weight_decay", "weight_decay_end", "momentum_teacher", "teacher_temp", "warmup_teacher_temp",
                       "warmup_teacher_temp_epochs", "freeze_last_layer", "clip_grad", "drop_path_rate"})


def cmd_pretrain(args: argparse.Namespace) -> int:
    from radiobench.pretrain.settings import from_command

    config = from_command(args)  # refused here, before torch is imported, when a setting is wrong

    from rich.console import Console

    from radiobench.pretrain.train import train

    train(config, console=Console(stderr=True))
    return 0


def register_pretrained(reg: Any, names: list[str]) -> list[str]:
    """``pretrained:DIR`` -> the run's backbone, added to ``reg`` under the name in its card."""
    from radiobench.pretrain.card import spec_from_dir
    from radiobench.registry import Registered

    out = []
    for name in names:
        if not name.startswith("pretrained:"):
            out.append(name)
            continue
        spec = spec_from_dir(name.split(":", 1)[1])
        held = reg.backbones.get(spec.name)
        if held is not None and held.spec.weights.sha256 != spec.weights.sha256:
            raise RadiobenchError(f"{name}: its card names backbone {spec.name!r}, already registered with other "
                                  "weights; give the run another --name")
        if held is None:
            plugin = next((p for p in reg.plugins if p.name == "dino_mgcls"), reg.plugins[0])
            reg.backbones[spec.name] = Registered(spec, plugin)
        out.append(spec.name)
    return out
