"""Compact-source counting: crops, labels from pyBDSF or a catalogue, grouped splits, bad input."""

from __future__ import annotations

import csv
import http.server
import json
import threading
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import radiobench_cli
from radiobench.astro import crops
from radiobench.astro.catalogues import CatalogueError, read_positions
from radiobench.errors import DatasetNotFoundError, RadiobenchError
from radiobench.astro.fitsimage import FitsImageError
from radiobench.protocols import grouped_partition
from radiobench.registry import get_registry
from radiobench.run import RunOptions, build_task, run_pair
from radiobench.testing import registry_with

SMALL_SIM = {"n_fields": 4, "size": 768, "n_sources": 220, "pb_radius": 1.0}
FIRST_BEAM = "0.0015,0.0015,0"  # 5.4 arcsec


def test_crop_origins_cover_the_axis_with_the_fewest_evenly_overlapping_crops():
    assert crops.origins(256, 256) == [0]
    assert crops.origins(300, 256) == [0, 44]
    starts = crops.origins(1000, 256)
    assert len(starts) == 4 and starts[0] == 0 and starts[-1] + 256 == 1000
    overlaps = [a + 256 - b for a, b in zip(starts, starts[1:])]
    assert max(overlaps) - min(overlaps) <= 1  # spread evenly, not piled at one edge
    with pytest.raises(RadiobenchError, match="crop size 512 is larger than the field"):
        crops.origins(300, 512)


def test_tiling_rejects_crops_touching_nan_and_counts_sources_by_pixel():
    image = np.ones((512, 512), dtype=np.float32)
    image[0, 511] = np.nan  # spoils only the top-right crop
    tiling = crops.tile(image, 256)
    assert tiling.corners == [(0, 0), (256, 0), (256, 256)] and tiling.rejected == 1
    # x (column), y (row): 255.4 rounds into the first crop, 255.6 into the next
    x, y = np.array([10.0, 255.4, 255.6, 300.0]), np.array([10.0, 10.0, 300.0, 300.0])
    assert crops.count_in_crops(x, y, tiling).tolist() == [2, 0, 2]


def test_percentile_scaling_maps_the_2_to_98_range_to_unit_and_clips():
    image = np.linspace(0, 100, 10000, dtype=np.float32).reshape(100, 100)
    image[0, 0] = np.nan
    lo, hi = crops.percentile_range(image)
    assert lo == pytest.approx(2.0, abs=0.02) and hi == pytest.approx(98.0, abs=0.02)
    scaled = crops.scale(np.array([0.0, 50.0, 100.0]), lo, hi)
    assert scaled[0] == 0.0 and scaled[2] == 1.0 and scaled[1] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(RadiobenchError, match="flat"):
        crops.percentile_range(np.zeros((8, 8)))


def test_asinh_stretch_keeps_bright_peaks_ordered_where_the_linear_clip_flattens_them():
    lo, hi = -2.0, 2.0  # a noise-dominated field's 2-98 range: +-2 sigma
    sigmas = np.array([-3.0, -2.0, 0.0, 5.0, 20.0, 100.0, 397.0, 1000.0])
    linear, stretched = crops.scale(sigmas, lo, hi), crops.scale(sigmas, lo, hi, saturate=100.0)
    assert linear[3] == linear[4] == linear[5] == 1.0  # 5, 20 and 100 sigma: one flat blob
    assert stretched[0] == stretched[1] == 0.0 and np.all(np.diff(stretched[1:-1]) > 0)  # ordered up to saturation
    assert 0.999 < stretched[-2] < 1.0 and stretched[-1] == 1.0  # (397 + 2) / 4 = 99.75x the range: just below 1
    # over the noise it stays near linear: a stretch of the study's scaling, not a different normalisation
    assert crops.scale(np.array([-1.0]), lo, hi, 100.0)[0] == pytest.approx(np.arcsinh(0.25) / np.arcsinh(100.0), rel=1e-5)
    assert stretched.dtype == np.float32
    with pytest.raises(RadiobenchError, match="saturate is 0.5; give a number above 1"):
        crops.scale(sigmas, lo, hi, saturate=0.5)


