"""DINO's pieces, written after facebookresearch/dino (main_dino.py, vision_transformer.py, utils.py).

Why written here rather than imported from lightly: ``lightly`` (the maintained SSL library with a
DINO loss and head) pulls pytorch-lightning, torchmetrics' lightning-utilities, aiohttp, fsspec and
more (measured with ``pip install --dry-run lightly``; see docs/pretrain.md, "Why the DINO and BYOL losses are written here"),
for roughly 150 lines of tensor code. The loss is tested against a transcription of the published
``DINOLoss`` (tests/test_pretrain.py), and checkpoints use DINO's own key names (``backbone.``,
``head.mlp``, ``head.last_layer.weight_g/weight_v``) so the dino_mgcls loaders read them unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class WeightNormLinear(nn.Module):
    """``nn.utils.weight_norm(nn.Linear(in, out, bias=False))`` with the same parameter names
    (``weight_g`` (out, 1), ``weight_v`` (out, in)), without the deprecated hook."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        v = torch.empty(out_dim, in_dim)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))  # nn.Linear's default init
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(v.norm(dim=1, keepdim=True).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)
        return F.linear(x, weight)


class DINOHead(nn.Module):
    """MLP (3 layers, GELU) -> bottleneck -> L2 normalise -> weight-normed linear to ``out_dim`` prototypes."""

    def __init__(self, in_dim: int, out_dim: int, norm_last_layer: bool = True, nlayers: int = 3,
                 hidden_dim: int = 2048, bottleneck_dim: int = 256):
        super().__init__()
        nlayers = max(nlayers, 1)
        if nlayers == 1:
            self.mlp: nn.Module = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim), nn.GELU()]
            for _ in range(nlayers - 2):
                layers += [nn.Linear(hidden_dim, hidden_dim), nn.GELU()]
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim)
        with torch.no_grad():
            self.last_layer.weight_g.fill_(1)
        if norm_last_layer:
            self.last_layer.weight_g.requires_grad = False

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp(x)
        x = F.normalize(x, dim=-1, p=2)
        return self.last_layer(x)


class MultiCropWrapper(nn.Module):
    """Backbone + head over a list of crops; crops of one resolution go through the backbone together."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, crops: list[torch.Tensor]) -> torch.Tensor:
        sizes = torch.tensor([c.shape[-1] for c in crops])
        ends = torch.cumsum(torch.unique_consecutive(sizes, return_counts=True)[1], 0)
        start, outputs = 0, []
        for end in ends.tolist():
            outputs.append(self.backbone(torch.cat(crops[start:end])))
            start = end
        return self.head(torch.cat(outputs))


class DINOLoss(nn.Module):
    """Cross-entropy between the sharpened, centred teacher softmax on the 2 global crops and the
    student softmax on every other crop (facebookresearch/dino ``DINOLoss``, one process)."""

    def __init__(self, out_dim: int, ncrops: int, warmup_teacher_temp: float, teacher_temp: float,
                 warmup_teacher_temp_epochs: int, nepochs: int, student_temp: float = 0.1,
                 center_momentum: float = 0.9):
        super().__init__()
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.ncrops = ncrops
        self.register_buffer("center", torch.zeros(1, out_dim))
        warm = min(warmup_teacher_temp_epochs, nepochs)
        self.teacher_temp_schedule = np.concatenate((
            np.linspace(warmup_teacher_temp, teacher_temp, warm),
            np.ones(nepochs - warm) * teacher_temp,
        ))

    def forward(self, student_output: torch.Tensor, teacher_output: torch.Tensor, epoch: int) -> torch.Tensor:
        student_out = (student_output / self.student_temp).chunk(self.ncrops)
        temp = float(self.teacher_temp_schedule[epoch])
        teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1).detach().chunk(2)
        total, terms = student_output.new_zeros(()), 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:  # no loss between a global crop and itself
                    continue
                total = total + torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1).mean()
                terms += 1
        self.update_center(teacher_output)
        return total / terms

    @torch.no_grad()
    def update_center(self, teacher_output: torch.Tensor) -> None:
        batch_center = teacher_output.float().sum(dim=0, keepdim=True) / len(teacher_output)
        self.center = self.center * self.center_momentum + batch_center * (1 - self.center_momentum)


def cosine_schedule(base_value: float, final_value: float, epochs: int, niter_per_ep: int,
                    warmup_epochs: int = 0, start_warmup_value: float = 0.0) -> np.ndarray:
    """Per-iteration values: linear warm-up, then a half cosine from ``base_value`` to ``final_value`` (DINO utils)."""
    warmup_iters = warmup_epochs * niter_per_ep
    warmup = np.linspace(start_warmup_value, base_value, warmup_iters) if warmup_iters > 0 else np.array([])
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = final_value + 0.5 * (base_value - final_value) * (1 + np.cos(np.pi * iters / max(len(iters), 1)))
    return np.concatenate((warmup, schedule))


def param_groups(model: nn.Module) -> list[dict]:
    """Weight decay on weights only, not on biases and norm parameters (DINO ``get_params_groups``)."""
    regularized, not_regularized = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (not_regularized if name.endswith(".bias") or param.ndim == 1 else regularized).append(param)
    return [{"params": regularized}, {"params": not_regularized, "weight_decay": 0.0}]


def clip_gradients(model: nn.Module, clip: float) -> None:
    """Per-parameter gradient-norm clipping, as DINO's ``clip_gradients`` (each gradient times
    min(1, clip / (norm + 1e-6))), in fused calls: DINO's ``if clip_coef < 1`` reads every norm back
    from the GPU, one wait per parameter tensor per step."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    norms = torch.stack(torch._foreach_norm(grads, 2))
    coefs = torch.clamp(clip / (norms + 1e-6), max=1.0)
    torch._foreach_mul_(grads, list(coefs.to(grads[0].dtype).unbind()))


def cancel_last_layer_gradients(epoch: int, model: nn.Module, freeze_last_layer: int) -> None:
    if epoch >= freeze_last_layer:
        return
    for name, p in model.named_parameters():
        if "last_layer" in name:
            p.grad = None
