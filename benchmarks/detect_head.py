"""One detection head's training on a given map size, with glibc's defaults against kept freed memory.

    python benchmarks/detect_head.py [--grid 28] [--channels 384] [--head-stride 8] [--images 48] [--epochs 1] [--repeat 2]

A ``--grid`` of 28 with 384 channels is ViT-S/8's map at 224 px; 7 with 512 is ResNet-18's. The
protocol's head works at stride 8 (a 28x28 head grid for both); ``--head-stride 2`` gives the
112x112 head grid that detect versions 1-2 trained on a ViT/8. Each measurement runs in a fresh process, alternating
the two settings ``--repeat`` times, so the ratio comes from one run of this script. Reports
wall, user and system seconds and minor page faults, and checks that both settings predict
the same boxes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PROBE = """
import json, resource, sys, time
import torch
from radiobench.memory import keep_freed_memory
from radiobench.protocols.detect import Detect
grid, channels, head_stride, images, epochs, keep = (int(v) for v in sys.argv[1:7])
if keep:
    assert keep_freed_memory(), "could not set glibc's thresholds"
torch.manual_seed(0)
maps = torch.randn(images, channels, grid, grid)
boxes = torch.tensor([[10.0, 10.0, 30.0, 30.0], [100.0, 120.0, 110.0, 128.0]])
targets = [{"boxes": boxes + i % 7, "labels": torch.zeros(2, dtype=torch.int64)} for i in range(images)]
detect = Detect()
detect.options = {**detect.options, "epochs": epochs, "head_stride": head_stride}
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
predicted, _ = detect.fit_predict(maps, targets, maps[:4], 1, 224, 0)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": time.perf_counter() - start, "user": after.ru_utime - before.ru_utime,
                  "system": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
                  "scores": [float(s) for p in predicted for s in p["scores"][:5]]}))
"""


def measure(args: argparse.Namespace, keep: bool) -> dict:
    argv = [str(v) for v in (args.grid, args.channels, args.head_stride, args.images, args.epochs, int(keep))]
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", type=int, default=28)
    parser.add_argument("--channels", type=int, default=384)
    parser.add_argument("--head-stride", type=int, default=8, help="input pixels per head cell (the protocol's: 8)")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"glibc defaults": [], "kept freed memory": []}
    for _ in range(args.repeat):
        runs["glibc defaults"].append(measure(args, keep=False))
        runs["kept freed memory"].append(measure(args, keep=True))
    same = all(r["scores"] == runs["glibc defaults"][0]["scores"] for rs in runs.values() for r in rs)
    print(f"head on a {args.grid}x{args.grid}x{args.channels} map at head stride {args.head_stride}, "
          f"{args.images} images, {args.epochs} epoch(s)")
    print(f"{'setting':<20}{'wall s':>9}{'user s':>9}{'system s':>10}{'faults':>11}")
    best = {}
    for name, rs in runs.items():
        r = min(rs, key=lambda r: r["wall"])
        best[name] = r["wall"]
        print(f"{name:<20}{r['wall']:>9.2f}{r['user']:>9.2f}{r['system']:>10.2f}{r['faults']:>11}")
    print(f"speed-up {best['glibc defaults'] / best['kept freed memory']:.2f}x (best of {args.repeat}); "
          f"identical predictions: {same}")


if __name__ == "__main__":
    main()
