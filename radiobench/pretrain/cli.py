"""``radiobench pretrain`` arguments and command (imported by radiobench.cli; no torch at import)."""

from __future__ import annotations

import argparse
from typing import Any

from radiobench.errors import RadiobenchError

PRETRAIN_EXAMPLES = """\
examples:
  # the committed CPU configuration (about an hour on 2 cores)
  radiobench pretrain --config configs/pretrain-cpu.toml --output ~/.cache/radiobench/pretrained/cpu-dino-vit-tiny

  # any mix of sources; then evaluate the result like any backbone
  radiobench pretrain --arch resnet18 --image-size 64 --epochs 5 --output runs/r18 \\
      --data fits:fields/,protege:../shared/data/mgcls_protege,task:mirabest
  radiobench run --backbone pretrained:runs/r18 --task mirabest,rgd --data-root ../shared/data

sources: fits:PATH (fields or a folder/glob of them, cut into --fits-crop crops), images:DIR (PNG/FITS
cutouts of one size), protege:DIR (MGCLS Protege cutouts, annotations masked), task:NAME (a task's train
split, minus anything within 90" of a test image of a task on the same survey).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pretrain", help="self-supervised pretraining (DINO) of a backbone on radio images",
                       description="DINO (student/teacher, centring and sharpening, multi-crop of flips, 90-degree "
                                   "rotations and resized crops, no colour jitter) on crops of radio images. Writes "
                                   "a DINO teacher checkpoint, a card.json and a loss curve to --output; evaluate with "
                                   "`radiobench run --backbone pretrained:DIR`.",
                       epilog=PRETRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file of settings (keys as the flags, with _ or -); flags given here win")
    p.add_argument("--method", choices=("dino",), help="self-supervised method (default: dino)")
    p.add_argument("--arch", help="timm architecture, e.g. vit_tiny_patch16_224, resnet18, vit_small_patch8_224, "
                                  "vit_base_patch16_224, resnet50 (default: vit_tiny_patch16_224)")
    p.add_argument("--data", help="comma-separated sources KIND:WHERE (see below)")
    p.add_argument("--output", help="run folder (checkpoint.pth, teacher.pth, card.json, loss_curve.png)")
    p.add_argument("--name", help="backbone name for results (default: dino_<arch>_<size>px_<output folder name>)")
    p.add_argument("--epochs", type=int, help="epochs (default: 10)")
    p.add_argument("--batch-size", type=int, help="images per step (default: 64)")
    p.add_argument("--image-size", type=int, help="global crop side in pixels, also the evaluation input size (default: 64)")
    p.add_argument("--fits-crop", type=int, help="crop side cut from FITS fields, before resizing (default: 256)")
    p.add_argument("--max-images", type=int, help="a seeded random subset of this many images (default: all)")
    p.add_argument("--device", help="auto (default), cpu or cuda")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), help="auto (default): bf16 on CUDA, fp32 on CPU")
    p.add_argument("--seed", type=int, help="seed of the initialisation, image order and crops (default: 0)")
    p.add_argument("--data-root", help="data folder for task: sources (default: $RADIOBENCH_DATA)")
    p.add_argument("--training-data", help="comma-separated survey names for in-domain marks (default: from the sources)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output after its last full epoch")


def cmd_pretrain(args: argparse.Namespace) -> int:
    from rich.console import Console

    from radiobench.pretrain.train import PretrainConfig, load_config, train

    values: dict[str, Any] = load_config(args.config) if args.config else {}
    for key in PretrainConfig.fields():
        given = getattr(args, key, None)
        if given is None or given is False:
            continue
        if key in ("data", "training_data"):
            given = [v.strip() for v in given.split(",") if v.strip()]
        values[key] = given
    for key in ("data", "training_data"):
        if isinstance(values.get(key), str):
            values[key] = [v.strip() for v in values[key].split(",") if v.strip()]
    if not values.get("output"):
        raise RadiobenchError("--output DIR is required (the run folder)")
    train(PretrainConfig(**values), console=Console(stderr=True))
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
