"""BYOL's pieces (Grill et al. 2020, "Bootstrap your own latent", NeurIPS 33, arXiv:2006.07733).

BYOL is the method of the RGZ BYOL family (Slijepcevic et al. 2024, RASTI 3, 19: a ResNet-18-class
encoder on radio galaxies with radio-specific augmentations), so ``radiobench pretrain --method byol``
trains it beside DINO with the same data, crops, card, checkpoints, resume and evaluation.

- online network: backbone -> projector (Linear, BatchNorm, ReLU, Linear: ``hidden_dim`` -> ``projection_dim``;
  the paper's 4096 -> 256, 2048 hidden by default here for the small encoders radiobench trains) -> predictor
  (the same MLP shape, ``projection_dim`` -> ``projection_dim``);
- target network: backbone -> projector, an exponential moving average of the online ones, tau rising from
  ``momentum_teacher`` (the paper's 0.996) to 1 on a cosine schedule, the same schedule as DINO's teacher;
- loss: 2 - 2 cos(predictor(online(v1)), sg(target(v2))), symmetrised over the two views and *averaged*
  (the paper sums the two terms; the mean keeps the value on the per-term 0-4 scale, and Adam's update
  does not see a constant factor).

Which encoder is evaluated: the **online** backbone, as the paper does ("at the end of training we only keep
the encoder f_theta", Sec. 3.1) and as Slijepcevic et al. do. The target only trails it (an average of past
online weights, which lags most when tau is low early in training), so the online one is the encoder the
loss shaped. ``teacher.pth`` holds it in DINO's teacher layout (``{"teacher": {"backbone.*": ...}}``) so that
``pretrained:DIR`` loads it with the same converter; the card says ``"evaluated_encoder": "online"``.

Why written here rather than imported from lightly: the same reason as DINO (radiobench.pretrain.dino:
``lightly`` pulls pytorch-lightning, lightning-utilities, aiohttp, fsspec and more, measured with ``pip install
--dry-run lightly``) for some 60 lines of tensor code.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """BYOL's projector/predictor: Linear -> BatchNorm1d -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


class Projected(nn.Module):
    """Backbone + projector; the key names (``backbone.``, ``head.``) are DINO's wrapper's, so checkpoints and the
    evaluation's converter treat both methods alike. The target network is one of these."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(views))


class Online(Projected):
    """Backbone + projector + predictor: what the optimiser trains."""

    def __init__(self, backbone: nn.Module, head: nn.Module, predictor: nn.Module):
        super().__init__(backbone, head)
        self.predictor = predictor

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        return self.predictor(super().forward(views))

    def tracked(self) -> list[nn.Parameter]:
        """The parameters the target averages (backbone and projector, not the predictor), in the target's order."""
        return [*self.backbone.parameters(), *self.head.parameters()]


def build_networks(backbone: nn.Module, target_backbone: nn.Module, embed_dim: int, hidden_dim: int,
                   projection_dim: int) -> tuple[Online, Projected]:
    """The online network and its target, which starts as a copy of the online backbone and projector."""
    online = Online(backbone, mlp(embed_dim, hidden_dim, projection_dim), mlp(projection_dim, hidden_dim, projection_dim))
    target = Projected(target_backbone, mlp(embed_dim, hidden_dim, projection_dim))
    target.load_state_dict({k: v for k, v in online.state_dict().items() if not k.startswith("predictor.")})
    for p in target.parameters():
        p.requires_grad = False
    return online, target


def regression_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """2 - 2 cos(p, z) per row (the squared distance of the L2-normalised vectors), gradient stopped at ``target``."""
    p, z = F.normalize(prediction, dim=-1), F.normalize(target.detach(), dim=-1)
    return 2 - 2 * (p * z).sum(dim=-1)


def byol_loss(online_out: torch.Tensor, target_out: torch.Tensor) -> torch.Tensor:
    """The symmetrised BYOL loss of (2B, d) predictions and (2B, d) target projections, each the first view's B
    rows then the second's: the mean over rows of p(v1) against z(v2) and p(v2) against z(v1)."""
    p1, p2 = online_out.chunk(2)
    z1, z2 = target_out.chunk(2)
    return 0.5 * (regression_loss(p1, z2).mean() + regression_loss(p2, z1).mean())


class BYOLLoss(nn.Module):
    """:func:`byol_loss` as a module with the DINO loss's call signature (it keeps no state: no centre)."""

    def forward(self, online_out: torch.Tensor, target_out: torch.Tensor, epoch: int = 0) -> torch.Tensor:
        return byol_loss(online_out, target_out)


@torch.no_grad()
def ema_update(online: Iterable[torch.Tensor], target: Iterable[torch.Tensor], tau: float) -> None:
    """target <- tau * target + (1 - tau) * online, for all pairs in one fused call per list (no per-tensor
    Python loop of kernels: this runs every step)."""
    online, target = list(online), list(target)
    torch._foreach_mul_(target, tau)
    torch._foreach_add_(target, [p.detach() for p in online], alpha=1 - tau)