def test_bad_stretch_and_first_seed_options_are_refused_in_one_line(tmp_path, monkeypatch):
    registered = get_registry().task("sim_counts")
    with pytest.raises(RadiobenchError, match="sim_counts: asinh_saturate is 1; give a number above 1"):
        build_task(registered, {"asinh_saturate": 1})
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    task = build_task(registered, {"simulate": {**SMALL_SIM, "first_seed": -1}})
    with pytest.raises(RadiobenchError, match=r"simulate.first_seed is -1; give a whole number, 0 or more"):
        task.prepare(tmp_path / "data")
    assert not any(task.folder(tmp_path).glob("*.fits"))


def test_first_seed_names_and_seeds_the_simulated_fields(tmp_path, monkeypatch):
    from astropy.io import fits

    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    recipe = {"n_fields": 2, "first_seed": 7, "size": 256, "n_sources": 20, "pb_radius": 1.0}
    task = build_task(get_registry().task("sim_counts"), {"simulate": recipe})
    folder = task.folder(tmp_path)
    task._simulate(folder)
    assert sorted(p.name for p in folder.glob("*.fits")) == ["field_007.fits", "field_008.fits"]
    assert [fits.getheader(folder / f"field_00{i}.fits")["SIMSEED"] for i in (7, 8)] == [7, 8]
    assert task.data_present(tmp_path)
    # a different first seed is a different recipe: its own folder, so design fields never mix with scored ones
    assert build_task(get_registry().task("sim_counts"), {"simulate": {**recipe, "first_seed": 9}}).folder(tmp_path) != folder


def test_grouped_partition_keeps_groups_whole_follows_fractions_and_moves_with_the_seed():
    groups = np.repeat([f"field{i}" for i in range(20)], np.arange(20) % 5 + 10)  # unequal fields
    folds = [grouped_partition(groups, (0.7, 0.2, 0.1), seed) for seed in range(5)]
    for fold in folds:
        parts = [set(groups[fold.train]), set(groups[fold.valid]), set(groups[fold.test])]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(fold.train) + len(fold.valid) + len(fold.test) == len(groups)
        assert abs(len(fold.train) / len(groups) - 0.7) < 0.08 and len(fold.test) > 0 and len(fold.valid) > 0
    assert np.array_equal(folds[0].test, grouped_partition(groups, (0.7, 0.2, 0.1), 0).test)
    assert len({tuple(f.test) for f in folds}) > 1
    with pytest.raises(RadiobenchError, match="at least 3 groups"):
        grouped_partition(np.array(["a", "a", "b"]), (0.7, 0.2, 0.1), 0)
    with pytest.raises(RadiobenchError, match=r"put 1 item in its (train|valid|test) part.*at least 2; add fields"):
        grouped_partition(np.array(["a"] * 8 + ["b", "c"]), (0.7, 0.2, 0.1), 0)  # what a small --limit leaves


@pytest.fixture(scope="module")
def sim_task(tmp_path_factory):
    """Four small simulated fields through the real pipeline (pyBDSF in two processes)."""
    root = tmp_path_factory.mktemp("sim")
    registered = get_registry().task("sim_counts")
    task = build_task(registered, {"simulate": SMALL_SIM, "crop": 128, "processes": 2})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADIOBENCH_CACHE", str(root / "cache"))
        task.prepare(root / "data")
        task.fields_folder = task.folder(root / "data")
    assert not (root / "data").exists()  # simulated fields go to the cache, never into the data root
    return task, root


def truth_counts(task, folder: Path) -> np.ndarray:
    """Injected sources (of any size) at >= 5 sigma peak per crop, from the truth catalogues."""
    split = task.load_split("all")
    counts = []
    for crop_id in split.ids:
        name, row, col = crop_id.split(":")
        with open(folder / name.replace(".fits", ".truth.csv")) as handle:
            rows = list(csv.DictReader(handle))
        x = np.array([float(r["x"]) for r in rows if float(r["peak_jy_beam"]) >= 5 * 5e-6])
        y = np.array([float(r["y"]) for r in rows if float(r["peak_jy_beam"]) >= 5 * 5e-6])
        tiling = crops.Tiling([(int(row), int(col))], 0, 128)
        counts.append(crops.count_in_crops(x, y, tiling)[0])
    return np.array(counts)


