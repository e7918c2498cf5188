"""A finished pretraining run as the registry sees it (torch-free: listing never imports torch).

``DIR/card.json`` says what was trained (method: dino or byol, architecture, image size), on what (the data
identity and the survey names the leaderboard's in-domain mark compares with tasks'
``source_datasets``), how long, on which hardware, and the sha256 of ``DIR/teacher.pth``.
``spec_from_dir`` turns it into a BackboneSpec whose input contract is the training's:
one channel, [0, 1] pixels unnormalised, resized to the training image size (bilinear).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from radiobench.errors import RadiobenchError
from radiobench.specs import BackboneSpec, InputContract, WeightsSpec

CARD = "card.json"
TEACHER = "teacher.pth"
FORMAT = "radiobench-pretrain-card/1"
FACTORY = "radiobench.pretrain.backbone:PretrainedTeacher"
# what teacher.pth holds and how to cite it, per method (a card written before `method` was varied is DINO's)
METHOD_WORDS = {
    "dino": ("DINO teacher", "DINO (Caron et al. 2021) as in Lastufka et al. 2024 (A&A 690, A310)"),
    "byol": ("BYOL online encoder", "BYOL (Grill et al. 2020) as in Slijepcevic et al. 2024 (RASTI 3, 19)"),
}


def model_kwargs(arch: str, image_size: int) -> dict[str, Any]:
    """What timm needs to build ``arch`` for ``image_size`` inputs (ViTs: the position-embedding grid)."""
    return {"img_size": image_size} if arch.startswith(("vit", "deit")) else {}


MAX_CARD_BYTES = 4 << 20  # a card lists its sources' files: ~1 kB per field, far below this


class CardError(RadiobenchError):
    """A card.json that is not what `radiobench pretrain` writes (unreadable, or a field of the wrong kind)."""


def read_card(folder: str | Path) -> dict[str, Any]:
    """The card of a finished run, read through the shared reader and checked where the registry relies on it:
    its name becomes result file names, its checkpoint a path beside it."""
    from radiobench.io.reader import UnreadableFileError, read_json

    path = Path(folder).expanduser() / CARD
    if not os.path.lexists(path):
        raise CardError(f"{path.parent}: no {CARD}; not a finished `radiobench pretrain` output")
    try:
        card = read_json(path, limit=MAX_CARD_BYTES, what="pretrain card")
    except UnreadableFileError as exc:
        raise CardError(str(exc)) from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        found = card.get("format") if isinstance(card, dict) else type(card).__name__
        raise CardError(f"{path}: not a radiobench pretrain card (format {found!r})")
    problem = _card_problem(card)
    if problem:
        raise CardError(f"{path}: {problem}; the card is damaged or edited: train the run again or restore the card")
    return card


def _card_problem(card: dict[str, Any]) -> str:
    """What is wrong with the fields the registry uses, or ''."""
    from radiobench.pretrain.settings import NAME

    name, checkpoint = card.get("name"), card.get("checkpoint", TEACHER)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return f"name {name!r} is not a plain name (lower-case letters, digits, _ . -)"
    if not isinstance(checkpoint, str) or not checkpoint or Path(checkpoint).name != checkpoint or checkpoint in (".", ".."):
        return f"checkpoint {checkpoint!r} is not a file name beside the card"
    for key in ("embed_dim", "image_size", "epochs", "seed"):
        if isinstance(card.get(key), bool) or not isinstance(card.get(key), int) or card[key] < 0:
            return f"{key} {card.get(key)!r} is not a whole number"
    for key in ("arch", "sha256"):
        if not isinstance(card.get(key), str) or not card[key]:
            return f"{key} {card.get(key)!r} is not a string"
    if card.get("method", "dino") not in METHOD_WORDS:
        return f"method {card.get('method')!r} is not one of {', '.join(METHOD_WORDS)}"
    if not isinstance(card.get("data", {}), dict) or not isinstance(card.get("training_data", []), list):
        return "data or training_data is of the wrong kind"
    return ""


def spec_from_dir(folder: str | Path) -> BackboneSpec:
    folder = Path(folder).expanduser().resolve()
    card = read_card(folder)
    teacher = folder / card.get("checkpoint", TEACHER)
    data = card.get("data", {})
    sources = ", ".join(_short_source(s.get("source")) for s in data.get("sources", []) if isinstance(s, dict))
    method = card.get("method", "dino")
    weights_words, citation = METHOD_WORDS[method]
    return BackboneSpec(
        name=card["name"],
        factory=FACTORY,
        embed_dim=int(card["embed_dim"]),
        input=InputContract(channels=1, size=int(card["image_size"]), mean=(0.0,), std=(1.0,), interpolation="bilinear"),
        weights=WeightsSpec(kind="url", url=teacher.as_uri(), filename=teacher.name, sha256=card["sha256"],
                            source_page=str(folder), description=f"{weights_words} from `radiobench pretrain` (card.json beside it)"),
        family="radiobench-pretrain",
        training_data=tuple(card.get("training_data", ())),
        license="as the training data's terms",
        citation=f"{citation}, trained by radiobench pretrain",
        description=(f"{card['arch']} at {card['image_size']} px, {method.upper()} for {card['epochs']} epochs on "
                     f"{data.get('images', '?')} images ({sources}); seed {card['seed']}; CLS/pooled feature"),
        options={"arch": card["arch"], "model_kwargs": model_kwargs(card["arch"], int(card["image_size"]))},
    )


def _short_source(source: Any) -> str:
    """``fits:/long/path/fields`` -> ``fits:fields`` for the description."""
    kind, _, where = str(source).partition(":")
    return f"{kind}:{Path(where).name}"


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
        if os.path.lexists(root / CARD):
            found.append(root)
        elif root.is_dir():
            found += sorted(p for p in root.iterdir() if p.is_dir() and os.path.lexists(p / CARD))
    return found
