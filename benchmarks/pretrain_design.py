"""Choose the long CPU pretraining run's method and architecture by the kNN monitor, never a test split.

    .venv/bin/python benchmarks/pretrain_design.py [--data-root ../shared/data] [--epochs 3] [--max-images 3000]
        [--out ~/.cache/radiobench/pretrain-design] [--only byol_resnet18,dino_vit_tiny16,byol_vit_tiny16]

Each candidate is a short run of `radiobench pretrain` on the pool the long run will use (MGCLS Protege
cutouts, MiraBest's and RGD's train splits minus every literature test source by sky position), a seeded
subset of ``--max-images`` images for ``--epochs`` epochs, from the committed CPU configuration of its
method (configs/pretrain-cpu.toml for DINO, configs/pretrain-byol-cpu.toml for BYOL) with only the
architecture, data, length and name changed. The monitor scores every epoch by weighted kNN on held-out
MiraBest *training* sources (80/20, split seed 31); epoch 0 is the untrained encoder, i.e. what the
random-init twin scores. The table printed at the end is the design evidence of the pre-registration
(docs/preregistration-pretrain-cpu.md); the choice rule is stated there before the runs: the largest gain
of the last epoch over epoch 0, ties (within 0.02) broken by training throughput.

The runs' cards carry the monitor of the code that ran them (version 1: 146 held-out queries, standard
error ~0.04); the table also re-scores each candidate's untrained encoder (epoch 0: the seeded init the run
started from) and its final evaluated encoder with the current monitor (version 2: leave-one-out over all
729 training sources, ~0.017), and the choice uses those.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

POOL = "protege:{root}/mgcls_protege,task:mirabest,task:rgd"
CANDIDATES = {
    "byol_resnet18": ("configs/pretrain-byol-cpu.toml", "resnet18"),
    "dino_vit_tiny16": ("configs/pretrain-cpu.toml", "vit_tiny_patch16_224"),
    "byol_vit_tiny16": ("configs/pretrain-byol-cpu.toml", "vit_tiny_patch16_224"),
}


def run(name: str, args: argparse.Namespace) -> dict:
    config, arch = CANDIDATES[name]
    out = Path(args.out).expanduser() / name
    cmd = [sys.executable, "-m", "radiobench", "pretrain", "--config", config, "--arch", arch,
           "--data", POOL.format(root=args.data_root), "--data-root", args.data_root,
           "--epochs", str(args.epochs), "--max-images", str(args.max_images), "--warmup-epochs", "1",
           "--name", f"design_{name}", "--output", str(out), "--monitor", "mirabest", "--resume"]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads((out / "card.json").read_text())


def rescore(name: str, args: argparse.Namespace, card: dict) -> tuple[float, float]:
    """The current monitor's accuracy of the run's untrained encoder and of its final evaluated encoder."""
    import torch

    from radiobench.pretrain import monitor
    from radiobench.pretrain.train import build

    held = monitor.load(args.data_root, card["image_size"])
    initial = build(card["arch"], card["image_size"], 0.0, card["seed"])
    final = build(card["arch"], card["image_size"], 0.0, card["seed"])
    state = torch.load(Path(args.out).expanduser() / name / "teacher.pth", map_location="cpu", weights_only=True)
    final.load_state_dict({k.removeprefix("backbone."): v for k, v in state["teacher"].items()
                           if k.startswith("backbone.")})
    return tuple(held.score(model, torch.device("cpu")) for model in (initial, final))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-images", type=int, default=3000)
    parser.add_argument("--out", default="~/.cache/radiobench/pretrain-design")
    parser.add_argument("--only", default=",".join(CANDIDATES))
    args = parser.parse_args()
    rows = []
    for name in args.only.split(","):
        card = run(name, args)
        curve = [m["knn_accuracy"] for m in card["monitor"]["knn_accuracy_per_epoch"]]
        seconds = card["train_seconds"]
        images = args.epochs * (card["data"]["used_images"] // card["batch_size"]) * card["batch_size"]
        rows.append((name, curve, rescore(name, args, card), images / seconds if seconds else float("nan")))
    print(f"\n{'candidate':<18} {'monitor v1 per epoch (0 = untrained)':<38} {'v2 untrained':>12} {'v2 final':>9} "
          f"{'v2 gain':>8} {'img/s':>6}")
    for name, curve, (before, after), rate in rows:
        print(f"{name:<18} {' '.join(f'{c:.3f}' for c in curve):<38} {before:>12.3f} {after:>9.3f} "
              f"{after - before:>+8.3f} {rate:>6.1f}")


if __name__ == "__main__":
    main()
