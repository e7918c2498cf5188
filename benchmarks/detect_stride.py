"""What the detection probe measures: the same head on the image's own pixels at strides 8, 16 and 32,
and on a backbone's map as it is and standardised per channel.

    python benchmarks/detect_stride.py [--strides 8 16 32] [--seeds 2] [--data-root ../shared/data]
    python benchmarks/detect_stride.py --backbone imagenet_efficientnet_lite0 [--seeds 1]
    python benchmarks/detect_stride.py --backbone imagenet_efficientnet_lite0 --block-stride 8

``control_image_map`` hands the head each 8x8 block of the image as 64 channels: every pixel,
nothing learned. Here the block is 8, 16 or 32 pixels (64, 256 or 1024 channels), which is the
stride of a ViT/8, a ViT/16 and a CNN's last map (EfficientNet-Lite, ResNet). If the stride alone
moves mAP@[.5:.95] from the random ViTs' level towards the EfficientNet-Lites', the sim_detect
board ranks maps by how finely they keep where a source is, whatever their training; the `detect`
protocol is used unchanged, on the task's train and test splits, and nothing is chosen from these
numbers. The figures in docs/statistics.md ("Detection") were measured with version 3, which led to version 4 (the head
also reads a CNN's stride-8 stage, and standardises every map itself, so under version 4 the
"standardised" run below repeats the raw one).

With ``--backbone``, the backbone's own map is trained on twice: as extracted, and with each
channel standardised by its mean and std over the training maps (what a feature-scale or
channel-statistics problem would need). If the standardised map scores far higher, the
head's optimisation, not the features, held the score down. With ``--block-stride S`` (EfficientNet-Lite
backbones), the map is instead the output of the last block at stride S (an earlier depth), raw.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strides", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--backbone", help="instead of the pixel controls: this backbone's map, raw and standardised")
    parser.add_argument("--block-stride", type=int, help="with --backbone (EfficientNet-Lite): the last block at this stride")
    args = parser.parse_args()

    import torch

    from radiobench.protocols.detect import Detect
    from radiobench.registry import get_registry
    from radiobench.run.maps import feature_maps, input_frame_targets, to_image_frame, truth
    from radiobench.run.pair import build_backbone, build_task

    registry = get_registry()
    task = build_task(registry.task("sim_detect"))
    task.prepare(args.data_root)
    train, test = task.load_split("train"), task.load_split("test")
    backbone = build_backbone(registry.backbone(args.backbone or "control_image_map"))
    size = backbone.spec.input.size
    classes = len(registry.task("sim_detect").spec.classes)
    targets = input_frame_targets(train, size)
    print(f"sim_detect: {len(train)} train, {len(test)} test images at {size} px; detect v{Detect.version}")

    def maps_of() -> dict[str, torch.Tensor]:
        return {name: torch.from_numpy(feature_maps(backbone, split, 64, "fp32")) for name, split in
                (("train", train), ("test", test))}

    def report(label: str, maps: dict[str, torch.Tensor]) -> None:
        scores = []
        began = time.perf_counter()
        for seed in range(args.seeds):
            predicted, _ = Detect().fit_predict(maps["train"], targets, maps["test"], classes, size, seed)
            scores.append(task.score(truth(test), to_image_frame(predicted, test, size))["map"])
        print(f"{label}: map {tuple(maps['train'].shape[1:])}, mAP@[.5:.95] per seed "
              f"{' '.join(f'{s:.4f}' for s in scores)} (mean {np.mean(scores):.4f}; {time.perf_counter() - began:.0f} s)",
              flush=True)

    if args.backbone and args.block_stride:
        net = backbone.module
        seen: list[torch.Tensor] = []
        for block in net._blocks:
            block.register_forward_hook(lambda _m, _i, out: seen.append(out))

        def at_depth(images: torch.Tensor) -> torch.Tensor:
            seen.clear()
            net.extract_features(images)
            wanted = images.shape[-1] // args.block_stride
            return [m for m in seen if m.shape[-1] == wanted][-1]

        backbone.feature_map = at_depth
        report(f"{args.backbone}, last block at stride {args.block_stride}", maps_of())
        return
    if args.backbone:
        maps = maps_of()
        train_maps = maps["train"]
        mean, std = train_maps.mean(dim=(0, 2, 3), keepdim=True), train_maps.std(dim=(0, 2, 3), keepdim=True)
        print(f"{args.backbone}: channel means {float(mean.min()):.3g}..{float(mean.max()):.3g}, stds "
              f"{float(std.min()):.3g}..{float(std.max()):.3g}, {int((std < 1e-6).sum())} constant channels")
        report(f"{args.backbone} as extracted", maps)
        std = std.clamp_min(1e-6)
        report(f"{args.backbone} standardised per channel", {k: (v - mean) / std for k, v in maps.items()})
        return
    for stride in args.strides:
        backbone.STRIDE = stride
        report(f"pixels at stride {stride:>2}", maps_of())


if __name__ == "__main__":
    main()
