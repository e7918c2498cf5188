"""Throughput of `radiobench pretrain`'s train step against the raw forward-backward of the same model (issue 31).

    .venv/bin/python benchmarks/pretrain_throughput.py [--device cpu|cuda] [--batch 32] [--size 64] [--steps 3]

For DINO and BYOL, each with ViT-Ti/16 and ResNet-18 at ``--size`` px and batch ``--batch``, in one process:

- harness: ``radiobench.pretrain.train.train_step``, the loop's own step (schedules, batched multi-crop of the
  stored images on the device, forward, loss, backward, gradient clipping, optimiser step, EMA of the
  teacher/target, the loss read back), fed a batch of stored-size images as the loop feeds it;
- raw: the same modules on crops of the same sizes made beforehand (no augmentation): forward of both networks,
  the loss, backward; no optimiser step, no clipping, no EMA, no read-back until the round ends.

The ratio harness/raw is what the bookkeeping around the model costs (the issue's target: >= 0.8). Rounds of
``--steps`` steps alternate between the two, after a warm-up step of each, and the median round is reported,
so that load from other jobs on a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from radiobench.pretrain.augment import MultiCrop
from radiobench.pretrain.settings import validated
from radiobench.pretrain.train import Models, Schedules, _build, _device, train_step

CASES = (("dino", "vit_tiny_patch16_224"), ("byol", "vit_tiny_patch16_224"), ("dino", "resnet18"), ("byol", "resnet18"))


def setup(method: str, arch: str, size: int, batch: int, device: torch.device, precision: str) -> tuple:
    """Models, config, schedules and crops as the loop makes them (radiobench.pretrain.train.train)."""
    cfg = validated(dict(method=method, arch=arch, image_size=size, batch_size=batch, data=["images:unused"],
                         output="unused", device=str(device), precision=precision, monitor="none")).derived()
    models = _build(cfg, device)
    multicrop = MultiCrop(cfg.image_size, cfg.local_size, cfg.local_crops if method == "dino" else 0)
    return cfg, models, Schedules.of(cfg, niter=1000), multicrop


def raw_step(models: Models, crops: list[torch.Tensor], autocast: torch.autocast) -> torch.Tensor:
    """Forward of both networks on ready crops, the loss, backward: the model's own cost."""
    if models.method == "byol":
        views = torch.cat(crops[:2])
        with autocast:
            online_out = models.student(views)
            with torch.no_grad():
                target_out = models.teacher(views)
        loss = models.loss_fn(online_out.float(), target_out.float(), 0)
    else:
        with autocast:
            teacher_out = models.teacher(crops[:2])
            student_out = models.student(crops)
        loss = models.loss_fn(student_out.float(), teacher_out.float(), 0)
    models.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return loss.detach()


def rate(step: Callable[[], object], steps: int, batch: int, device: torch.device) -> float:
    """Images per second over ``steps`` calls of ``step``, waiting for the device at the end."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch / (time.perf_counter() - start)


def measure(method: str, arch: str, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    cfg, models, schedules, multicrop = setup(method, arch, args.size, args.batch, device, args.precision)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    stored = torch.rand(args.batch * 4, cfg.stored_size, cfg.stored_size).to(device)
    g = torch.Generator().manual_seed(0)
    crops = [c.contiguous() for c in multicrop(stored[: args.batch], g)]
    counter = iter(range(10**9))

    def harness() -> None:
        i = next(counter)
        batch = stored[(i % 4) * args.batch : (i % 4 + 1) * args.batch]
        train_step(models, cfg, schedules, multicrop, batch, g, epoch=1, step=i % 1000, autocast=autocast)

    def raw() -> None:
        raw_step(models, crops, autocast)

    harness(), raw()  # warm-up: allocations, cuDNN/kernel selection
    rounds_h, rounds_r = [], []
    for _ in range(args.rounds):
        rounds_h.append(rate(harness, args.steps, args.batch, device))
        rounds_r.append(rate(raw, args.steps, args.batch, device))
    return statistics.median(rounds_h), statistics.median(rounds_r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each; the median is reported")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--only", default="", help="comma-separated method:arch cases, e.g. byol:resnet18")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = _device(args.device)
    cases = [tuple(c.split(":", 1)) for c in args.only.split(",") if c] or CASES
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch}, "
          f"{args.size} px, {args.rounds} rounds x {args.steps} steps (median round)")
    print(f"{'method':<6} {'arch':<22} {'harness img/s':>14} {'raw img/s':>10} {'harness/raw':>12}")
    for method, arch in cases:
        harness, raw = measure(method, arch, args, device)
        print(f"{method:<6} {arch:<22} {harness:>14.1f} {raw:>10.1f} {harness / raw:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
