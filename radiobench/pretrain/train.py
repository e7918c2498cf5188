"""The training loop of ``radiobench pretrain`` (DINO, or BYOL with ``--method byol``): checkpoints every
epoch, exact resume, and a kNN monitor each epoch (radiobench.pretrain.monitor).

Both methods share everything but the networks and the loss: the data, the batched multi-crop (BYOL takes
its two global crops), the cosine schedules, AdamW, the EMA of the teacher/target, the checkpoint layout
(``student``/``teacher`` are BYOL's online and target networks) and the card. One step is
:func:`train_step`, which benchmarks/pretrain_throughput.py times against the bare model.

Exactness: the model is initialised from ``seed``; each epoch draws its image order, its crops
and any stochastic depth from generators seeded by (seed, epoch); the optimizer state, the loss
centre and the history are in the per-epoch checkpoint. So a run killed after epoch k and
resumed gives bit-identical weights to one never interrupted (on the same device and threads).

Nothing is done before everything that can be checked is: the settings (radiobench.pretrain.settings),
the output folder (a folder, writable), the sources (they list image files; tasks exist), the
architecture (it builds, and takes crops of both sizes), and on ``--resume`` the checkpoint (readable,
consistent, of this model, trained with the same settings but those that may change). Only then are
the data read, and only once they are read is the output folder made.

Files in ``--output``: ``checkpoint.pth`` (full DINO training checkpoint: student, teacher,
optimizer, epoch, args, dino_loss; written atomically after every epoch, so a full disk leaves the
previous one), and when training ends ``teacher.pth`` (the evaluated encoder in DINO's teacher layout:
DINO's teacher, BYOL's online backbone; what `radiobench run` reads), ``loss_curve.png`` and ``card.json`` (written last: its presence means the
run finished).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radiobench.errors import RadiobenchError, did_you_mean
from radiobench.io.atomic import open_atomic, write_text_atomic
from radiobench.io.folders import check_writable_folder, is_disk_full
from radiobench.pretrain import card as cards
from radiobench.pretrain import checkpoint as checkpoints
from radiobench.pretrain import monitor as monitors
from radiobench.pretrain.augment import MultiCrop
from radiobench.pretrain.byol import BYOLLoss, Online, build_networks, ema_update
from radiobench.pretrain.checkpoint import CHECKPOINT, Resumed
from radiobench.pretrain.dino import (DINOHead, DINOLoss, MultiCropWrapper, cancel_last_layer_gradients, clip_gradients,
                                      cosine_schedule, param_groups)
from radiobench.pretrain.settings import PretrainConfig, PretrainConfigError, default_local_size, resume_differences, validated

__all__ = ["CHECKPOINT", "PretrainConfig", "train"]

# Settings added with BYOL (issue 31): a checkpoint written before them is read as having their defaults
ADDED_WITH_BYOL = ("byol_hidden_dim", "byol_projection_dim")

# Each schedule (lr, weight decay, momentum) is an array of one float per step, and the history keeps a loss
# and a learning rate per step: 10 M steps (100x DINO's ViT-S/16 ImageNet run) is ~0.5 GB of them.
MAX_STEPS = 10_000_000


class PretrainWriteError(RadiobenchError):
    """The output folder cannot take a file (disk full, read-only, gone); the previous checkpoint is kept."""


@dataclass
class Models:
    """What one run trains, built before any data are read. DINO: student and teacher (backbone + DINO head);
    BYOL: the online network (backbone + projector + predictor) as ``student``, the target as ``teacher``."""

    student: torch.nn.Module
    teacher: torch.nn.Module
    embed_dim: int
    optimizer: torch.optim.Optimizer
    loss_fn: torch.nn.Module
    method: str = "dino"

    def averaged(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(student parameters, the teacher parameters that follow them by EMA), in matching order."""
        tracked = self.student.tracked() if isinstance(self.student, Online) else list(self.student.parameters())
        return tracked, list(self.teacher.parameters())

    def evaluated_backbone(self) -> torch.nn.Module:
        """The backbone ``teacher.pth`` holds and ``pretrained:DIR`` evaluates: DINO's teacher, BYOL's online one
        (radiobench.pretrain.byol says why)."""
        return self.student.backbone if self.method == "byol" else self.teacher.backbone


