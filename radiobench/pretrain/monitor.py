"""An online monitor of a pretraining run: kNN accuracy on labelled sources carved from MiraBest's training split.

A loss curve says the optimiser is working, not that the features are getting better at anything
radio astronomers ask of them; a long run needs a signal it can be stopped on, and that signal must
never touch a test image. So each epoch the backbone that will be evaluated (DINO: the teacher's;
BYOL: the online one) embeds MiraBest Confident's *training* sources (729 FRI/FRII cutouts), split once
by a fixed seed into 80% neighbours and 20% queries, and the queries are classified by a weighted
kNN vote (cosine similarity, k = 20, weights exp(s / 0.07) as in DINO's ``eval_knn``). The test
batch is never read. The images are resized to the training input size and embedded in batches
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

from radiobench.errors import RadiobenchError

TASK = "mirabest"
SPLIT_SEED = 31  # fixed (issue 31), not the run's seed: runs of different seeds are scored on the same split
HOLDOUT = 0.2
K = 20
TEMPERATURE = 0.07
BATCH = 256


class MonitorError(RadiobenchError):
    """The monitor asked for cannot run (no MiraBest archive under the data root)."""

    exit_code = 2


@dataclass
class Monitor:
    """Labelled images at the training input size, split into kNN neighbours and queries."""

    train_images: torch.Tensor  # (N, 1, S, S) in [0, 1]
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    record: dict[str, Any] = field(default_factory=dict)

    def score(self, backbone: torch.nn.Module, device: torch.device, autocast: Any = None) -> float:
        """kNN accuracy of ``backbone``'s features on the queries (its train/eval mode is restored)."""
        bank = embed(backbone, self.train_images, device, autocast)
        queries = embed(backbone, self.val_images, device, autocast)
        predicted = knn_predict(queries, bank, self.train_labels.to(device), classes=2)
        return float((predicted.cpu() == self.val_labels).float().mean())


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
    """MiraBest's training split at ``image_size``, split 80/20 by :data:`SPLIT_SEED`."""
    from radiobench.pretrain.data import _resize

    task = _task(data_root, prepare=True)
    split = task.load_split("train")
    pixels = np.asarray(task.scale(np.asarray(split.images)), dtype=np.float32)
    if pixels.ndim == 4:
        pixels = pixels.mean(axis=1)
    images = torch.from_numpy(_resize(pixels, image_size))[:, None]
    labels = torch.as_tensor(np.asarray(split.labels), dtype=torch.long)
    order = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(len(labels)))
    n_val = round(HOLDOUT * len(labels))
    val, train = order[:n_val], order[n_val:]
    record = {"what": f"kNN accuracy (cosine similarity, k={K}, votes weighted exp(s/{TEMPERATURE})) on a seeded "
                      f"{HOLDOUT:.0%} of MiraBest Confident's training split (FRI vs FRII), the other "
                      f"{1 - HOLDOUT:.0%} as neighbours; the test split is never read",
              "task": TASK, "split": "train", "split_seed": SPLIT_SEED, "knn_train_images": int(len(train)),
              "knn_val_images": int(len(val)), "image_size": image_size, "task_data_sha256": task.data_sha256,
              "val_ids_sha256": hashlib.sha256(json.dumps([split.ids[i] for i in val.tolist()]).encode()).hexdigest()}
    return Monitor(images[train], labels[train], images[val], labels[val], record)


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
                k: int = K, temperature: float = TEMPERATURE) -> torch.Tensor:
    """Each query's class by the weighted vote of its ``k`` most cosine-similar neighbours (DINO ``knn_classifier``;
    inputs L2-normalised)."""
    similarity = queries @ bank.T
    top, index = similarity.topk(min(k, len(bank)), dim=1)
    votes = torch.zeros(len(queries), classes, device=queries.device)
    votes.scatter_add_(1, bank_labels[index], (top / temperature).exp())
    return votes.argmax(dim=1)
