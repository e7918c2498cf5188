"""Reading the official MiraBest_F batches straight from the verified archive.

The archive (under 1 MB) is read once into memory, hashed, and parsed from those same
bytes, so a file replaced on disk after the check can never be read under the genuine
identity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiobench.astro.sky import sky_groups
from radiobench.io import archives, datafiles, safe_pickle
from radiobench.io import download as downloads
from radiobench.api import ChecksumError, DatasetNotFoundError, RadiobenchError, Split, Task
from radiobench_plugins.mirabest import ARCHIVE, URLS

# Fine-class indices in batches.meta order (100, 102, 104, 110, 112, 200, 201, 210, 300, 310):
# the Confident benchmark keeps 0-2 as FRI and 5-6 as FRII, dropping uncertain and hybrid sources.
FRI, FRII = (0, 1, 2), (5, 6)
TRAIN_BATCHES = tuple(f"F_batches/data_batch_{i}" for i in range(1, 8))
TEST_BATCHES = ("F_batches/test_batch",)
SIDE = 150


class MiraBest(Task):
    pixel_range = (0, 255)

    def data_present(self, root: Path) -> bool:
        return (self.folder(root) / ARCHIVE).is_file()

    def prepare(self, root: Path, download: bool = False) -> None:
        archive = self.folder(root) / ARCHIVE
        if download and not archive.exists():
            errors = []
            for url in URLS:  # official host first, Zenodo as the mirror
                try:
                    downloads.download(url, archive, self.spec.data_sha256)
                    break
                except (ChecksumError, DatasetNotFoundError) as exc:
                    errors.append(str(exc))
            else:
                raise DatasetNotFoundError(" | ".join(errors))
        self._archive = datafiles.read_verified(archive, self.spec.data_sha256, self.spec, URLS[0])
        self.root = Path(root)
        self._members: dict[str, bytes] | None = None

    def _read(self, names: tuple[str, ...]) -> list[dict]:
        if self.root is None:
            raise RadiobenchError("MiraBest: call prepare(root) before loading a split")
        if self._members is None:
            archive = self.folder(self.root) / ARCHIVE  # names the messages; the verified bytes are parsed
            self._members = archives.read_tar_members(archive, TRAIN_BATCHES + TEST_BATCHES, data=self._archive)
            self._archive = b""  # parsed: the members are all that is needed from here on
        return [safe_pickle.loads(self._members[name], f"{ARCHIVE}:{name}") for name in names]

    def load_split(self, split: str) -> Split:
        """``train`` or ``test``; a cross-validated variant (``mirabest_cv``) serves ``all``: both, with sky groups."""
        names = {"train": TRAIN_BATCHES, "test": TEST_BATCHES, "all": TRAIN_BATCHES + TEST_BATCHES}.get(split)
        if names is None or split not in self.spec.splits:
            raise RadiobenchError(f"{self.spec.name} has splits {' and '.join(self.spec.splits)}, not {split!r}")
        images, labels, ids = [], [], []
        for batch in self._read(names):
            for pixels, fine, filename in zip(batch["data"], batch["labels"], batch["filenames"]):
                if fine in FRI or fine in FRII:
                    images.append(np.asarray(pixels, dtype=np.uint8).reshape(SIDE, SIDE))
                    labels.append(0 if fine in FRI else 1)
                    ids.append(Path(str(filename)).stem)
        groups = sky_groups(ids) if split == "all" else None  # positions are in the ids: 100_<RA>+<Dec>_...
        return Split(np.stack(images), np.asarray(labels, dtype=np.int64), ids, groups)