@dataclass
class Schedules:
    """Per-step learning rate, weight decay and teacher/target momentum (DINO's cosine schedules, for both methods)."""

    lr: np.ndarray
    weight_decay: np.ndarray
    momentum: np.ndarray

    @classmethod
    def of(cls, cfg: PretrainConfig, niter: int) -> Schedules:
        return cls(cosine_schedule(cfg.lr * cfg.batch_size / 256, cfg.min_lr, cfg.epochs, niter,
                                   warmup_epochs=min(cfg.warmup_epochs, cfg.epochs - 1)),
                   cosine_schedule(cfg.weight_decay, cfg.weight_decay_end, cfg.epochs, niter),
                   cosine_schedule(cfg.momentum_teacher, 1.0, cfg.epochs, niter))


def train_step(models: Models, cfg: PretrainConfig, schedules: Schedules, multicrop: MultiCrop, batch: torch.Tensor,
               generator: torch.Generator, epoch: int, step: int, autocast: Any) -> float:
    """One step of the loop, as the loop runs it (benchmarks/pretrain_throughput.py times this very function):
    schedules, crops of ``batch`` ((B, H, W) on the training device), forward, loss, backward, clipping,
    optimiser step, EMA of the teacher/target. Returns the loss, read back once, at the end."""
    for i, group in enumerate(models.optimizer.param_groups):
        group["lr"] = float(schedules.lr[step])
        if i == 0:
            group["weight_decay"] = float(schedules.weight_decay[step])
    crops = multicrop(batch, generator)
    if models.method == "byol":
        views = torch.cat(crops[:2])  # both views in one pass: (2B, 1, S, S), first view's rows first
        with autocast:
            online_out = models.student(views)
            with torch.no_grad():
                target_out = models.teacher(views)
        loss = models.loss_fn(online_out.float(), target_out.float(), epoch)
    else:
        with autocast:
            teacher_out = models.teacher(crops[:2])
            student_out = models.student(crops)
        loss = models.loss_fn(student_out.float(), teacher_out.float(), epoch)
    models.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.clip_grad:
        clip_gradients(models.student, cfg.clip_grad)
    if models.method == "dino":
        cancel_last_layer_gradients(epoch, models.student, cfg.freeze_last_layer)
    models.optimizer.step()
    ema_update(*models.averaged(), float(schedules.momentum[step]))
    value = loss.item()
    if not np.isfinite(value):
        raise RadiobenchError(f"loss is {value} at epoch {epoch + 1}, step {step + 1}; lower --lr or use --precision fp32")
    return value


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise PretrainConfigError(f"--device {name}: no CUDA device here; use --device cpu")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise PretrainConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                                  f"numbered from 0; use --device cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return device


def build(arch: str, image_size: int, drop_path_rate: float, seed: int) -> torch.nn.Module:
    import timm

    from radiobench.models.backbone import seeded

    if not timm.is_model(arch):
        hint = did_you_mean(arch, timm.list_models()) or "`python -c 'import timm; print(timm.list_models())'` lists them. "
        raise PretrainConfigError(f"--arch {arch!r}: timm has no such architecture. {hint.strip()}")
    kwargs: dict[str, Any] = dict(cards.model_kwargs(arch, image_size))
    if "img_size" in kwargs:
        kwargs["dynamic_img_size"] = True  # local crops are smaller: position embeddings interpolated, as DINO does
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        with seeded(seed):
            return timm.create_model(arch, pretrained=False, num_classes=0, in_chans=1, **kwargs)
    except Exception as exc:  # noqa: BLE001 - timm raises RuntimeError, TypeError, AssertionError... for a bad combination
        raise PretrainConfigError(f"--arch {arch!r}: timm cannot build it ({type(exc).__name__}: {_first_line(exc)})") from None


