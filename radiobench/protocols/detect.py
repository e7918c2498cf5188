"""Detection on frozen features: a light FCOS head trained on a backbone's spatial feature maps.

The backbone runs once per image; only the head learns. It reads the backbone's last map (a
CNN's stride-32 map, or a ViT's patch tokens laid back on their grid as ViTDet does) and, where
the backbone has one, the deepest earlier map at stride 8 (``radiobench.run.maps.pyramid``: a
CNN's stride-8 stage). Each map is standardised per channel with its mean and std over the
training maps, then goes through its own adapter branch (1x1 conv to ``channels``, then as many
stride-2 transposed convs, each with GroupNorm and ReLU, as bring it to ``head_stride`` input
pixels per cell or finer); the branches are summed, as a feature pyramid's lateral paths are,
and feed torchvision's ``FCOSHead`` (anchor-free, one level, focal + GIoU + centre-ness losses,
centre sampling, NMS at 0.6). Every backbone's head works at the same resolution, so the scores
compare feature maps rather than head resolutions. FCOS needs no anchor tuning per data set,
which matters when boxes range from a compact beam to a giant radio galaxy.

Why two depths and the standardisation (version 4): radio sources are a few pixels wide, and a
stride-32 map has lost where they are. On sim_detect the image's own pixels scored mAP@[.5:.95]
0.68 / 0.63 / 0.44 at strides 8 / 16 / 32, and ImageNet EfficientNet-Lite0 0.004 at its last
map but 0.72 at its last stride-8 block (``benchmarks/detect_stride.py``): version 3 ranked
backbones by the stride of their last map, not by their features. Standardising removes a
map's overall scale (a random EfficientNet's last map is ~1e-8) from what the fixed learning
rate sees.

The schedule is fixed and recorded: AdamW, ``lr`` with cosine decay to zero over
``epochs``, batch ``batch_size``, no augmentation, images at the backbone's input size
(boxes scaled with them and back). The seed sets the head's initialisation, the batch
order and, with a label budget, which training images keep their boxes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.protocols.base import MapProtocol


def adapter(in_channels: int, channels: int, upsample: int) -> Any:
    """1x1 conv to ``channels`` then ``upsample`` stride-2 transposed convs, each with GroupNorm and ReLU."""
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 1), nn.GroupNorm(8, channels), nn.ReLU()]
    for _ in range(upsample):
        layers += [nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.GroupNorm(8, channels), nn.ReLU()]
    return nn.Sequential(*layers)


def pyramid_adapter(in_channels: Sequence[int], channels: int, upsample: Sequence[int], grid: tuple[int, int]) -> Any:
    """One :func:`adapter` branch per map level, summed on the head's ``grid``.

    A branch whose upsampled map misses the grid by a cell or two (EfficientNet-Lite2: 9 x 4 = 36
    cells against its stride-8 stage's 33) is resized to it bilinearly.
    """
    import torch
    from torch import nn

    class Pyramid(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branches = nn.ModuleList(adapter(c, channels, u) for c, u in zip(in_channels, upsample))
            self.out_channels = channels  # what torchvision's FCOS asks of its backbone

        def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
            out = None
            for branch, level in zip(self.branches, levels):
                mapped = branch(level)
                if tuple(mapped.shape[-2:]) != grid:
                    mapped = nn.functional.interpolate(mapped, size=grid, mode="bilinear", align_corners=False)
                out = mapped if out is None else out + mapped
            return out

    return Pyramid()


def standardiser(train_levels: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Per level, each channel's mean and std over the training maps (all images and cells).

    A constant channel (std 0) would divide by zero; its std is floored at 1e-12 of the level's
    largest, which maps it to zero.
    """
    out = []
    for level in train_levels:
        values = level.double()
        mean, std = values.mean(dim=(0, 2, 3), keepdim=True), values.std(dim=(0, 2, 3), keepdim=True)
        floor = max(float(std.max()) * 1e-12, 1e-30)
        out.append((mean.float(), std.clamp_min(floor).float()))
    return out


@dataclass
class Detect(MapProtocol):
    """Trains on (features, boxes in input pixels) and predicts boxes in input pixels."""

    name: ClassVar[str] = "detect"
    # 2: anchor points at the map's true stride (anchor_points); version 1 took torchvision's integer
    #    stride, which for an input that is not a multiple of the map (EfficientNet-Lite1 and -Lite2)
    #    left the last rows and columns of the image without points. Integer strides are unchanged.
    # 3: the adapter upsamples to a stride of 8 (head_stride) whatever the backbone's stride; versions 1
    #    and 2 always upsampled twice, so a ViT/16's head worked at stride 4 and a ViT/8's at stride 2
    #    (16x the cells, 30 minutes of CPU for five seeds) while a CNN's worked at 8. CNN heads are unchanged.
    # 4: the head also reads a CNN's stride-8 stage, and every map is standardised per channel on the
    #    training maps (module docstring). Every backbone's numbers move.
    version: ClassVar[str] = "4"
    kinds: ClassVar[tuple[str, ...]] = ("detection",)
    supervised: ClassVar[bool] = True
    options: dict[str, Any] = field(default_factory=lambda: {
        "head": "FCOS (torchvision FCOSHead), one level", "channels": 64, "head_convs": 2, "head_stride": 8,
        "epochs": 24, "batch_size": 16, "optimizer": "AdamW", "lr": 2e-3, "weight_decay": 1e-4,
        "schedule": "cosine to 0, per step", "score_thresh": 0.05, "nms_thresh": 0.6, "detections_per_img": 100,
        "augmentation": "none", "box_bias_init": 1.0,
        "levels": "the last map, plus the deepest earlier map at stride <= 8 where the backbone has one",
        "standardise": "per channel, mean and std over the training maps", "fuse": "sum of per-level adapters",
    })

    def describe(self) -> dict[str, Any]:
        return dict(self.options)

    def build(self, in_channels: Sequence[int], num_classes: int, stride: float, upsample: Sequence[int],
              grid: tuple[int, int]) -> Any:
        """The FCOS model whose adapter brings each level (``upsample`` stages each) to a ``grid`` of ``stride`` input pixels per cell."""
        from torch import nn
        from torchvision.models.detection.anchor_utils import AnchorGenerator
        from torchvision.models.detection.fcos import FCOS, FCOSHead

        o = self.options
        # FCOS's constructor asks for a generator; fit_predict lays the points itself (anchor_points)
        anchors = AnchorGenerator(sizes=((stride,),), aspect_ratios=((1.0,),))
        head = FCOSHead(o["channels"], 1, num_classes, num_convs=o["head_convs"])
        # Start every box at one cell from its point on each side instead of at zero: the regression
        # passes through a ReLU, and with torchvision's zero bias half the outputs start dead and
        # the box loss barely moved in a short schedule (GIoU loss 0.78 vs 0.55 after 150 steps).
        nn.init.constant_(head.regression_head.bbox_reg.bias, o["box_bias_init"])
        return FCOS(pyramid_adapter(in_channels, o["channels"], upsample, grid), num_classes, anchor_generator=anchors,
                    head=head, score_thresh=o["score_thresh"], nms_thresh=o["nms_thresh"],
                    detections_per_img=o["detections_per_img"])

    def fit_predict(
        self,
        train_features: Any | Sequence[Any],
        train_targets: list[dict[str, Any]],
        test_features: Any | Sequence[Any],
        num_classes: int,
        input_size: int,
        seed: int,
        device: Any = "cpu",
    ) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
        """Predictions per test image (boxes in input pixels, scores, labels) and what the fit did.

        Features are (N, D, h, w) tensors, or a list of them (map levels, finest first, the same
        levels for train and test); targets hold ``boxes`` (input pixels, xyxy) and ``labels``.
        """
        import torch

        train_levels = [train_features] if isinstance(train_features, torch.Tensor) else list(train_features)
        test_levels = [test_features] if isinstance(test_features, torch.Tensor) else list(test_features)
        if not train_levels or len(train_levels) != len(test_levels) or any(m.ndim != 4 for m in train_levels + test_levels):
            raise RadiobenchError("detect: feature maps must be (N, C, h, w), the same levels for train and test")
        o = self.options
        device = torch.device(device)
        scales = standardiser(train_levels)
        train_levels = [(m - mean) / std for m, (mean, std) in zip(train_levels, scales)]
        test_levels = [(m - mean) / std for m, (mean, std) in zip(test_levels, scales)]
        upsample = [upsample_stages(input_size / m.shape[-1], o["head_stride"]) for m in train_levels]
        finest = train_levels[0]  # finest first: its upsampled grid is the head's
        grid = tuple(g * 2 ** upsample[0] for g in finest.shape[-2:])
        stride = input_size / grid[-1]
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build([m.shape[1] for m in train_levels], num_classes, stride, upsample, grid).to(device)
        params = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"])
        n = len(finest)
        steps_per_epoch = math.ceil(n / o["batch_size"])
        total = max(1, steps_per_epoch * o["epochs"])
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))

        # Every image is the same size, so one set of anchor points serves all, and which box each
        # point answers for depends only on the boxes: both are computed once here, not at every step.
        anchors = anchor_points(grid, input_size).to(device)
        targets = [{k: v.to(device) for k, v in t.items()} for t in train_targets]
        matched = matched_points(model, anchors, targets)

        def forward(levels: Sequence[Any]) -> dict[str, Any]:
            return model.head([model.backbone([m.to(device) for m in levels])])

        from radiobench.progress import stage

        epoch_done = stage("detect head: this seed's epochs", o["epochs"], "epochs")  # minutes per seed on a CPU
        start = time.perf_counter()
        model.train()
        losses: list[float] = []
        for _ in range(o["epochs"]):
            order = torch.randperm(n, generator=generator)
            epoch_loss = 0.0
            for first in range(0, n, o["batch_size"]):
                rows = order[first : first + o["batch_size"]]
                picked = [int(i) for i in rows]
                loss_parts = model.head.compute_loss([targets[i] for i in picked], forward([m[rows] for m in train_levels]),
                                                     [anchors] * len(picked), [matched[i] for i in picked])
                loss = sum(loss_parts.values())
                if not torch.isfinite(loss):
                    raise RadiobenchError("detect: the head's loss became NaN or infinite; the backbone's feature map "
                                          "may hold NaN or huge values")
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                scheduler.step()
                epoch_loss += float(loss.detach()) * len(rows)
            losses.append(epoch_loss / max(1, n))
            epoch_done(1)
        train_seconds = time.perf_counter() - start

        model.eval()
        predictions: list[dict[str, np.ndarray]] = []
        with torch.inference_mode():
            for first in range(0, len(test_levels[0]), o["batch_size"]):
                levels = [m[first : first + o["batch_size"]] for m in test_levels]
                count = len(levels[0])
                found = model.postprocess_detections({k: [v] for k, v in forward(levels).items()}, [[anchors]] * count,
                                                      [(input_size, input_size)] * count)
                predictions += [{k: v.cpu().numpy() for k, v in d.items()} for d in found]
        return predictions, {
            "train_seconds": train_seconds, "seconds_per_epoch": train_seconds / o["epochs"],
            "loss_first_epoch": losses[0] if losses else None, "loss_last_epoch": losses[-1] if losses else None,
            "stride": stride, "upsample": upsample[-1], "upsample_per_level": upsample,
            "levels": [list(m.shape[1:]) for m in train_levels],
        }


