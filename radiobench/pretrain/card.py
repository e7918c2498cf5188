"""A finished pretraining run as the registry sees it (torch-free: listing never imports torch).

``DIR/card.json`` says what was trained (method, architecture, image size), on what (the data
identity and the survey names the leaderboard's in-domain mark compares with tasks'
``source_datasets``), how long, on which hardware, and the sha256 of ``DIR/teacher.pth``.
``spec_from_dir`` turns it into a BackboneSpec whose input contract is the training's:
one channel, [0, 1] pixels unnormalised, resized to the training image size (bilinear).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from radiobench.errors import RadiobenchError
from radiobench.specs import BackboneSpec, InputContract, WeightsSpec

CARD = "card.json"
TEACHER = "teacher.pth"
FORMAT = "radiobench-pretrain-card/1"
FACTORY = "radiobench.pretrain.backbone:PretrainedTeacher"


def model_kwargs(arch: str, image_size: int) -> dict[str, Any]:
    """What timm needs to build ``arch`` for ``image_size`` inputs (ViTs: the position-embedding grid)."""
    return {"img_size": image_size} if arch.startswith(("vit", "deit")) else {}


def read_card(folder: str | Path) -> dict[str, Any]:
    path = Path(folder).expanduser() / CARD
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise RadiobenchError(f"{path.parent}: no {CARD}; not a finished `radiobench pretrain` output") from None
    except (OSError, ValueError) as exc:
        raise RadiobenchError(f"{path}: unreadable card ({exc})") from None
    if card.get("format") != FORMAT:
        raise RadiobenchError(f"{path}: not a radiobench pretrain card (format {card.get('format')!r})")
    return card


def spec_from_dir(folder: str | Path) -> BackboneSpec:
    folder = Path(folder).expanduser().resolve()
    card = read_card(folder)
    teacher = folder / card.get("checkpoint", TEACHER)
    data = card.get("data", {})
    sources = ", ".join(s["source"].split(":", 1)[0] + ":" + Path(s["source"].split(":", 1)[1]).name
                        for s in data.get("sources", []))
    return BackboneSpec(
        name=card["name"],
        factory=FACTORY,
        embed_dim=int(card["embed_dim"]),
        input=InputContract(channels=1, size=int(card["image_size"]), mean=(0.0,), std=(1.0,), interpolation="bilinear"),
        weights=WeightsSpec(kind="url", url=teacher.as_uri(), filename=teacher.name, sha256=card["sha256"],
                            source_page=str(folder), description="DINO teacher from `radiobench pretrain` (card.json beside it)"),
        family="radiobench-pretrain",
        training_data=tuple(card.get("training_data", ())),
        license="as the training data's terms",
        citation="DINO (Caron et al. 2021) as in Lastufka et al. 2024 (A&A 690, A310), trained by radiobench pretrain",
        description=(f"{card['arch']} at {card['image_size']} px, DINO for {card['epochs']} epochs on "
                     f"{data.get('images', '?')} images ({sources}); seed {card['seed']}; CLS/pooled feature"),
        options={"arch": card["arch"], "model_kwargs": model_kwargs(card["arch"], int(card["image_size"]))},
    )


def pretrained_dirs() -> list[Path]:
    """Finished runs under ``$RADIOBENCH_PRETRAINED`` (os.pathsep-separated; default ``<cache>/pretrained``):
    each entry may be a run folder or a folder of run folders."""
    env = os.environ.get("RADIOBENCH_PRETRAINED")
    if env:
        roots = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    else:
        from radiobench.io.datafiles import cache_root

        roots = [cache_root() / "pretrained"]
    found = []
    for root in roots:
        if (root / CARD).is_file():
            found.append(root)
        elif root.is_dir():
            found += sorted(p for p in root.iterdir() if (p / CARD).is_file())
    return found