@pytest.mark.slow
def test_simulated_pipeline_labels_follow_the_injected_sources(sim_task):
    task, root = sim_task
    split = task.load_split("all")
    assert split.images.shape[1:] == (128, 128) and split.images.dtype == np.float32
    assert 0.0 <= split.images.min() and split.images.max() <= 1.0 and np.isfinite(split.images).all()
    assert set(split.groups) == {f"field_{i:03d}.fits" for i in range(4)}
    meta = task.metadata()
    assert meta["source_finder"]["params"]["thresh_isl"] == 3.0 and meta["source_finder"]["compact_codes"] == ["S"]
    assert all(f["labels_from"] == "pybdsf" and f["crops_rejected_nan"] > 0 for f in meta["fields"])
    assert all(f["percentile_range"][0] < 0 < f["percentile_range"][1] for f in meta["fields"])
    truth = truth_counts(task, task.fields_folder)
    r = np.corrcoef(split.labels, truth)[0, 1]
    assert r > 0.8, (r, split.labels[:10], truth[:10])  # pyBDSF finds what was injected
    assert len(task.data_sha256) == 64 and task.data_sha256 != task.spec.data_sha256


def test_counting_run_splits_by_field_and_records_the_pipeline(sim_task, tmp_path):
    task, root = sim_task
    spec = replace(task.spec, name="sim_small", options={"simulate": SMALL_SIM, "crop": 128})
    reg = registry_with(spec)
    opts = RunOptions(protocols=["linear", "knn"], seeds=3, data_root=root / "data", results_dir=tmp_path / "results",
                      cache_dir=tmp_path / "cache", device="cpu")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADIOBENCH_CACHE", str(root / "cache"))  # the fixture's pyBDSF catalogues are reused
        outcomes = run_pair(reg, "fake_backbone", "sim_small", opts)
    assert [o.status for o in outcomes] == ["done", "done"]
    res = json.loads(outcomes[0].path.read_text())
    assert res["task"]["simulated"] is True and res["main_score"]["name"] == "mse"
    assert res["task"]["evaluation"]["method"].startswith("grouped partition") and res["task"]["evaluation"]["groups"] == 4
    assert res["task"]["metadata"]["fields"][0]["pybdsf_seconds"] is None  # catalogue reused from the cache
    sizes = res["protocol"]["sizes_per_seed"]
    assert all(s["train"] + s["valid"] + s["test"] == len(task.load_split("all")) for s in sizes)
    assert all("alpha" in c and c["selection"] == "validation neg_mean_squared_error" for c in res["protocol"]["chosen_per_seed"])
    assert set(res["metrics"]) >= {"mse", "mae", "r2"} and len(res["metrics"]["mse"]["per_seed"]) == 3
    assert res["task"]["data_sha256"] == task.data_sha256


def first_fields(shared_data: Path, folder: Path, n: int = 6) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    links = []
    for source in sorted((shared_data / "fits" / "first_mirabest").glob("*.fits"))[:n]:
        (link := folder / source.name).symlink_to(source)
        links.append(link)
    return links


