"""Harness extraction throughput against the model's own forward pass.

    python benchmarks/extraction.py --backbone random_resnet18,random_vits16,imagenet_efficientnet_lite0 \
        --task mirabest --data-root ../shared/data --images 256 --batch-size 64 [--device cpu] [--json out.json]

"raw" runs ``backbone.embed`` on tensors already prepared (resized, normalised) and on the
device; "harness" is ``radiobench.models.extract.extract`` from the task's stored pixels (scaling,
input contract, forward, output checks; on CUDA the scaling runs on the GPU for tasks that
declare ``pixel_range``). Both use the same images, batch size and precision,
in the same process, alternating, best of ``--repeat``; the ratio is harness / raw.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from radiobench.io.datafiles import data_root
from radiobench.models.extract import extract, host_batches, resolve_device, scales_on_device
from radiobench.models.preprocess import prepare_batch
from radiobench.registry import get_registry
from radiobench.run import build_backbone, build_task, limited


def raw_throughput(backbone, batches, precision: str) -> float:
    device = backbone.device
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
        for batch in batches:
            backbone.embed(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def host_throughput(task, split, batch_size: int, pin: bool, workers: int, raw: bool) -> float:
    """The host half alone: the ceiling of the harness on a fast device. ``raw``: slicing and
    pinning the stored pixels (the device scales them); else scaling, range check and pinning."""
    start = time.perf_counter()
    for _ in host_batches(task, split, batch_size, pin=pin, workers=workers, raw=raw):
        pass
    return len(split) / (time.perf_counter() - start)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="random_resnet18,random_vits16,imagenet_efficientnet_lite0")
    parser.add_argument("--task", default="mirabest")
    parser.add_argument("--data-root")
    parser.add_argument("--images", type=int, default=256,
                        help="images timed: a fixed random subset of the train split, or its rows repeated if it has fewer")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--host-workers", type=int, default=1,
                        help="threads preparing batches on the host, for the harness and the host-only timing")
    parser.add_argument("--json")
    args = parser.parse_args()

    registry = get_registry()
    device = resolve_device(args.device)
    task = build_task(registry.task(args.task))
    task.prepare(data_root(args.data_root))
    split = task.load_split("train")
    # more images than the split holds: its rows again, so a fast GPU is timed in steady state, not start-up
    split = limited(split, args.images) if args.images <= len(split) else split.subset(np.arange(args.images) % len(split))
    cuda = device.type == "cuda"
    workers = args.host_workers
    on_device = scales_on_device(task, device)
    host = {(w, raw): max(host_throughput(task, split, args.batch_size, cuda, w, raw) for _ in range(args.repeat))
            for w in {1, workers} for raw in ((False, True) if not task.overrides_scale else (False,))}
    print(f"host half alone ({len(split)} images, batch {args.batch_size}{', pinned' if cuda else ''}): "
          + ", ".join(f"{'stored pixels' if raw else 'scaled float32'} on {w} thread(s) {v:.0f} img/s"
                      for (w, raw), v in sorted(host.items())))
    rows = []
    for name in args.backbone.split(","):
        registered = registry.backbone(name)
        backbone = build_backbone(registered).to(device)
        # the same memory layout the harness feeds on CUDA, so the ratio compares like with like
        layout = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        batches = [
            prepare_batch(torch.from_numpy(task.scale(split.images[i : i + args.batch_size])).to(device),
                          registered.spec.input, task.spec.pixel_scale_arcsec).contiguous(memory_format=layout)
            for i in range(0, len(split), args.batch_size)
        ]
        raw_throughput(backbone, batches[:1], args.precision)  # warm-up
        raw, harness = 0.0, 0.0
        for _ in range(args.repeat):
            raw = max(raw, raw_throughput(backbone, batches, args.precision))
            done = extract(backbone, task, split, owner=registered.plugin.label, batch_size=args.batch_size,
                           precision=args.precision, host_threads=workers)
            harness = max(harness, done.images_per_second)
        rows.append({"model": name, "device": str(device), "device_name": device_name(device), "precision": args.precision, "batch_size": args.batch_size,
                     "images": len(split), "raw_img_s": raw, "harness_img_s": harness, "ratio": harness / raw,
                     "scaling_on": "device" if on_device else "host", "host_threads": workers,
                     "host_img_s": host[workers, on_device], "host_img_s_1_thread": host[1, on_device],
                     **({"host_scaled_img_s": host[workers, False], "host_raw_img_s": host[workers, True]}
                        if (workers, True) in host else {})})
    print(f"{'model':30} {'device':6} {'prec':5} {'batch':>5} {'raw img/s':>10} {'harness img/s':>14} {'ratio':>6}")
    for r in rows:
        print(f"{r['model']:30} {r['device']:6} {r['precision']:5} {r['batch_size']:5d} {r['raw_img_s']:10.1f} "
              f"{r['harness_img_s']:14.1f} {r['ratio']:6.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
