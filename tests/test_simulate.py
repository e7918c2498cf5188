"""Simulated MeerKAT-like fields: the physics a source finder and a counting task rely on."""

import csv

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from radiobench.astro.simulate import FieldParams, power_law_fluxes, simulate_field, write_field

from conftest import radiobench_cli


@pytest.fixture(scope="module")
def field():
    return simulate_field(FieldParams(size=512, n_sources=150, seed=3))


def test_cli_writes_fits_and_truth_with_survey_keywords(tmp_path):
    out = tmp_path / "field.fits"
    done = radiobench_cli("simulate", "field", "--output", str(out), "--size", "256", "--n-sources", "40", "--seed", "1")
    assert done.returncode == 0, done.stderr
    header = fits.getheader(out)
    assert header["BUNIT"] == "JY/BEAM" and header["BMAJ"] == pytest.approx(7.5 / 3600)
    assert header["CTYPE1"] == "RA---SIN" and header["SIMSEED"] == 1 and header["SIMNSRC"] == 40
    rows = list(csv.DictReader(open(tmp_path / "field.truth.csv")))
    assert len(rows) == 40 and {"ra", "dec", "x", "y", "flux_jy", "peak_jy_beam", "kind"} <= set(rows[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.fits", "field.truth.csv"]  # no temp files left


def test_truth_positions_agree_with_the_wcs(field, tmp_path):
    write_field(field, tmp_path / "f.fits")
    wcs = WCS(fits.getheader(tmp_path / "f.fits"))
    for row in field.truth[:20]:
        x, y = wcs.wcs_world2pix([[row["ra"], row["dec"]]], 0)[0]
        assert abs(x - row["x"]) < 0.01 and abs(y - row["y"]) < 0.01


def test_nan_outside_the_primary_beam_radius_only(field):
    size = field.image.shape[0]
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(xx - (size - 1) / 2, yy - (size - 1) / 2)
    inside = r <= 0.9 * size / 2
    assert np.isfinite(field.image[inside]).all() and np.isnan(field.image[~inside]).all()


def test_noise_level_away_from_sources_matches_the_requested_rms():
    field = simulate_field(FieldParams(size=512, n_sources=10, seed=4))
    size = field.image.shape[0]
    centre = (size - 1) / 2
    quiet = np.ones_like(field.image, dtype=bool)
    yy, xx = np.mgrid[0:size, 0:size]
    for row in field.truth:  # mask 8 beams around every source
        quiet &= np.hypot(xx - row["x"], yy - row["y"]) > 8 * 7.5 / 1.5
    quiet &= np.hypot(xx - centre, yy - centre) < 100  # where the primary beam is within 1 % of 1
    assert quiet.sum() > 1000
    assert np.std(field.image[quiet]) == pytest.approx(5e-6, rel=0.25)


def test_bright_point_sources_have_their_catalogue_peak(field):
    points = sorted((r for r in field.truth if r["kind"] == "point"), key=lambda r: -r["flux_jy"])[:5]
    for row in points:
        value = field.image[int(round(row["y"])), int(round(row["x"]))]
        assert value == pytest.approx(row["peak_jy_beam"], rel=0.1, abs=5 * 5e-6 * 3)  # pixel offset + PB noise
        assert row["peak_jy_beam"] == pytest.approx(row["flux_jy"])  # a point source's peak is its flux


def test_extended_sources_spread_their_flux(field):
    ext = [r for r in field.truth if r["kind"] == "extended"]
    assert ext and all(r["peak_jy_beam"] < r["flux_jy"] for r in ext)


def test_flux_distribution_follows_the_power_law():
    fluxes = power_law_fluxes(np.random.default_rng(0), 200_000, 1.7, 2e-5, 5e-2)
    # maximum-likelihood slope of a power law truncated far above its lower bound
    slope = 1 + len(fluxes) / np.log(fluxes / 2e-5).sum()
    assert slope == pytest.approx(1.7, abs=0.03) and fluxes.min() >= 2e-5 and fluxes.max() <= 5e-2


def test_same_seed_same_field_and_bad_parameters_refused(tmp_path):
    a = simulate_field(FieldParams(size=64, n_sources=5, seed=7))
    b = simulate_field(FieldParams(size=64, n_sources=5, seed=7))
    assert np.array_equal(a.image, b.image, equal_nan=True)
    done = radiobench_cli("simulate", "field", "--output", str(tmp_path / "x.fits"), "--size", "8")
    assert done.returncode == 2 and "--size is 8; it must be at least 32" in done.stderr and not (tmp_path / "x.fits").exists()


# MGCLS-pointing structure: a cluster whose density rises towards its centre, depth that varies per field


def test_cluster_members_crowd_towards_the_cluster_centre():
    field = simulate_field(FieldParams(size=1024, n_sources=0, cluster_members=400, cluster_core_arcsec=60.0,
                                       cluster_offset_arcsec=(30.0, -45.0), seed=2))
    members = [r for r in field.truth if r["kind"].startswith("member")]
    assert len(members) == 400
    cx, cy = 511.5 - 30.0 / 1.5, 511.5 - 45.0 / 1.5  # east is -x, south is -y
    r = np.hypot([m["x"] - cx for m in members], [m["y"] - cy for m in members])
    # surface density in annuli of 0-40, 40-120 and 120-360 pixels falls outwards (core radius 40 pixels)
    edges = np.array([0, 40, 120, 360])
    density = np.histogram(r, edges)[0] / (np.pi * np.diff(edges**2))
    assert density[0] > 3 * density[1] > 9 * density[2] > 0
    # beta model (beta = 2/3): half the members inside x = sqrt(3) core radii, before truncation
    assert 0.35 < np.mean(r < np.sqrt(3) * 40) < 0.6


def test_mgcls_pointings_vary_depth_richness_and_structure_between_fields():
    from radiobench.astro.simulate import mgcls_pointing

    params = [mgcls_pointing(seed, size=256) for seed in range(40)]
    rms = np.array([p.rms for p in params])
    assert rms.min() >= 3e-6 and rms.max() <= 20e-6 and rms.max() / rms.min() > 3
    members = np.array([p.cluster_members for p in params])
    assert members.min() >= 20 and members.max() <= 600 and members.max() / members.min() > 5
    assert 0 < np.mean([p.halo_flux > 0 for p in params]) < 1 and 0 < np.mean([p.relic_flux > 0 for p in params]) < 1
    assert mgcls_pointing(3, size=256) == mgcls_pointing(3, size=256) and mgcls_pointing(3, rms=1e-5).rms == 1e-5


def test_per_field_depth_shows_in_the_pixels():
    from radiobench.astro.simulate import mgcls_pointing

    quiet = []
    for seed in range(4):
        p = mgcls_pointing(seed, size=256, n_sources=0, cluster_members=0, halo_flux=0.0, relic_flux=0.0, n_bright=0)
        image = simulate_field(p).image
        quiet.append((p.rms, float(np.nanstd(image[96:160, 96:160]))))
    for rms, measured in quiet:
        assert measured == pytest.approx(rms, rel=0.3)
    assert max(r for r, _ in quiet) / min(r for r, _ in quiet) > 1.5


def test_diffuse_bright_and_artefact_components_are_recorded_and_drawn():
    base = dict(size=512, n_sources=0, seed=5, cluster_members=10, rms=5e-6)
    plain = simulate_field(FieldParams(**base))
    rich = simulate_field(FieldParams(**base, halo_flux=0.02, relic_flux=0.02, n_bright=2, artefact_level=0.02))
    kinds = {r["kind"] for r in rich.truth}
    assert {"halo", "relic", "bright_extended", "member"} <= kinds
    centre = slice(236, 276)
    assert np.nanmean(rich.image[centre, centre]) > np.nanmean(plain.image[centre, centre]) + 5e-6  # the halo
    compact = [r for r in rich.truth if r["kind"] == "member"]
    assert all(np.isfinite(r["local_rms"]) and r["local_rms"] >= 5e-6 for r in compact)


def test_new_parameters_are_refused_with_their_name():
    with pytest.raises(ValueError, match="cluster_members is -1"):
        FieldParams(cluster_members=-1)
    with pytest.raises(ValueError, match="halo_flux is nan"):
        FieldParams(halo_flux=float("nan"))


def test_cli_simulates_an_mgcls_pointing_with_overrides(tmp_path):
    out = tmp_path / "pointing.fits"
    done = radiobench_cli("simulate", "field", "--output", str(out), "--size", "256", "--n-sources", "20",
                          "--mgcls-pointing", "--cluster-members", "30", "--halo-flux", "0.01", "--seed", "4")
    assert done.returncode == 0, done.stderr
    header = fits.getheader(out)
    assert header["SIMCLNUM"] == 30 and header["SIMHALO"] == 0.01 and 3e-6 <= header["SIMRMS"] <= 20e-6
    kinds = {row["kind"] for row in csv.DictReader(open(tmp_path / "pointing.truth.csv"))}
    assert {"member", "halo"} <= kinds
    done = radiobench_cli("simulate", "field", "--output", str(out), "--cluster-members", "-3")
    assert done.returncode == 2 and "--cluster-members is -3; it must be 0 or more" in done.stderr