def upsample_stages(map_stride: float, head_stride: float) -> int:
    """How many stride-2 stages bring a map of ``map_stride`` input pixels per cell to ``head_stride`` or finer.

    32 -> 2 (CNNs), 16 -> 1 (ViT/16), 8 -> 0 (ViT/8); EfficientNet-Lite1's 30 -> 2 (7.5 px).
    """
    return max(0, math.ceil(math.log2(map_stride / head_stride) - 1e-9))


def anchor_points(grid: tuple[int, ...], input_size: int) -> Any:
    """One anchor box per map cell, laid out as torchvision's ``AnchorGenerator`` does, at the map's true stride.

    Points sit at ``i * stride`` and each box is one stride wide, rounded to whole pixels (the
    centre sampling radius and the box coding scale with it). torchvision takes the stride as
    ``input_size // grid``: on a 32-cell map of a 240-pixel input (EfficientNet-Lite1) that is 7
    instead of 7.5, so the points stop at pixel 217 and drift off the cells they stand for. With
    an integer stride the two agree exactly.
    """
    import torch

    rows, cols = grid
    step_y, step_x = input_size / rows, input_size / cols
    half = (torch.tensor([-step_x, -step_y, step_x, step_y]) / 2).round()
    y, x = torch.meshgrid(torch.arange(rows) * step_y, torch.arange(cols) * step_x, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    return torch.stack((x, y, x, y), dim=1) + half


def matched_points(model: Any, anchors: Any, targets: list[dict[str, Any]]) -> list[Any]:
    """Per image, the index of the box each anchor point answers for (-1: background).

    torchvision's ``FCOS.compute_loss`` does this matching and then hands it to the head's loss;
    it is called here with a head that returns the matching, so the rule stays torchvision's own.
    """
    from torchvision.models.detection.fcos import FCOS

    capture = SimpleNamespace(center_sampling_radius=model.center_sampling_radius,
                              head=SimpleNamespace(compute_loss=lambda _targets, _outputs, _anchors, matched: matched))
    return FCOS.compute_loss(capture, targets, {}, [anchors] * len(targets), [len(anchors)])
