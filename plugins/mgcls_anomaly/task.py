"""Reading the Protege cutouts and catalogue, and fetching them from Zenodo.

The layout is the release's once unzipped: ``images/<protege_rank>.png`` and
``catalogue/protege_catalogue.csv``. Rows are served in ``objid`` order, never in rank
order, and the file name (the rank) never leaves this module: the rank is what the
human scores produced, so it must not reach a probe by any path, pixels included
(``images.read_cutout`` masks the drawn rank).

The catalogue is parsed from the very bytes checked against its published sha256. The
6161 cutouts (157 MB) are hashed into the task's identity but decoded lazily, so instead of
holding their bytes each cutout's own sha256 is kept and checked again when it is decoded:
a cutout replaced after the hash is refused, never decoded under the genuine identity.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.io import datafiles
from radiobench.io import download as downloads
from radiobench.io.reader import UnreadableFileError, open_regular
from radiobench.api import LazyImages, RadiobenchError, Split, Task, UnsafeDataError, check_member_name
from radiobench_plugins.mgcls_anomaly import CATALOGUE_SHA256, FILES, RECORD
from radiobench_plugins.mgcls_anomaly.images import read_cutout, read_cutout_bytes

CATALOGUE = Path("catalogue") / "protege_catalogue.csv"
COLUMNS = ("objid", "protege_rank", "evaluation_subset_author_ML_score")
EXPECTED = {"sources": 6161, "scored": 1031}


class ProtegeAnomaly(Task):
    pixel_range = (0, 255)  # colour-map indices

    def data_present(self, root: Path) -> bool:
        return (self.folder(root) / CATALOGUE).is_file()

    def prepare(self, root: Path, download: bool = False) -> None:
        folder = self.folder(root)
        if download and not (folder / CATALOGUE).exists():
            fetch(folder)
        self._catalogue = datafiles.read_verified(folder / CATALOGUE, CATALOGUE_SHA256, self.spec, RECORD)
        self.root = Path(root)
        self._meta: dict[str, Any] = {}
        # The cutouts' bytes are hashed here, not when the split is first read: the data identity
        # (data_sha256) must be whole before a run asks whether an existing result answers it, or the
        # catalogue-only identity never matches a recorded one and every run redoes every result.
        self._split: Split | None = self._read()

    def _read(self) -> Split:
        import pandas as pd

        folder = self.folder(self.root)  # type: ignore[arg-type]
        table = pd.read_csv(io.BytesIO(self._catalogue), usecols=list(COLUMNS)).sort_values("objid", kind="stable")
        missing = [r for r in table["protege_rank"] if not (folder / "images" / f"{r}.png").is_file()]
        if missing:
            raise RadiobenchError(
                f"{self.spec.name}: {len(missing)} of {len(table)} cutouts missing from {folder / 'images'} "
                f"(e.g. {missing[0]}.png); unzip both image archives from {RECORD} there, or run "
                f"`radiobench data download {self.spec.name}`"
            )
        paths = [folder / "images" / f"{rank}.png" for rank in table["protege_rank"]]
        digest, per_file = _hash_cutouts(paths)

        def decode(rows: np.ndarray) -> np.ndarray:
            out = np.empty((len(rows), 219, 219), dtype=np.uint8)
            for i, row in enumerate(rows):
                out[i] = read_cutout(paths[row], sha256=per_file[row])
            return out

        images = LazyImages(np.arange(len(paths)), (219, 219), np.uint8, decode)
        labels = table["evaluation_subset_author_ML_score"].to_numpy(dtype=np.float64)
        scored = labels >= 0
        self._meta = {
            "sources": int(len(table)), "scored": int(scored.sum()),
            "score_counts": {str(int(s)): int((labels == s).sum()) for s in range(1, 6)},
            "images_sha256": digest, "interesting": "human score >= 4",
        }
        if self._meta["sources"] != EXPECTED["sources"] or self._meta["scored"] != EXPECTED["scored"]:
            raise RadiobenchError(
                f"{self.spec.name}: the catalogue lists {self._meta['sources']} sources ({self._meta['scored']} scored), "
                f"not the release's {EXPECTED['sources']} ({EXPECTED['scored']}); fetch it again from {RECORD}"
            )
        return Split(images, labels, table["objid"].astype(str).tolist())

    @property
    def data_sha256(self) -> str:
        if not self._meta:
            return self.spec.data_sha256
        return hashlib.sha256(f"{self.spec.data_sha256}+{self._meta['images_sha256']}".encode()).hexdigest()

    def metadata(self) -> dict[str, Any]:
        return self._meta

    def load_split(self, split: str) -> Split:
        if self.root is None:
            raise RadiobenchError(f"{self.spec.name}: call prepare(root) before loading a split")
        if split != "all":
            raise RadiobenchError(f"{self.spec.name} serves one split, 'all', not {split!r}")
        if self._split is None:
            self._split = self._read()
        return self._split


def _hash_cutouts(paths: list[Path]) -> tuple[str, list[str]]:
    """The identity of all the pixels (hash of the files' bytes in order) and each file's own sha256.

    Cheap (bytes, no decoding). The per-file digests let the lazy decoder prove it decodes the
    bytes that went into the identity, without holding 157 MB of PNGs in memory.
    """
    digest, per_file = hashlib.sha256(), []
    for path in paths:
        data = read_cutout_bytes(path)
        digest.update(data)
        per_file.append(hashlib.sha256(data).hexdigest())
    return digest.hexdigest(), per_file


def fetch(folder: Path) -> None:
    """Download the catalogue and the two image zips from Zenodo, then unpack only ``*.png`` into images/."""
    folder = Path(folder)
    for name, sha in FILES.items():
        dest = folder / ("catalogue" if name.endswith(".csv") else "downloads") / name
        if not dest.exists():
            downloads.download(f"{RECORD}/files/{name}?download=1", dest, sha)
        if name.endswith(".zip"):
            unpack_pngs(dest, folder / "images")


def unpack_pngs(archive: Path, target: Path) -> int:
    """Write the zip's ``<rank>.png`` members (by base name) into ``target``; refuse anything else odd."""
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    try:  # opened as a regular file (a pipe in its place would hang), then every member checked before it is read
        with open_regular(archive) as handle, zipfile.ZipFile(handle) as zf:
            for info in zf.infolist():
                name = check_member_name(info.filename, archive)
                base = name.rsplit("/", 1)[-1]
                if info.is_dir() or not base.endswith(".png") or base.startswith("."):
                    continue
                if not base[:-4].isdigit():
                    raise UnsafeDataError(f"{archive}: unexpected member {info.filename!r}; not the Protege release")
                if info.file_size > 1 << 20:
                    raise UnsafeDataError(f"{archive}: member {info.filename!r} expands to {info.file_size} bytes; refused")
                (target / base).write_bytes(zf.read(info))
                written += 1
    except UnreadableFileError as exc:
        raise UnsafeDataError(str(exc)) from None
    except zipfile.BadZipFile as exc:
        raise UnsafeDataError(f"{archive}: not a readable zip ({exc}); delete it and download again") from None
    return written