def patch_size(backbone: torch.nn.Module) -> int:
    """A ViT's patch side (crops must be multiples of it); 1 for architectures without patches."""
    size = getattr(getattr(backbone, "patch_embed", None), "patch_size", None)
    if isinstance(size, (tuple, list)):
        size = max(size)
    return int(size) if isinstance(size, int) and size > 0 else 1


def fit_to_arch(cfg: PretrainConfig, backbone: torch.nn.Module) -> None:
    """Fill the default local crop size for this architecture, then refuse crop sizes it cannot take: not
    multiples of a ViT's patch, or failing a forward pass of one blank crop (any other constraint)."""
    patch = patch_size(backbone)
    cfg.local_size = cfg.local_size or default_local_size(cfg.image_size, patch)
    sizes = {"image_size": cfg.image_size, "local_size": cfg.local_size}
    off = {k: v for k, v in sizes.items() if v % patch}
    if off:
        fix = ", ".join(f"{k}={max(patch, round(v / patch) * patch)}" for k, v in off.items())
        raise PretrainConfigError(f"{', '.join(f'{k}={v}' for k, v in off.items())}: not a multiple of {cfg.arch}'s "
                                  f"patch size {patch}; use e.g. {fix}")
    training = backbone.training
    backbone.eval()
    try:
        for size in dict.fromkeys(sizes.values()):
            with torch.no_grad():
                backbone(torch.zeros(1, 1, size, size))
    except Exception as exc:  # noqa: BLE001 - whatever the architecture objects to, it is the crop size
        raise PretrainConfigError(f"--arch {cfg.arch} cannot take {size}x{size} crops ({type(exc).__name__}: "
                                  f"{_first_line(exc)}); choose another --image-size or --local-size") from None
    finally:
        backbone.train(training)


def _first_line(exc: BaseException) -> str:
    line = next((l.strip() for l in str(exc).splitlines() if l.strip()), "")
    return line if len(line) <= 200 else line[:197] + "..."


def _epoch_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 7 + stream) % (2**63))


def check_output(out: Path, resume: bool) -> None:
    """Refuse, creating nothing, an --output that is a file, lies under a file, cannot be written, or holds a
    run this command would overwrite."""
    if out.exists() and not out.is_dir():
        raise PretrainConfigError(f"--output {out} is a file, not a folder; give the run folder's path")
    try:
        check_writable_folder(out, "--output")
    except RadiobenchError as exc:
        raise PretrainConfigError(str(exc)) from None
    card = out / cards.CARD
    if os.path.lexists(card) and not card.is_file():
        raise PretrainConfigError(f"{card} is not a regular file (a run's card is); delete it, or choose another --output")
    if resume:
        return
    if os.path.lexists(card):
        raise PretrainConfigError(f"{out} already holds a finished run ({cards.CARD}); choose another --output")
    if os.path.lexists(out / CHECKPOINT):
        raise PretrainConfigError(f"{out} holds an unfinished run ({CHECKPOINT}); pass --resume to continue it, "
                                  "or choose another --output")


