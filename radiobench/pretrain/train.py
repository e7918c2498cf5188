"""The DINO training loop of ``radiobench pretrain``: checkpoints every epoch, exact resume.

Exactness: the model is initialised from ``seed``; each epoch draws its image order, its crops
and any stochastic depth from generators seeded by (seed, epoch); the optimizer state, the loss
centre and the history are in the per-epoch checkpoint. So a run killed after epoch k and
resumed gives bit-identical weights to one never interrupted (on the same device and threads).

Files in ``--output``: ``checkpoint.pth`` (full DINO training checkpoint: student, teacher,
optimizer, epoch, args, dino_loss; written atomically after every epoch), and when training ends
``teacher.pth`` (the teacher alone, DINO layout: what `radiobench run` reads), ``loss_curve.png``
and ``card.json`` (written last: its presence means the run finished).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radiobench.errors import RadiobenchError
from radiobench.io.atomic import open_atomic, write_text_atomic
from radiobench.pretrain import card as cards
from radiobench.pretrain.augment import MultiCrop
from radiobench.pretrain.dino import (DINOHead, DINOLoss, MultiCropWrapper, cancel_last_layer_gradients, clip_gradients,
                                      cosine_schedule, param_groups)

CHECKPOINT = "checkpoint.pth"


@dataclass
class PretrainConfig:
    """Every setting of a run; ``--config FILE`` (TOML) sets any of them, command-line flags win."""

    arch: str = "vit_tiny_patch16_224"
    data: list[str] = field(default_factory=list)
    output: str = ""
    method: str = "dino"
    name: str = ""  # backbone name on the leaderboard (default: dino_<arch>_<size>px_<dir name>)
    epochs: int = 10
    batch_size: int = 64
    image_size: int = 64  # global crops; local crops are local_size
    local_size: int = 0  # 0: image_size * 3 / 7 (DINO's 96 for 224), at least 16
    local_crops: int = 4
    stored_size: int = 0  # every source resized to this before cropping (0: 1.5 x image_size)
    fits_crop: int = 256
    max_images: int = 0  # 0: all; else a seeded random subset of this many
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    seed: int = 0
    resume: bool = False
    data_root: str = ""
    training_data: list[str] = field(default_factory=list)  # override of the surveys derived from the sources
    # DINO hyper-parameters (facebookresearch/dino defaults unless the config says otherwise)
    out_dim: int = 4096
    hidden_dim: int = 2048
    bottleneck_dim: int = 256
    norm_last_layer: bool = True
    lr: float = 5e-4  # at batch 256, scaled linearly
    min_lr: float = 1e-6
    warmup_epochs: int = 1
    weight_decay: float = 0.04
    weight_decay_end: float = 0.4
    momentum_teacher: float = 0.996
    teacher_temp: float = 0.04
    warmup_teacher_temp: float = 0.04
    warmup_teacher_temp_epochs: int = 0
    freeze_last_layer: int = 1
    clip_grad: float = 3.0
    drop_path_rate: float = 0.1

    @classmethod
    def fields(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def derived(self) -> PretrainConfig:
        out = dataclasses.replace(self)
        out.local_size = self.local_size or max(16, round(self.image_size * 3 / 7))
        out.stored_size = self.stored_size or round(self.image_size * 1.5)
        if not out.name:
            out.name = f"dino_{self.arch}_{self.image_size}px_{Path(self.output).name}".replace("/", "_")
        return out

    def check(self) -> None:
        if self.method != "dino":
            raise RadiobenchError(f"--method {self.method!r}: only dino is implemented")
        if not self.output:
            raise RadiobenchError("--output DIR is required")
        for name in ("epochs", "batch_size", "image_size", "fits_crop"):
            if getattr(self, name) <= 0:
                raise RadiobenchError(f"--{name.replace('_', '-')} must be positive")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise RadiobenchError(f"--precision {self.precision!r}: use bf16, fp32 or auto")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise RadiobenchError(f"--device {self.device!r}: use auto, cpu or cuda")


def load_config(path: str | Path) -> dict[str, Any]:
    import tomllib

    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RadiobenchError(f"--config {path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RadiobenchError(f"--config {path}: {exc}") from None
    values = {k.replace("-", "_"): v for k, v in raw.items() if k != "comment"}
    unknown = set(values) - PretrainConfig.fields()
    if unknown:
        raise RadiobenchError(f"--config {path}: unknown settings {', '.join(sorted(unknown))}")
    return values


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RadiobenchError("--device cuda: no CUDA device here; use --device cpu")
    return torch.device(name)


def build(arch: str, image_size: int, drop_path_rate: float, seed: int) -> torch.nn.Module:
    import timm

    from radiobench.models.backbone import seeded

    kwargs: dict[str, Any] = dict(cards.model_kwargs(arch, image_size))
    if "img_size" in kwargs:
        kwargs["dynamic_img_size"] = True  # local crops are smaller: position embeddings interpolated, as DINO does
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        with seeded(seed):
            return timm.create_model(arch, pretrained=False, num_classes=0, in_chans=1, **kwargs)
    except (RuntimeError, TypeError) as exc:
        raise RadiobenchError(f"--arch {arch!r}: timm cannot build it ({exc})") from None


def _epoch_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 7 + stream) % (2**63))


def train(config: PretrainConfig, stop_after: int | None = None, console: Any = None) -> Path:
    """Run (or resume) the pretraining; returns the output folder. ``stop_after``: end after that many
    epochs in total without finishing the run (tests use it to stand in for a kill)."""
    from radiobench.pretrain.data import load_sources

    cfg = config.derived()
    cfg.check()
    out = Path(cfg.output).expanduser()
    ckpt_path = out / CHECKPOINT
    if (out / cards.CARD).exists() and not cfg.resume:
        raise RadiobenchError(f"{out} already holds a finished run (card.json); choose another --output")
    if ckpt_path.exists() and not cfg.resume:
        raise RadiobenchError(f"{out} holds an unfinished run ({CHECKPOINT}); pass --resume to continue it, "
                              "or choose another --output")
    if (out / cards.CARD).exists():
        say(console, f"{out}: already finished ({cards.CARD}); nothing to do")
        return out
    device = _device(cfg.device)
    precision = cfg.precision if cfg.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")

    started = time.time()
    say(console, f"reading {len(cfg.data)} data source(s)")
    data = load_sources(cfg.data, cfg.stored_size, cfg.fits_crop, cfg.data_root or None,
                        on_source=lambda s: say(console, f"  {s}"))
    images = data.images
    if cfg.max_images and len(images) > cfg.max_images:
        rows = np.sort(np.random.default_rng(cfg.seed).choice(len(images), cfg.max_images, replace=False))
        images = images[rows]
    if len(images) < cfg.batch_size:
        raise RadiobenchError(f"{len(images)} images found, fewer than --batch-size {cfg.batch_size}; "
                              "give more data or a smaller batch")
    identity = data.identity()
    identity.update(used_images=int(len(images)), used_pixels_sha256=_sha(images), max_images=cfg.max_images)
    say(console, f"{len(images)} images of {cfg.stored_size}x{cfg.stored_size} ({', '.join(data.training_data) or 'unnamed surveys'})")

    student_bb = build(cfg.arch, cfg.image_size, cfg.drop_path_rate, cfg.seed)
    teacher_bb = build(cfg.arch, cfg.image_size, 0.0, cfg.seed)
    embed_dim = int(student_bb.num_features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        student = MultiCropWrapper(student_bb, DINOHead(embed_dim, cfg.out_dim, cfg.norm_last_layer,
                                                        hidden_dim=cfg.hidden_dim, bottleneck_dim=cfg.bottleneck_dim))
    teacher = MultiCropWrapper(teacher_bb, DINOHead(embed_dim, cfg.out_dim, hidden_dim=cfg.hidden_dim,
                                                    bottleneck_dim=cfg.bottleneck_dim))
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    student.to(device), teacher.to(device)
    ncrops = 2 + cfg.local_crops
    loss_fn = DINOLoss(cfg.out_dim, ncrops, cfg.warmup_teacher_temp, cfg.teacher_temp,
                       cfg.warmup_teacher_temp_epochs, cfg.epochs).to(device)
    optimizer = torch.optim.AdamW(param_groups(student))
    niter = len(images) // cfg.batch_size
    lr_schedule = cosine_schedule(cfg.lr * cfg.batch_size / 256, cfg.min_lr, cfg.epochs, niter,
                                  warmup_epochs=min(cfg.warmup_epochs, cfg.epochs - 1))
    wd_schedule = cosine_schedule(cfg.weight_decay, cfg.weight_decay_end, cfg.epochs, niter)
    momentum_schedule = cosine_schedule(cfg.momentum_teacher, 1.0, cfg.epochs, niter)
    multicrop = MultiCrop(cfg.image_size, cfg.local_size, cfg.local_crops)
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("resume",)}

    start_epoch, history, wall_before = 0, {"epoch_loss": [], "step_loss": [], "lr": []}, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        previous = state["args"]
        for key in ("arch", "image_size", "local_size", "local_crops", "epochs", "batch_size", "seed", "out_dim"):
            if previous.get(key) != settings.get(key):
                raise RadiobenchError(f"--resume: {ckpt_path} was trained with {key}={previous.get(key)!r}, not "
                                      f"{settings.get(key)!r}; resume with the same settings or another --output")
        if state["data"]["used_pixels_sha256"] != identity["used_pixels_sha256"]:
            raise RadiobenchError(f"--resume: the data differ from those {ckpt_path} was trained on "
                                  "(pixels sha256); resume with the same --data")
        student.load_state_dict(state["student"]), teacher.load_state_dict(state["teacher"])
        optimizer.load_state_dict(state["optimizer"]), loss_fn.load_state_dict(state["dino_loss"])
        start_epoch, history, wall_before = int(state["epoch"]), state["history"], float(state["wall_seconds"])
        say(console, f"resuming after epoch {start_epoch} of {cfg.epochs}")
    out.mkdir(parents=True, exist_ok=True)

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    pixels = torch.from_numpy(images)
    progress = _progress(console)
    wall_start = time.time()
    with progress:
        bar = progress.add_task("DINO", total=(cfg.epochs - start_epoch) * niter, loss=float("nan"), lr=0.0, ips=0.0)
        for epoch in range(start_epoch, cfg.epochs if stop_after is None else min(stop_after, cfg.epochs)):
            order = torch.randperm(len(pixels), generator=_epoch_generator(cfg.seed, epoch, 0))
            crops_rng = _epoch_generator(cfg.seed, epoch, 1)
            torch.manual_seed(int(_epoch_generator(cfg.seed, epoch, 2).initial_seed() % 2**31))  # stochastic depth
            losses, tick = [], time.time()
            for it in range(niter):
                step = epoch * niter + it
                for i, group in enumerate(optimizer.param_groups):
                    group["lr"] = float(lr_schedule[step])
                    if i == 0:
                        group["weight_decay"] = float(wd_schedule[step])
                batch = pixels[order[it * cfg.batch_size : (it + 1) * cfg.batch_size]]
                crops = [c.to(device, non_blocking=True) for c in multicrop(batch, crops_rng)]
                with autocast:
                    teacher_out = teacher(crops[:2])
                    student_out = student(crops)
                loss = loss_fn(student_out.float(), teacher_out.float(), epoch)
                if not torch.isfinite(loss):
                    raise RadiobenchError(f"loss is {loss.item()} at epoch {epoch + 1}, step {it + 1}; lower --lr "
                                          "or use --precision fp32")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.clip_grad:
                    clip_gradients(student, cfg.clip_grad)
                cancel_last_layer_gradients(epoch, student, cfg.freeze_last_layer)
                optimizer.step()
                with torch.no_grad():
                    m = float(momentum_schedule[step])
                    for ps, pt in zip(student.parameters(), teacher.parameters()):
                        pt.mul_(m).add_(ps.detach(), alpha=1 - m)
                losses.append(loss.item())
                history["step_loss"].append(losses[-1])
                history["lr"].append(float(lr_schedule[step]))
                done = (it + 1) * cfg.batch_size
                progress.update(bar, advance=1, loss=losses[-1], lr=float(lr_schedule[step]),
                                ips=done / max(time.time() - tick, 1e-9))
                if console is not None and not console.is_terminal and (it + 1) % 20 == 0:  # logs: a line now and then
                    say(console, f"  epoch {epoch + 1} step {it + 1}/{niter}: loss {losses[-1]:.4f}, "
                                 f"lr {lr_schedule[step]:.2e}, {done / (time.time() - tick):.1f} images/s")
            history["epoch_loss"].append(float(np.mean(losses)))
            say(console, f"epoch {epoch + 1}/{cfg.epochs}: loss {history['epoch_loss'][-1]:.4f}, "
                         f"{niter * cfg.batch_size / (time.time() - tick):.1f} images/s")
            checkpoint = {
                "student": student.state_dict(), "teacher": teacher.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": epoch + 1, "args": settings, "dino_loss": loss_fn.state_dict(), "history": history,
                "data": identity, "wall_seconds": wall_before + time.time() - wall_start,
            }
            _save(checkpoint, ckpt_path)
    if stop_after is not None and stop_after < cfg.epochs:
        return out
    wall = wall_before + time.time() - wall_start
    _finish(out, cfg, teacher, embed_dim, history, identity, data.training_data, multicrop, device, precision, wall,
            time.time() - started)
    say(console, f"done: {out / cards.TEACHER}, card {out / cards.CARD}, loss curve {out / 'loss_curve.png'}")
    return out


def _sha(array: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _save(obj: Any, path: Path) -> None:
    with open_atomic(path, "wb") as handle:
        torch.save(obj, handle)


def _finish(out: Path, cfg: PretrainConfig, teacher: torch.nn.Module, embed_dim: int, history: dict, identity: dict,
            surveys: tuple[str, ...], multicrop: MultiCrop, device: torch.device, precision: str, wall: float,
            total: float) -> None:
    from radiobench.io.download import sha256_file

    teacher_state = {k: v.detach().cpu() for k, v in teacher.state_dict().items()}
    _save({"teacher": teacher_state, "epoch": cfg.epochs, "args": {k: v for k, v in dataclasses.asdict(cfg).items()
                                                                   if k != "resume"}}, out / cards.TEACHER)
    plot_loss(history, out / "loss_curve.png", title=f"DINO {cfg.arch} {cfg.image_size}px, {identity['used_images']} images")
    hardware = {"device": str(device), "precision": precision, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                "cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor() or None}
    if device.type == "cuda":
        hardware["gpu"] = torch.cuda.get_device_name(device)
    from radiobench import __version__

    card = {
        "format": cards.FORMAT, "name": cfg.name, "method": "dino", "arch": cfg.arch, "embed_dim": embed_dim,
        "image_size": cfg.image_size, "checkpoint": cards.TEACHER, "sha256": sha256_file(out / cards.TEACHER),
        "training_data": list(cfg.training_data or surveys), "data": identity, "epochs": cfg.epochs, "seed": cfg.seed,
        "batch_size": cfg.batch_size, "augmentations": multicrop.describe(),
        "settings": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "resume"},
        "final_loss": history["epoch_loss"][-1], "loss_per_epoch": history["epoch_loss"],
        "train_seconds": round(wall, 1), "wall_seconds_this_process": round(total, 1), "hardware": hardware,
        "radiobench_version": __version__, "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text_atomic(out / cards.CARD, json.dumps(card, indent=2) + "\n")


def plot_loss(history: dict, path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["step_loss"])
    epochs = len(history["epoch_loss"])
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    if len(steps):
        per_epoch = len(steps) / max(epochs, 1)
        ax.plot(np.arange(1, len(steps) + 1) / per_epoch, steps, lw=0.6, alpha=0.5, label="step (batch)")
    ax.plot(np.arange(epochs) + 0.5, history["epoch_loss"], "o-", lw=1.5, ms=3, label="epoch mean")
    ax.set_xlabel("epoch")
    ax.set_ylabel("DINO loss")
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False)
    fig.tight_layout()
    with open_atomic(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}  lr {task.fields[lr]:.2e}  {task.fields[ips]:.1f} img/s"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
                    disable=console is None)


def say(console: Any, text: str) -> None:
    if console is not None:
        console.print(text, highlight=False)
