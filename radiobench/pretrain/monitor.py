"""An online monitor of a pretraining run: kNN accuracy on labelled sources carved from MiraBest's training split.

A loss curve says the optimiser is working, not that the features are getting better at anything
radio astronomers ask of them; a long run needs a signal it can be stopped on, and that signal must
never touch a test image. So each epoch the backbone that will be evaluated (DINO: the teacher's;
BYOL: the online one) embeds MiraBest Confident's *training* sources (729 FRI/FRII cutouts), and
each is classified by a weighted kNN vote of the other 728 (leave-one-out; cosine similarity,
k = 20, weights exp(s / 0.07) as in DINO's ``eval_knn``). The test batch is never read. Version 1
held out a seeded 20% (146 queries): a standard error of about 0.04 on the accuracy, as large as
the gains short design runs make; leave-one-out over all 729 halves it (about 0.017), at the same
cost (one forward pass, a 729 x 729 similarity). The images are resized to the training input size and embedded in batches
under ``torch.no_grad`` in eval mode, so a score costs one forward pass over 729 small images and
changes nothing in the training (no random draws, no batch-norm statistics).

The labels are read only here; if ``task:mirabest`` is a pretraining source these images are also
among the unlabelled training images (stated in the card).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from radiobench.errors import UsageError

TASK = "mirabest"
VERSION = 2  # 2: leave-one-out over all 729 training sources (1: a seeded 80/20 split, 146 queries)
K = 20
TEMPERATURE = 0.07
BATCH = 256


class MonitorError(UsageError):
    """The monitor asked for cannot run (no MiraBest archive under the data root)."""


@dataclass
class Monitor:
    """Labelled images at the training input size, each scored against all the others."""

    images: torch.Tensor  # (N, 1, S, S) in [0, 1]
    labels: torch.Tensor
    record: dict[str, Any] = field(default_factory=dict)

    def score(self, backbone: torch.nn.Module, device: torch.device, autocast: Any = None) -> float:
        """Leave-one-out kNN accuracy of ``backbone``'s features (its train/eval mode is restored)."""
        features = embed(backbone, self.images, device, autocast)
        predicted = knn_predict(features, features, self.labels.to(device), classes=2, leave_one_out=True)
        return float((predicted.cpu() == self.labels).float().mean())


def mirabest_present(data_root: str | None) -> bool:
    """Whether the data root (``--data-root``, else $RADIOBENCH_DATA, else the default) holds the MiraBest archive."""
    return _task(data_root, prepare=False) is not None


def resolve(choice: str, data_root: str | None) -> str:
    """``auto`` -> ``mirabest`` when its archive is there, else ``none``; an explicit ``mirabest`` without it is refused."""
    if choice == "none":
        return "none"
    if mirabest_present(data_root):
        return "mirabest"
    if choice == "auto":
        return "none"
    from radiobench.io.datafiles import data_root as default_root

    raise MonitorError(f"--monitor mirabest: no MiraBest archive under {default_root(data_root or None) / 'mirabest'}; "
                       "give --data-root DIR that holds mirabest/, or --monitor none")


def load(data_root: str | None, image_size: int) -> Monitor:
    """MiraBest's training split at ``image_size`` (all 729 sources, each a query against the rest)."""
    from radiobench.pretrain.data import _resize

    task = _task(data_root, prepare=True)
    split = task.load_split("train")
    pixels = np.asarray(task.scale(np.asarray(split.images)), dtype=np.float32)
    if pixels.ndim == 4:
        pixels = pixels.mean(axis=1)
    images = torch.from_numpy(_resize(pixels, image_size))[:, None]
    labels = torch.as_tensor(np.asarray(split.labels), dtype=torch.long)
    record = {"what": f"leave-one-out kNN accuracy (cosine similarity, k={K}, votes weighted exp(s/{TEMPERATURE})) "
                      "over MiraBest Confident's training split (FRI vs FRII), each source against the others; "
                      "the test split is never read",
              "version": VERSION, "task": TASK, "split": "train", "knn_images": int(len(labels)),
              "image_size": image_size, "task_data_sha256": task.data_sha256,
              "ids_sha256": hashlib.sha256(json.dumps(list(split.ids)).encode()).hexdigest()}
    return Monitor(images, labels, record)


def _task(data_root: str | None, prepare: bool) -> Any:
    """The registered MiraBest task (prepared: archive verified) or None when its archive is not there."""
    from radiobench.io.datafiles import data_root as default_root
    from radiobench.registry import get_registry
    from radiobench.specs import resolve_factory

    reg = get_registry()
    if TASK not in reg.tasks:
        return None
    spec = reg.task(TASK).spec
    task = resolve_factory(spec.factory)(spec, **spec.options)
    root = Path(default_root(data_root or None))
    if not task.data_present(root):
        return None
    if prepare:
        task.prepare(root)
    return task


@torch.no_grad()
def embed(backbone: torch.nn.Module, images: torch.Tensor, device: torch.device, autocast: Any = None) -> torch.Tensor:
    """L2-normalised features of ``images`` (batches of :data:`BATCH`, eval mode, restored after)."""
    training = backbone.training
    backbone.eval()
    try:
        parts = []
        for start in range(0, len(images), BATCH):
            batch = images[start : start + BATCH].to(device, non_blocking=True)
            if autocast is not None:
                with autocast:
                    parts.append(backbone(batch).float())
            else:
                parts.append(backbone(batch).float())
        return F.normalize(torch.cat(parts), dim=-1)
    finally:
        backbone.train(training)


def knn_predict(queries: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor, classes: int,
                k: int = K, temperature: float = TEMPERATURE, leave_one_out: bool = False) -> torch.Tensor:
    """Each query's class by the weighted vote of its ``k`` most cosine-similar neighbours (DINO ``knn_classifier``;
    inputs L2-normalised). ``leave_one_out``: the queries are the bank, and no item votes for itself."""
    similarity = queries @ bank.T
    if leave_one_out:
        similarity.fill_diagonal_(-float("inf"))
    top, index = similarity.topk(min(k, len(bank)), dim=1)
    votes = torch.zeros(len(queries), classes, device=queries.device)
    votes.scatter_add_(1, bank_labels[index], (top / temperature).exp())
    return votes.argmax(dim=1)