def settings_of(cfg: PretrainConfig) -> dict[str, Any]:
    """The settings a checkpoint and card record: all but the --resume switch."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k != "resume"}


def train(config: PretrainConfig, stop_after: int | None = None, console: Any = None) -> Path:
    """Run (or resume) the pretraining; returns the output folder. ``stop_after``: end after that many
    epochs in total without finishing the run (tests use it to stand in for a kill)."""
    from radiobench.pretrain.data import check_sources, load_sources

    cfg = validated(dataclasses.asdict(config)).derived()
    out = Path(cfg.output).expanduser()
    ckpt_path = out / CHECKPOINT
    check_output(out, cfg.resume)
    if (out / cards.CARD).exists():
        say(console, f"{out}: already finished ({cards.CARD}); nothing to do")
        return out
    check_sources(cfg.data, cfg.data_root or None)
    cfg.monitor = monitors.resolve(cfg.monitor, cfg.data_root or None)
    device = _device(cfg.device)
    requested_precision = cfg.precision
    cfg.precision = cfg.precision if cfg.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    models = _build(cfg, device)
    resumed = None
    if cfg.resume and os.path.lexists(ckpt_path):
        resumed = _resume(cfg, ckpt_path, models, requested_precision, console)
    elif cfg.resume:
        say(console, f"--resume: no {CHECKPOINT} in {out}; starting the run")
    settings = settings_of(cfg)

    started = time.time()
    say(console, f"reading {len(cfg.data)} data source(s)")
    with _reading(console) as (on_source, on_file):
        data = load_sources(cfg.data, cfg.stored_size, cfg.fits_crop, cfg.data_root or None,
                            on_source=on_source, on_file=on_file)
    images = data.images
    if cfg.max_images and len(images) > cfg.max_images:
        rows = np.sort(np.random.default_rng(cfg.seed).choice(len(images), cfg.max_images, replace=False))
        images = images[rows]
    if len(images) < cfg.batch_size:
        raise RadiobenchError(f"{len(images)} images found, fewer than --batch-size {cfg.batch_size}; "
                              "give more data or a smaller batch")
    monitor = None
    if cfg.monitor == "mirabest":
        say(console, "reading the monitor's labelled images (MiraBest training split)")
        monitor = monitors.load(cfg.data_root or None, cfg.image_size)
    identity = data.identity()
    identity.update(used_images=int(len(images)), used_pixels_sha256=_sha(images), max_images=cfg.max_images)
    say(console, f"{len(images)} images of {cfg.stored_size}x{cfg.stored_size} ({', '.join(data.training_data) or 'unnamed surveys'})")
    niter = len(images) // cfg.batch_size
    if cfg.epochs * niter > MAX_STEPS:
        raise PretrainConfigError(f"--epochs {cfg.epochs} of {niter:,} steps is {cfg.epochs * niter:,} steps, more than "
                                  f"the {MAX_STEPS:,} radiobench schedules; lower --epochs or raise --batch-size")
    start_epoch, history, wall_before = 0, {"epoch_loss": [], "step_loss": [], "lr": []}, 0.0
    if resumed is not None:
        if resumed.data["used_pixels_sha256"] != identity["used_pixels_sha256"]:
            raise RadiobenchError(f"--resume: the data differ from those {ckpt_path} was trained on "
                                  "(pixels sha256); resume with the same --data")
        checkpoints.check_steps(resumed, niter, ckpt_path)
        start_epoch, history, wall_before = resumed.epoch, resumed.history, resumed.wall_seconds
        say(console, f"resuming after epoch {start_epoch} of {cfg.epochs}")
    with _writing(out, out, start_epoch):
        out.mkdir(parents=True, exist_ok=True)

    schedules = Schedules.of(cfg, niter)
    multicrop = MultiCrop(cfg.image_size, cfg.local_size, cfg.local_crops if cfg.method == "dino" else 0)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    pixels = torch.from_numpy(images)
    history.setdefault("monitor", [])
    if monitor is not None and not history["monitor"]:
        # epoch 0: the untrained encoder, i.e. the random-init twin's score, the baseline every later epoch must beat
        accuracy = monitor.score(models.evaluated_backbone(), device, autocast)
        history["monitor"].append({"epoch": 0, "knn_accuracy": accuracy})
        say(console, f"epoch 0 (random init): kNN accuracy {accuracy:.3f}")
    progress = _progress(console)
    wall_start = time.time()
    with progress:
        bar = progress.add_task(cfg.method.upper(), total=(cfg.epochs - start_epoch) * niter, loss=float("nan"), lr=0.0,
                                ips=0.0)
        for epoch in range(start_epoch, cfg.epochs if stop_after is None else min(stop_after, cfg.epochs)):
            order = torch.randperm(len(pixels), generator=_epoch_generator(cfg.seed, epoch, 0))
            crops_rng = _epoch_generator(cfg.seed, epoch, 1)
            torch.manual_seed(int(_epoch_generator(cfg.seed, epoch, 2).initial_seed() % 2**31))  # stochastic depth
            losses, tick = [], time.time()
            for it in range(niter):
                step = epoch * niter + it
                batch = pixels[order[it * cfg.batch_size : (it + 1) * cfg.batch_size]].to(device, non_blocking=True)
                loss = train_step(models, cfg, schedules, multicrop, batch, crops_rng, epoch, step, autocast)
                losses.append(loss)
                history["step_loss"].append(loss)
                history["lr"].append(float(schedules.lr[step]))
                done = (it + 1) * cfg.batch_size
                progress.update(bar, advance=1, loss=loss, lr=float(schedules.lr[step]),
                                ips=done / max(time.time() - tick, 1e-9))
                if console is not None and not console.is_terminal and (it + 1) % 20 == 0:  # logs: a line now and then
                    say(console, f"  epoch {epoch + 1} step {it + 1}/{niter}: loss {loss:.4f}, "
                                 f"lr {schedules.lr[step]:.2e}, {done / (time.time() - tick):.1f} images/s")
            history["epoch_loss"].append(float(np.mean(losses)))
            rate = niter * cfg.batch_size / (time.time() - tick)
            if monitor is not None:
                accuracy = monitor.score(models.evaluated_backbone(), device, autocast)
                history["monitor"].append({"epoch": epoch + 1, "knn_accuracy": accuracy})
            scored = f", kNN accuracy {history['monitor'][-1]['knn_accuracy']:.3f}" if monitor is not None else ""
            say(console, f"epoch {epoch + 1}/{cfg.epochs}: loss {history['epoch_loss'][-1]:.4f}{scored}, "
                         f"{rate:.1f} images/s")
            checkpoint = {
                "student": models.student.state_dict(), "teacher": models.teacher.state_dict(),
                "optimizer": models.optimizer.state_dict(), "epoch": epoch + 1, "args": settings,
                "dino_loss": models.loss_fn.state_dict(), "history": history,
                "data": identity, "wall_seconds": wall_before + time.time() - wall_start,
            }
            with _writing(ckpt_path, out, epoch):
                _save(checkpoint, ckpt_path)
    if stop_after is not None and stop_after < cfg.epochs:
        return out
    wall = wall_before + time.time() - wall_start
    _finish(out, cfg, models, history, identity, data.training_data, multicrop, device, wall, time.time() - started,
            monitor.record if monitor is not None else None)
    say(console, f"done: {out / cards.TEACHER}, card {out / cards.CARD}, loss curve {out / 'loss_curve.png'}")
    return out


def _build(cfg: PretrainConfig, device: torch.device) -> Models:
    """Student, teacher (a copy of the student), optimiser and loss for ``cfg``, on ``device``; fixes
    ``cfg.local_size`` for the architecture. Draws from the torch RNG only under fixed seeds."""
    student_bb = build(cfg.arch, cfg.image_size, cfg.drop_path_rate, cfg.seed)
    teacher_bb = build(cfg.arch, cfg.image_size, 0.0, cfg.seed)
    fit_to_arch(cfg, teacher_bb)
    embed_dim = int(student_bb.num_features)
    if cfg.method == "byol":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            online, target = build_networks(student_bb, teacher_bb, embed_dim, cfg.byol_hidden_dim,
                                            cfg.byol_projection_dim)
        online.to(device), target.to(device)
        return Models(online, target, embed_dim, torch.optim.AdamW(param_groups(online)), BYOLLoss(), "byol")
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
    loss_fn = DINOLoss(cfg.out_dim, 2 + cfg.local_crops, cfg.warmup_teacher_temp, cfg.teacher_temp,
                       cfg.warmup_teacher_temp_epochs, cfg.epochs).to(device)
    return Models(student, teacher, embed_dim, torch.optim.AdamW(param_groups(student)), loss_fn)


def _resume(cfg: PretrainConfig, path: Path, models: Models, requested_precision: str, console: Any) -> Resumed:
    """The checkpoint at ``path``, checked (file, structure, settings, tensors) and loaded into ``models``."""
    state = checkpoints.read(path, checkpoints.size_limit(models.student, models.teacher))
    resumed = checkpoints.check(state, path)
    previous = dict(resumed.args)
    for key in ADDED_WITH_BYOL:  # a run recorded before these settings existed was a DINO run that used none of them
        previous.setdefault(key, getattr(PretrainConfig(), key))
    if previous.get("precision") == "auto" and requested_precision == "auto":  # recorded before "auto" was resolved
        previous["precision"] = cfg.precision
    differ = resume_differences(previous, settings_of(cfg))
    if differ:
        was = ", ".join(f"{k}={old!r}" for k, old, _ in differ)
        now = ", ".join(f"{k}={new!r}" for k, _, new in differ)
        raise PretrainConfigError(f"--resume: the run in {path.parent} was trained with {was}; this command asks {now}; "
                                  "resume with the same settings or start a new --output")
    if resumed.epoch > cfg.epochs:
        raise PretrainConfigError(f"--epochs {cfg.epochs}: the run in {path.parent} has already trained {resumed.epoch} "
                                  f"epochs; give --epochs {resumed.epoch} or more")
    checkpoints.restore(state, path, models.student, models.teacher, models.optimizer, models.loss_fn)
    before = previous.get("epochs")
    if before != cfg.epochs:
        resumed.history.setdefault("epochs_changes", []).append(
            {"after_epoch": resumed.epoch, "from": before, "to": cfg.epochs})
        say(console, f"--resume: epochs {before} -> {cfg.epochs}; the schedules follow the new total from epoch "
                     f"{resumed.epoch + 1} (recorded in the card)")
    return resumed


@contextlib.contextmanager
def _writing(path: Path, out: Path, epochs_kept: int) -> Iterator[None]:
    """An OSError while writing ``path`` becomes one line: which file, why, and what was kept.

    torch.save reports a failed write of its file object as a RuntimeError ("unexpected pos") whose
    context is the OSError, so the chain is searched for one.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised unless an OSError caused it
        error = _os_error(exc)
        if error is None:
            raise
        kept = (f"the checkpoint after epoch {epochs_kept} is kept" if epochs_kept else "no epoch was lost")
        if is_disk_full(error):
            raise PretrainWriteError(f"disk full writing {path}; {kept}: free space under {out} and run the same "
                                     "command with --resume") from None
        raise PretrainWriteError(f"cannot write {path} ({error.strerror or error}); {kept}: fix the folder and run "
                                 "the same command with --resume") from None


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError ``exc`` is or was raised from (its cause or context, a few levels deep), if any."""
    for _ in range(5):
        if exc is None or isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _sha(array: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _serialise(obj: Any, handle: Any) -> None:
    torch.save(obj, handle)


def _save(obj: Any, path: Path) -> None:
    """Written to a temporary sibling and renamed: a failure (a full disk) leaves the previous file whole."""
    with open_atomic(path, "wb") as handle:
        _serialise(obj, handle)


def evaluated_state(models: Models) -> dict[str, torch.Tensor]:
    """What ``teacher.pth`` holds under ``teacher``: DINO's whole teacher (backbone and head, DINO's layout); for BYOL
    the online backbone under the same ``backbone.`` keys (no head: evaluation uses the backbone alone)."""
    if models.method == "byol":
        return {f"backbone.{k}": v.detach().cpu() for k, v in models.student.backbone.state_dict().items()}
    return {k: v.detach().cpu() for k, v in models.teacher.state_dict().items()}


def _finish(out: Path, cfg: PretrainConfig, models: Models, history: dict, identity: dict, surveys: tuple[str, ...],
            multicrop: MultiCrop, device: torch.device, wall: float, total: float,
            monitor: dict[str, Any] | None) -> None:
    """teacher.pth, loss_curve.png, then card.json (last: its presence means the run finished)."""
    import hashlib
    import io

    buffer = io.BytesIO()
    _serialise({"teacher": evaluated_state(models), "epoch": cfg.epochs, "args": settings_of(cfg)}, buffer)
    content = buffer.getvalue()  # hashed as written, not read back
    with _writing(out / cards.TEACHER, out, cfg.epochs), open_atomic(out / cards.TEACHER, "wb") as handle:
        handle.write(content)
    with _writing(out / "loss_curve.png", out, cfg.epochs):
        plot_loss(history, out / "loss_curve.png", method=cfg.method,
                  title=f"{cfg.method.upper()} {cfg.arch} {cfg.image_size}px, {identity['used_images']} images")
    hardware = {"device": str(device), "precision": cfg.precision, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                "cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor() or None}
    if device.type == "cuda":
        hardware["gpu"] = torch.cuda.get_device_name(device)
    from radiobench import __version__

    scored = [m for m in history.get("monitor", []) if isinstance(m, dict)]
    card = {
        "format": cards.FORMAT, "name": cfg.name, "method": cfg.method,
        "evaluated_encoder": "online" if cfg.method == "byol" else "teacher", "arch": cfg.arch,
        "embed_dim": models.embed_dim,
        "image_size": cfg.image_size, "checkpoint": cards.TEACHER, "sha256": hashlib.sha256(content).hexdigest(),
        "training_data": list(cfg.training_data or surveys), "data": identity, "epochs": cfg.epochs, "seed": cfg.seed,
        "batch_size": cfg.batch_size, "augmentations": multicrop.describe(),
        "settings": settings_of(cfg),
        **({"epochs_changed_on_resume": history["epochs_changes"]} if history.get("epochs_changes") else {}),
        "final_loss": history["epoch_loss"][-1], "loss_per_epoch": history["epoch_loss"],
        "monitor": ({**monitor, "encoder": "online backbone" if cfg.method == "byol" else "teacher backbone",
                     "knn_accuracy_per_epoch": scored} if monitor is not None else None),
        "train_seconds": round(wall, 1), "wall_seconds_this_process": round(total, 1), "hardware": hardware,
        "radiobench_version": __version__, "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with _writing(out / cards.CARD, out, cfg.epochs):
        write_text_atomic(out / cards.CARD, json.dumps(card, indent=2) + "\n")


def plot_loss(history: dict, path: Path, title: str = "", method: str = "dino") -> None:
    """Step and epoch losses; the monitor's kNN accuracy per epoch on a second axis when it ran."""
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
    ax.set_ylabel(f"{method.upper()} loss")
    ax.set_title(title, fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    scored = [m for m in history.get("monitor", []) if isinstance(m, dict)]
    if scored:
        knn = ax.twinx()
        knn.plot([m["epoch"] for m in scored], [m["knn_accuracy"] for m in scored], "s--", color="tab:green", ms=3,
                 lw=1, label="kNN accuracy (MiraBest train, held out)")
        knn.set_ylabel("kNN accuracy")
        more_handles, more_labels = knn.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, frameon=False, fontsize=7)
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


