"""Reading survey FITS files: the real FIRST and MAGPIS images, simulated MeerKAT fields, and broken files."""

import hashlib

import numpy as np
import pytest
from astropy.io import fits

from radiobench.fitsimage import FitsImageError, read_radio_image
from radiobench.simulate import FieldParams, simulate_field, write_field

FIRST_BEAM = (5.4 / 3600, 5.4 / 3600, 0.0)


@pytest.fixture(scope="module")
def first_files(shared_data):
    folder = shared_data / "fits" / "first_mirabest"
    expected = dict(line.split()[::-1] for line in (shared_data / "fits" / "first_mirabest.sha256").read_text().splitlines())
    files = sorted(folder.glob("*.fits"))
    assert len(files) == 40
    for path in files[:5]:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[path.name]
    return files


def test_first_cutout_needs_a_beam_and_then_reads(first_files):
    with pytest.raises(FitsImageError, match=r"no BMAJ/BMIN beam keywords; give the restoring beam as --beam"):
        read_radio_image(first_files[0])
    image = read_radio_image(first_files[0], beam_deg=FIRST_BEAM)
    assert image.data.shape == (300, 300) and image.data.dtype == np.float32 and image.data.dtype.isnative
    assert image.pixel_deg == pytest.approx(1.8 / 3600) and image.beam_pixels == pytest.approx(3.0)
    assert np.nanmax(image.data) > 10 * np.nanstd(image.data[:40, :40])  # a bright radio galaxy in Jy/beam


def test_magpis_galactic_image_with_beam_keywords(shared_data):
    image = read_radio_image(shared_data / "fits" / "magpis_20cm.fits")
    assert image.data.shape == (300, 300) and image.beam_deg[0] == pytest.approx(0.0017222)
    assert image.wcs.wcs.ctype[0].startswith("GLON")


def test_simulated_field_round_trip_with_nan_border(tmp_path):
    field = simulate_field(FieldParams(size=128, n_sources=10, seed=2))
    write_field(field, tmp_path / "f.fits")
    image = read_radio_image(tmp_path / "f.fits")
    assert np.array_equal(image.data, field.image, equal_nan=True)
    assert 0.5 < image.finite_fraction < 0.7 and image.beam_deg[0] == pytest.approx(7.5 / 3600)


def _write(path, data, **cards):
    header = fits.Header()
    for k, v in {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CDELT1": -4e-4, "CDELT2": 4e-4, "CRVAL1": 10.0,
                 "CRVAL2": -30.0, "CRPIX1": 8, "CRPIX2": 8, "BMAJ": 2e-3, "BMIN": 2e-3, "BPA": 0.0, **cards}.items():
        if v is not None:
            header[k] = v
    fits.PrimaryHDU(data, header=header).writeto(path)
    return path


def test_mgcls_style_cube_gives_plane_zero(tmp_path):
    cube = np.random.default_rng(0).normal(size=(1, 5, 16, 16)).astype(">f4")  # big-endian, as on disk
    cube[0, 0] += 100
    path = _write(tmp_path / "Abell_5pln_cor.FITS", cube, CTYPE3="FREQ", CTYPE4="STOKES")
    image = read_radio_image(path)
    assert image.data.mean() > 50 and image.data.dtype.isnative
    assert read_radio_image(path, plane=1).data.mean() < 5
    with pytest.raises(FitsImageError, match="plane 7 requested but the plane axis has 5 planes"):
        read_radio_image(path, plane=7)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"SIMPLE  =                    T" + b" " * 50), "not a readable FITS image"),
    (lambda p: _write(p, np.full((16, 16), np.nan, np.float32)), "no finite pixel"),
    (lambda p: _write(p, np.zeros((3, 16, 16), np.float32), CTYPE3="VRAD"), r"unexpected extra axes \(axis 3 VRAD of length 3\)"),
    (lambda p: _write(p, np.zeros((16, 16), np.float32), CTYPE1=None, CTYPE2=None), "no celestial WCS"),
])
def test_bad_fits_files_are_refused_with_the_reason(tmp_path, make, message):
    path = tmp_path / "bad.fits"
    make(path)
    with pytest.raises(FitsImageError, match=message):
        read_radio_image(path)


def test_truncated_real_file_is_refused(first_files, tmp_path):
    data = first_files[0].read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FitsImageError, match="truncated or corrupt"):
        read_radio_image(cut, beam_deg=FIRST_BEAM)
