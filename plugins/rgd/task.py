"""Reading RadioGalaxyDataset's HDF5 file straight out of its verified zip.

The zip holds one HDF5 file with a group per source (``data_<i>``): ``Img`` (300x300
uint8, with RA/DEC/Source attributes), ``Label_literature`` (0 FRI, 1 FRII, 2 Compact,
3 Bent) and ``Split_literature`` (train/valid/test). The member is read into memory
(h5py reads file-like objects), so nothing is extracted to disk. The same zip ships in
the PyPI wheel ``firstgalaxydata``; when that is installed and the data root lacks the
file, the wheel's copy is used (located through package metadata, never imported).
Each zip (2.5 MB at most) is read once, hashed, and parsed from those same bytes, so a
file replaced after its check is never read under the published identity.
"""

from __future__ import annotations

import io
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from radiobench.astro.sky import sky_groups
from radiobench.io import datafiles
from radiobench.io import download as downloads
from radiobench.api import RadiobenchError, Split, Task, UnsafeDataError
from radiobench_plugins.rgd import CLASSES, SHA256, ZENODO, fold_files

SPLIT_KEY, LABEL_KEY = "Split_literature", "Label_literature"
LITERATURE_SPLITS = ("train", "valid", "test")


def wheel_copy(name: str) -> Path | None:
    try:
        files = metadata.files("firstgalaxydata") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == name:
            return Path(str(file.locate()))
    return None


class RadioGalaxyDataset(Task):
    """The literature split, or with ``fold=k`` a cross-validation fold, or with splits ``("all",)`` every source
    of the literature file with its sky group (``rgd_cv``; see the plugin docstring)."""

    pixel_range = (0, 255)

    def data_present(self, root: Path) -> bool:
        """Every archive of this variant is in the data folder or in the ``firstgalaxydata`` wheel."""
        return all((self.folder(root) / name).is_file() or wheel_copy(name) is not None
                   for name in fold_files(self.options.get("fold")))

    def prepare(self, root: Path, download: bool = False) -> None:
        self.archives: list[tuple[Path, bytes]] = []  # (where it came from, its verified bytes)
        for name in fold_files(self.options.get("fold")):
            archive = self.folder(root) / name
            if not archive.exists():
                if (copy := wheel_copy(name)) is not None:
                    archive = copy
                elif download:
                    downloads.download(ZENODO.format(name), archive, SHA256[name])
            data = datafiles.read_verified(archive, SHA256[name], self.spec, ZENODO.format(name))
            self.archives.append((archive, data))
        self.root = Path(root)
        self._splits: dict[str, Split] | None = None

    def _read_all(self) -> dict[str, Split]:
        rows: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in self.spec.splits}
        for archive, data in self.archives:
            self._read_archive(archive, data, rows)
        return {s: Split(np.stack(i), np.asarray(l, dtype=np.int64), d, sky_groups(d) if s == "all" else None)
                for s, (i, l, d) in rows.items() if i}

    def _read_archive(self, archive: Path, verified: bytes, rows: dict[str, tuple[list, list, list]]) -> None:
        """Parse the zip from its verified bytes; ``archive`` only names it in messages."""
        import h5py

        member = archive.name.replace(".zip", ".h5")
        try:
            with zipfile.ZipFile(io.BytesIO(verified)) as zf:
                data = zf.read(member)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise UnsafeDataError(f"{archive}: no readable {member} inside ({exc}); delete it and download it again") from None
        where = f"{archive}:{member}"
        with h5py.File(io.BytesIO(data), "r") as h5:
            for key in h5:
                group = h5[key]
                if SPLIT_KEY not in group or LABEL_KEY not in group or "Img" not in group:
                    raise RadiobenchError(
                        f"{where}: source {key!r} lacks {SPLIT_KEY}/{LABEL_KEY}/Img; "
                        "this is not the RadioGalaxyDataset release this task reads (version 1.0)"
                    )
                split = group[SPLIT_KEY].asstr()[()]
                if "all" in rows and split in LITERATURE_SPLITS:
                    split = "all"  # the cross-validated variant pools every source
                if split not in rows:
                    raise RadiobenchError(f"{where}: source {key!r} has unknown split {split!r}")
                label = int(group[LABEL_KEY][()])
                if not 0 <= label < len(CLASSES):
                    raise RadiobenchError(f"{where}: source {key!r} has label {label} outside 0-3")
                images, labels, ids = rows[split]
                images.append(np.asarray(group["Img"], dtype=np.uint8))
                labels.append(label)
                ids.append(str(group["Img"].attrs.get("coord_str", key)))

    def load_split(self, split: str) -> Split:
        if self.root is None:
            raise RadiobenchError("rgd: call prepare(root) before loading a split")
        if split not in self.spec.splits:
            raise RadiobenchError(f"rgd has splits {', '.join(self.spec.splits)}, not {split!r}")
        if self._splits is None:
            self._splits = self._read_all()
        return self._splits[split]

    def score(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """The kind's metrics and each class's recall, in numpy: a confidence interval or a paired test scores
        thousands of resamples, and scikit-learn's input checks made one RGD comparison take 14 minutes."""
        from radiobench.results.scoring import classification

        t, p = np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64)
        scores = classification(t, p)
        n = len(CLASSES)
        hits = np.bincount(t[t == p], minlength=n)[:n]
        totals = np.bincount(t, minlength=n)[:n]
        recalls = np.divide(hits, totals, out=np.zeros(n), where=totals > 0)  # zero_division=0, as scikit-learn's
        scores.update({f"recall_{name}": float(r) for name, r in zip(CLASSES, recalls)})
        return scores