@contextlib.contextmanager
def _reading(console: Any) -> Iterator[tuple[Callable[[str], None], Callable[[str, int, int], None]]]:
    """Progress while the sources are read (a minute or more for thousands of cutouts): a bar per source on a
    terminal, a line per tenth of a source's files in a log."""
    if console is None or not console.is_terminal:
        def on_file(source: str, done: int, total: int) -> None:
            if done and done % max(total // 10, 1) == 0:
                say(console, f"  {source}: {done:,}/{total:,} files read")

        yield (lambda source: say(console, f"  {source}")), on_file
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars: dict[str, Any] = {}
    with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        def on_source(source: str) -> None:
            for bar in bars.values():  # the previous source is finished
                progress.update(bar, completed=progress.tasks[bar].total)
            progress.console.print(f"  {source}", highlight=False)

        def on_file(source: str, done: int, total: int) -> None:
            if source not in bars:
                bars[source] = progress.add_task(source, total=total)
            progress.update(bars[source], completed=done + 1)

        yield on_source, on_file
        for bar in bars.values():
            progress.update(bar, completed=progress.tasks[bar].total)


def say(console: Any, text: str) -> None:
    """A line as is: never hard-wrapped at the console width (a log keeps long paths on one line)."""
    if console is not None:
        console.print(text, highlight=False, soft_wrap=True)