@pytest.mark.slow
def test_real_first_fields_need_a_beam_and_count_with_one(shared_data, tmp_path):
    first_fields(shared_data, tmp_path / "data" / "mgcls")
    env = {"RADIOBENCH_CACHE": str(tmp_path / "cache")}
    args = ["run", "--backbone", "pixels", "--task", "mgcls_counts", "--data-root", str(tmp_path / "data"),
            "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--seeds", "2"]
    missing = radiobench_cli(*args, env=env)
    assert missing.returncode == 1 and "no BMAJ/BMIN beam keywords; give the restoring beam as --beam" in missing.stdout
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())
    done = radiobench_cli(*args, "--beam", FIRST_BEAM, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    res = json.loads((tmp_path / "results" / "pixels__mgcls_counts__linear.json").read_text())
    fields = res["task"]["metadata"]["fields"]
    assert len(fields) == 6 and all(f["beam_deg"] == [0.0015, 0.0015, 0.0] for f in fields)
    # 300 px fields give 2x2 overlapping 256 px crops; cutouts at the survey edge hold NaN and give none
    assert all(f["crops"] + f["crops_rejected_nan"] == 4 for f in fields) and sum(f["crops"] > 0 for f in fields) >= 3
    assert all(f["pybdsf_sources"] >= 1 for f in fields)  # every MiraBest cutout is centred on a radio source
    assert all(f["frequency_from"] == "assumed (none in header)" for f in fields)
    assert res["task"]["options"]["beam_deg"] == [0.0015, 0.0015, 0.0]
    assert np.isfinite(res["main_score"]["mean"])


def write_catalogue(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_catalogue_beside_the_field_gives_the_labels(shared_data, tmp_path):
    folder = tmp_path / "mgcls"
    (field := first_fields(shared_data, folder, 3))
    from astropy.io import fits
    from astropy.wcs import WCS

    for path in field:
        wcs = WCS(fits.getheader(path)).celestial
        ra, dec = wcs.wcs_pix2world([[20.0, 20.0], [150.0, 150.0], [290.0, 10.0]], 0).T
        write_catalogue(path.with_name(path.stem + ".catalogue.csv"), [{"RA": a, "DEC": d} for a, d in zip(ra, dec)])
    task = build_task(get_registry().task("mgcls_counts"), {"beam_deg": [0.0015, 0.0015, 0]})
    task.prepare(tmp_path)
    split = task.load_split("all")
    # crops start at 0 and 44 on each axis: (20,20) is in crop (0,0) only; (150,150) in all four; (290,10) -> (0,44)
    # (one of these cutouts touches the survey edge: its NaN-holding crops are dropped, with their labels)
    assert len(split) >= 8 and split.labels.reshape(-1, 4).tolist() == [[2, 2, 1, 1]] * (len(split) // 4)
    assert task.metadata()["source_finder"] is None
    assert all(f["labels_from"].endswith(".catalogue.csv") for f in task.metadata()["fields"])


def test_the_percentiles_option_sets_each_fields_range_and_bad_ones_are_refused(shared_data, tmp_path):
    folder = tmp_path / "mgcls"
    for path in first_fields(shared_data, folder, 2):
        write_catalogue(path.with_name(path.stem + ".catalogue.csv"), [{"RA": 0.0, "DEC": 0.0}])
    ranges = {}
    for percentiles in ([2.0, 98.0], [2.0, 99.9]):
        task = build_task(get_registry().task("mgcls_counts"), {"beam_deg": [0.0015, 0.0015, 0], "percentiles": percentiles})
        task.prepare(tmp_path)
        meta = task.metadata()
        assert meta["percentiles"] == percentiles
        ranges[percentiles[1]] = [f["percentile_range"] for f in meta["fields"]]
    for (lo98, hi98), (lo999, hi999) in zip(ranges[98.0], ranges[99.9]):
        assert lo98 == lo999 and hi999 > hi98  # the same 2nd percentile, a higher ceiling
    with pytest.raises(RadiobenchError, match=r"percentiles is \[98.0, 2.0\]; give two numbers, 0 <= low < high <= 100"):
        build_task(get_registry().task("mgcls_counts"), {"percentiles": [98, 2]})


@pytest.mark.slow
@pytest.mark.parametrize("rows, message", [
    ([{"name": "a", "flux": 1.0}], r"no RA and Dec column .* the file has name, flux"),
    ([{"RA": 10.0, "Dec_x": 5.0}], r"no Dec column"),
    ([{"RA": 10.0, "DEC": 95.0}], r"1 rows have missing or impossible positions"),
])
def test_bad_catalogues_are_refused_and_nothing_is_cached(shared_data, tmp_path, rows, message):
    field, = first_fields(shared_data, tmp_path / "data" / "mgcls", 1)
    write_catalogue(field.with_name(field.stem + ".catalogue.csv"), rows)
    with pytest.raises(CatalogueError, match=message):
        read_positions(field.with_name(field.stem + ".catalogue.csv"))
    first_fields(shared_data, tmp_path / "more", 3)  # the grouped split needs three fields
    for extra in sorted((tmp_path / "more").iterdir())[1:]:
        (tmp_path / "data" / "mgcls" / extra.name).symlink_to(extra.resolve())
    opts = RunOptions(data_root=tmp_path / "data", results_dir=tmp_path / "results", cache_dir=tmp_path / "cache",
                      device="cpu", task_options={"mgcls_counts": {"beam_deg": [0.0015, 0.0015, 0]}})
    with pytest.raises(CatalogueError, match=message):
        run_pair(get_registry(), "pixels", "mgcls_counts", opts)
    assert not (tmp_path / "results").exists() and not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_bad_fields_are_named_and_nothing_is_cached(shared_data, tmp_path):
    folder = tmp_path / "data" / "mgcls"
    first_fields(shared_data, folder, 3)
    task = build_task(get_registry().task("mgcls_counts"), {"beam_deg": [0.0015, 0.0015, 0], "crop": 512})
    with pytest.raises(RadiobenchError, match="crop size 512 is larger than the field"):
        task.prepare(tmp_path / "data")
    good = sorted(folder.iterdir())[0].resolve().read_bytes()
    (folder / "zz_truncated.fits").write_bytes(good[: len(good) // 2])
    opts = RunOptions(data_root=tmp_path / "data", results_dir=tmp_path / "results", cache_dir=tmp_path / "cache",
                      device="cpu", task_options={"mgcls_counts": {"beam_deg": [0.0015, 0.0015, 0]}})
    with pytest.raises(FitsImageError, match="zz_truncated.fits: not a readable FITS image"):
        run_pair(get_registry(), "pixels", "mgcls_counts", opts)
    (folder / "zz_truncated.fits").write_bytes(pickle.dumps(Exploit()))  # a pickle posing as FITS
    with pytest.raises(FitsImageError, match="zz_truncated.fits"):
        run_pair(get_registry(), "pixels", "mgcls_counts", opts)
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "results").exists() and not (tmp_path / "cache").exists()


class Exploit:
    def __reduce__(self):
        import os

        return (os.mkdir, (str(Path.cwd() / "pwned"),))


def test_no_fields_says_where_to_put_them(tmp_path):
    task = build_task(get_registry().task("mgcls_counts"))
    with pytest.raises(DatasetNotFoundError, match=r"no FITS fields in .*mgcls; place MGCLS \*_5pln_cor.FITS"):
        task.prepare(tmp_path)


@pytest.mark.parametrize("beam, message", [
    ("5.4", "expected BMAJ,BMIN,BPA in degrees"),
    ("0.001,0.002,0", "BMAJ >= BMIN > 0"),
])
def test_bad_beam_arguments_are_refused_before_running(beam, message):
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mgcls_counts", "--beam", beam)
    assert done.returncode == 2 and message in done.stderr
    other = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--beam", "0.0015,0.0015,0")
    assert other.returncode == 2 and "--beam '0.0015,0.0015,0' applies to tasks that read FITS fields (mgcls_counts" in other.stderr
    assert "none of which is among --task mirabest" in other.stderr


def mgcls_like_cube(path: Path, seed: int) -> list[tuple[float, float]]:
    """A gzipped 5-plane cube shaped like an MGCLS enhanced product; returns its brightest source positions."""
    from astropy.io import fits

    from radiobench.astro.simulate import FieldParams, simulate_field

    field = simulate_field(FieldParams(size=512, n_sources=60, seed=seed, ra_deg=10.0 * seed, pb_radius=1.0))
    header = fits.Header()
    for key, value in field.header.items():
        header[key] = value
    header.update({"CTYPE3": "FREQ", "CRVAL3": 1.28e9, "CDELT3": 1e8, "CRPIX3": 1.0, "CUNIT3": "Hz"})
    plane = np.nan_to_num(field.image)  # unblanked, so all four 256 px crops survive
    cube = np.stack([plane] + [plane * 0.5] * 4).astype(">f4")  # big-endian, as on disk
    fits.PrimaryHDU(cube, header=header).writeto(path)
    bright = sorted(field.truth, key=lambda r: -r["peak_jy_beam"])[:10]
    return [(r["ra"], r["dec"]) for r in bright]


class FakeArchive(http.server.BaseHTTPRequestHandler):
    files: dict = {}

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        if url.path == "/public":
            query = parse_qs(url.query)
            keys = sorted(k for k in self.files if k.startswith(query["prefix"][0]))
            page, more = (keys[1:], "false") if query.get("continuation-token") == ["page2"] else (keys[:1], "true")
            body = ('<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                    + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
                    + f"<IsTruncated>{more}</IsTruncated><NextContinuationToken>page2</NextContinuationToken>"
                    "</ListBucketResult>").encode()
        elif url.path.startswith("/public/") and url.path[8:] in self.files:
            body = self.files[url.path[8:]]
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_mgcls_download_lists_the_release_and_labels_come_from_the_survey_catalogue(tmp_path, monkeypatch):
    from astropy.table import Table

    from radiobench_plugins.mgcls_counts import download

    stage = tmp_path / "stage"
    stage.mkdir()
    positions, files = [], {}
    for seed, name in enumerate(["Abell_13_noFix", "Bullet_aFix", "J0225.9-4154_aFix"], start=1):
        path = stage / f"{name}{download.CUBE_SUFFIX}"
        positions += mgcls_like_cube(path, seed)
        files[download.CUBES + path.name] = path.read_bytes()
    files[download.CUBES + "Bullet_aFix_pol_I_15arcsec_5pln_cor.fits.gz"] = b"convolved copy, not wanted"
    Table({"RA_deg": [p[0] for p in positions], "Dec_deg": [p[1] for p in positions]}).write(stage / "cat.fits")
    files[download.RELEASE + download.CATALOGUE] = (stage / "cat.fits").read_bytes()
    FakeArchive.files = files
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeArchive)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("RADIOBENCH_MGCLS_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        done = radiobench_cli("data", "download", "mgcls_counts", "--data-root", str(tmp_path / "data"))
    finally:
        httpd.shutdown()
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "data" / "mgcls"
    assert sorted(p.name for p in folder.glob("*.fits.gz")) == sorted(
        n.rsplit("/", 1)[1] for n in files if n.endswith(download.CUBE_SUFFIX))
    assert all((folder / (p.name + ".sha256")).is_file() for p in folder.glob("*.gz"))  # no published checksums
    task = build_task(get_registry().task("mgcls_counts"))
    task.prepare(tmp_path / "data")
    meta = task.metadata()
    assert meta["source_finder"] is None and len(meta["fields"]) == 3
    assert all(f["labels_from"] == download.CATALOGUE and f["compact_sources"] == 10 for f in meta["fields"])
    assert all(f["beam_deg"][0] == pytest.approx(7.5 / 3600) for f in meta["fields"])
    split = task.load_split("all")
    assert len(split) == 12 and split.labels.sum() >= 30  # each field's 10 catalogue sources land in its crops


def test_pybdsf_recovers_the_bright_injected_point_sources(sim_task):
    from radiobench.astro import sourcefinding
    from radiobench.io.download import sha256_file

    task, root = sim_task
    fields = sorted(task.fields_folder.glob("field_*.fits"))
    found = sourcefinding.catalogue_fields([(p, sha256_file(p)) for p in fields], root / "cache" / "sourcefinding",
                                           processes=1)
    assert all(seconds is None for _, seconds in found.values())  # the fixture's catalogues, from the cache
    hits = total = 0
    beam_pixels = 7.5 / 1.5
    for path in fields:
        from astropy.io import fits
        from astropy.wcs import WCS

        rows = found[path][0]
        xy = WCS(fits.getheader(path)).wcs_world2pix(np.array([[r["ra"], r["dec"]] for r in rows]), 0)
        with open(path.with_name(path.stem + ".truth.csv")) as handle:
            bright = [r for r in csv.DictReader(handle) if r["kind"] == "point" and float(r["peak_jy_beam"]) >= 10 * 5e-6]
        total += len(bright)
        hits += sum(np.hypot(xy[:, 0] - float(r["x"]), xy[:, 1] - float(r["y"])).min() < beam_pixels for r in bright)
    assert total >= 40 and hits / total >= 0.95, (hits, total)


@pytest.mark.slow
def test_magpis_galactic_field_counts_beside_first_cutouts(shared_data, tmp_path):
    folder = tmp_path / "mgcls"
    first_fields(shared_data, folder, 2)
    (folder / "magpis_20cm.fits").symlink_to(shared_data / "fits" / "magpis_20cm.fits")
    task = build_task(get_registry().task("mgcls_counts"), {"beam_deg": [0.0015, 0.0015, 0]})
    task.prepare(tmp_path)
    magpis = next(f for f in task.metadata()["fields"] if f["file"] == "magpis_20cm.fits")
    assert magpis["beam_deg"] != [0.0015, 0.0015, 0.0]  # its own BMAJ/BMIN win over --beam
    assert magpis["crops"] == 4 and magpis["pybdsf_sources"] >= 1 and magpis["labels_from"] == "pybdsf"
    assert "magpis_20cm.fits" in set(task.load_split("all").groups)


def test_a_known_pybdsf_incompatibility_says_what_to_install():
    from radiobench.astro.sourcefinding import _known_fix

    seen = ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they are 2 and 2 dimensional instead.")
    assert "pip install 'numpy<2.5'" in _known_fix(seen)
    assert _known_fix(RuntimeError("No islands found")) == ""
