"""Data files are parsed from the bytes that were verified: a file swapped right after its hash
is never served under the genuine identity (the loaded data are the genuine ones, or a clear error)."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from radiobench.io import archives, datafiles, safe_pickle
from radiobench.errors import ChecksumError, DatasetNotFoundError
from radiobench.registry import get_registry
from radiobench.specs import resolve_factory
from radiobench_plugins.mirabest import ARCHIVE

# sha256 of (images bytes, int64 labels, "\n"-joined ids) of each split, from the archive read in place
# before the read was restructured: the verified read serves exactly the same benchmark.
MIRABEST_FINGERPRINTS = {
    "train": "15f2406901ba052ade07240215cf8bf37749a704c170e00cc2bb5e59c6727aeb",
    "test": "e4605d82bc9a7bac0eaa40e5b7fdeba6121ee7d50ea258a1ebb6715eecbc05c6",
}


def build_task(registered, overrides: dict | None = None):
    """The task object as the runner builds it (kept here: the runner is moving between modules)."""
    spec = registered.spec
    return resolve_factory(spec.factory)(spec, **{**spec.options, **(overrides or {})})


def fingerprint(split) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(split.images).tobytes())
    digest.update(split.labels.astype("<i8").tobytes())
    digest.update("\n".join(split.ids).encode())
    return digest.hexdigest()


def swap_after_hash(monkeypatch, module, path: Path, replacement: Path) -> list[str]:
    """Replace ``path`` by ``replacement`` as soon as any hashing function of ``module`` returns.

    Every hashing entry point the module has ever used is wrapped (the ones it lacks are skipped),
    so the same hook catches a hash-then-reopen reader whichever way it hashes.
    """
    swapped: list[str] = []
    for name in ("sha256_file", "sha256_bytes", "sha256_and_stamp"):
        original = getattr(module, name, None)
        if original is None:
            continue

        def hooked(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            if replacement.exists():
                os.replace(replacement, path)
                swapped.append(path.name)
            return result

        monkeypatch.setattr(module, name, hooked)
    return swapped


def mirabest_task():
    return build_task(get_registry().task("mirabest"))


def forged_mirabest(genuine: Path, target: Path) -> Path:
    """The same members with every image inverted: a well-formed archive that is not the published one."""
    members = archives.read_tar_members(genuine, [f"F_batches/data_batch_{i}" for i in range(1, 8)] + ["F_batches/test_batch"])
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members.items():
            batch = safe_pickle.loads(data, name)
            batch["data"] = 255 - np.asarray(batch["data"])
            payload = pickle.dumps(batch)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return target


def test_mirabest_numbers_are_unchanged(shared_data):
    task = mirabest_task()
    task.prepare(shared_data)
    assert {s: fingerprint(task.load_split(s)) for s in ("train", "test")} == MIRABEST_FINGERPRINTS


def test_mirabest_archive_swapped_after_its_hash_is_never_read(shared_data, tmp_path, monkeypatch):
    genuine = shared_data / "mirabest" / ARCHIVE
    (tmp_path / "mirabest").mkdir()
    archive = tmp_path / "mirabest" / ARCHIVE
    shutil.copy(genuine, archive)
    forged = forged_mirabest(genuine, tmp_path / "forged.tar.gz")
    swapped = swap_after_hash(monkeypatch, datafiles, archive, forged)
    task = mirabest_task()
    task.prepare(tmp_path)
    assert swapped == [ARCHIVE]  # the archive on disk is the forged one from here on
    assert {s: fingerprint(task.load_split(s)) for s in ("train", "test")} == MIRABEST_FINGERPRINTS


def test_read_verified_returns_the_bytes_it_hashed(tmp_path, monkeypatch):
    path, other = tmp_path / "f.bin", tmp_path / "other.bin"
    path.write_bytes(b"genuine")
    other.write_bytes(b"swapped")
    swap_after_hash(monkeypatch, datafiles, path, other)
    assert datafiles.read_verified(path, hashlib.sha256(b"genuine").hexdigest(), "t", "https://x") == b"genuine"
    assert path.read_bytes() == b"swapped"


def test_read_verified_refuses_other_bytes_and_names_a_missing_file(tmp_path):
    path = tmp_path / "t" / "f.bin"
    with pytest.raises(DatasetNotFoundError, match=r"radiobench data download t --data-root .* or place the file from https://x"):
        datafiles.read_verified(path, "0" * 64, "t", "https://x")
    path.parent.mkdir()
    path.write_bytes(b"x")
    with pytest.raises(ChecksumError, match="does not match the published 0000000000000000"):
        datafiles.read_verified(path, "0" * 64, "t", "https://x")


def test_tar_members_read_from_bytes_match_the_file(shared_data):
    genuine = shared_data / "mirabest" / ARCHIVE
    names = ["F_batches/test_batch", "F_batches/batches.meta"]
    assert archives.read_tar_members(genuine, names, data=genuine.read_bytes()) == archives.read_tar_members(genuine, names)


def tiny_rgd_zip(path: Path) -> Path:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        g = h5.create_group("data_0")
        g.create_dataset("Img", data=np.zeros((300, 300), np.uint8))
        g.create_dataset("Label_literature", data=0.0)
        g.create_dataset("Split_literature", data=b"train")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("galaxy_data_h5.h5", buffer.getvalue())
    return path


def test_rgd_zip_swapped_after_its_hash_is_never_read(shared_data, tmp_path, monkeypatch):
    (tmp_path / "rgd").mkdir()
    archive = tmp_path / "rgd" / "galaxy_data_h5.zip"
    shutil.copy(shared_data / "rgd" / archive.name, archive)
    swapped = swap_after_hash(monkeypatch, datafiles, archive, tiny_rgd_zip(tmp_path / "forged.zip"))
    task = build_task(get_registry().task("rgd"))
    task.prepare(tmp_path)
    assert swapped == [archive.name]
    assert {s: len(task.load_split(s)) for s in ("train", "valid", "test")} == {"train": 1758, "valid": 200, "test": 200}


def protege_copy(shared_data: Path, root: Path) -> Path:
    """The release with the catalogue copied and every cutout a symlink (so one can be swapped cheaply)."""
    source = shared_data / "mgcls_protege"
    folder = root / "mgcls_protege"
    (folder / "catalogue").mkdir(parents=True)
    shutil.copy(source / "catalogue" / "protege_catalogue.csv", folder / "catalogue")
    (folder / "images").mkdir()
    for png in (source / "images").iterdir():
        (folder / "images" / png.name).symlink_to(png)
    return folder


@pytest.fixture
def protege(shared_data, tmp_path):
    if not (shared_data / "mgcls_protege").is_dir():
        pytest.skip("no Protege release in shared data")
    return protege_copy(shared_data, tmp_path)


def test_protege_catalogue_swapped_after_its_hash_is_never_read(shared_data, protege, tmp_path, monkeypatch):
    import pandas as pd

    catalogue = protege / "catalogue" / "protege_catalogue.csv"
    table = pd.read_csv(catalogue)
    scores = table["evaluation_subset_author_ML_score"].to_numpy()
    table["evaluation_subset_author_ML_score"] = np.roll(scores, 1)  # same counts, labels on other sources
    forged = tmp_path / "forged.csv"
    table.to_csv(forged, index=False)
    swapped = swap_after_hash(monkeypatch, datafiles, catalogue, forged)
    task = build_task(get_registry().task("mgcls_anomaly"))
    task.prepare(tmp_path)
    assert swapped == [catalogue.name]
    genuine = build_task(get_registry().task("mgcls_anomaly"))
    genuine.prepare(shared_data)
    assert np.array_equal(task.load_split("all").labels, genuine.load_split("all").labels)


def test_protege_cutout_swapped_after_the_images_hash_is_refused(protege, tmp_path):
    task = build_task(get_registry().task("mgcls_anomaly"))
    task.prepare(tmp_path)
    split = task.load_split("all")  # hashes every cutout: the identity of the pixels
    first = split.images[:1]
    # the file behind row 0, in the order the task serves rows (objid order)
    import pandas as pd

    table = pd.read_csv(protege / "catalogue" / "protege_catalogue.csv").sort_values("objid", kind="stable")
    row0, row1 = (protege / "images" / f"{r}.png" for r in table["protege_rank"].iloc[:2])
    row0.unlink()
    row0.symlink_to(os.readlink(row1))  # a valid cutout, but not the one that was hashed
    with pytest.raises(ChecksumError, match="changed since"):
        split.images[:1]
    assert first.shape == (1, 219, 219)


def test_counts_field_swapped_after_its_hash_is_refused(shared_data, tmp_path, monkeypatch):
    from astropy.io import fits
    from astropy.wcs import WCS

    import radiobench_plugins.mgcls_counts.task as counts

    folder = tmp_path / "mgcls"
    folder.mkdir()
    sources = sorted((shared_data / "fits" / "first_mirabest").glob("*.fits"))
    fields = []
    for source in sources[:2]:
        (link := folder / source.name).symlink_to(source)
        fields.append(link)
        wcs = WCS(fits.getheader(source)).celestial
        ra, dec = wcs.wcs_pix2world([[150.0, 150.0]], 0).T
        link.with_name(link.stem + ".catalogue.csv").write_text(f"RA,DEC\n{ra[0]},{dec[0]}\n")
    replacement = tmp_path / "replacement.fits"
    replacement.symlink_to(sources[5])  # a valid field, not the one hashed
    swapped = swap_after_hash(monkeypatch, counts, fields[0], replacement)
    task = build_task(get_registry().task("mgcls_counts"), {"beam_deg": [0.0015, 0.0015, 0]})
    with pytest.raises(ChecksumError, match="changed"):
        task.prepare(tmp_path)
    assert swapped == [fields[0].name]


@pytest.mark.slow
def test_a_field_rewritten_after_its_hash_never_caches_a_catalogue_under_the_old_sha(shared_data, tmp_path):
    """pyBDSF reads the field by path in a worker: if it is no longer the hashed version, nothing is cached."""
    from radiobench.astro import sourcefinding
    from radiobench.io.datafiles import sha256_and_stamp

    field = tmp_path / "field.fits"
    field.write_bytes((shared_data / "fits" / "magpis_20cm.fits").read_bytes())
    sha, stamp = sha256_and_stamp(field)
    field.write_bytes(field.read_bytes())  # rewritten in place: same bytes, but no longer provably the hashed file
    cache = tmp_path / "catalogues"
    with pytest.raises(ChecksumError, match="changed since it was hashed"):
        sourcefinding.catalogue_fields([(field, sha, stamp)], cache, processes=1)
    assert not cache.exists() or not any(cache.iterdir())
