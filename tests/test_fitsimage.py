"""Reading survey FITS files: the real FIRST and MAGPIS images, simulated MeerKAT fields, and broken files."""

import hashlib

import numpy as np
import pytest
from astropy.io import fits

from radiobench.astro.fitsimage import FitsImageError, read_radio_image
from radiobench.astro.simulate import FieldParams, simulate_field, write_field

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
    (lambda p: _write(p, np.ones((16, 16, 3), np.float32), CTYPE1="FREQ", CTYPE2="RA---SIN", CTYPE3="DEC--SIN",
                      CDELT1=1e6, CDELT3=4e-4, CRVAL3=-30.0, CRPIX3=8),
     r"bad.fits: the celestial axes are FITS axes 2 and 3; radiobench reads images whose axes 1 and 2 are the sky"),
    (lambda p: _write(p, np.ones((16, 1), np.float32)), r"bad.fits: the header declares no usable image area \(1x16 pixels\)"),
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


def test_cube_with_any_extra_axes_gives_plane_zero_of_each(tmp_path):
    """A 5-plane cube whose plane axis is not FREQ (here a spare VRAD axis, then STOKES) still reads: plane 0 of each."""
    cube = np.zeros((2, 5, 16, 16), ">f4")
    cube[0, 0] = 100.0
    cube[0, 3] = 3.0
    path = _write(tmp_path / "Abell_5pln_cor.FITS", cube, CTYPE3="VRAD", CTYPE4="STOKES")
    assert read_radio_image(path).data.mean() == 100.0
    assert read_radio_image(path, plane=3).data.mean() == 3.0  # ``plane`` picks along the first extra axis
    no_ctype = _write(tmp_path / "planes.fits", cube[0])
    assert read_radio_image(no_ctype).data.mean() == 100.0
    with pytest.raises(FitsImageError, match=r"planes.fits: plane 5 requested but the plane axis has 5 planes"):
        read_radio_image(no_ctype, plane=5)


@pytest.mark.parametrize("cards, detail", [
    ({"CDELT1": 0.0}, "CDELT1 = 0.0"),
    ({"CDELT2": 0.0}, "CDELT2 = 0.0"),
    ({"CDELT1": None, "CDELT2": None}, "no CDELT1 or CDELT2 and no CD matrix"),
    ({"CDELT1": None, "CDELT2": None, "CD1_1": 0.0, "CD2_2": 0.0}, "singular CD matrix: CD1_1 = 0.0"),
])
def test_zero_or_missing_pixel_scale_is_refused_naming_the_file(tmp_path, cards, detail):
    """astropy would raise a multi-line wcslib error, or silently use 1 deg per pixel (missing or all-zero CD)."""
    path = _write(tmp_path / "noscale.fits", np.ones((16, 16), np.float32), **cards)
    with pytest.raises(FitsImageError) as info:
        read_radio_image(path)
    assert str(info.value).startswith(f"{path}: no usable pixel scale ({detail}")
    assert "\n" not in str(info.value) and "nonzero, finite CDELT1 and CDELT2" in str(info.value)


def _claim_size(path, nx, ny):
    """Rewrite NAXIS1/NAXIS2 in place: the header then declares far more data than the file holds."""
    raw = bytearray(path.read_bytes())
    for key, value in ((b"NAXIS1", nx), (b"NAXIS2", ny)):
        at = raw.index(key.ljust(8) + b"=")
        raw[at:at + 80] = (key.ljust(8) + b"= " + str(value).rjust(20).encode()).ljust(80)
    path.write_bytes(bytes(raw))


def test_header_declaring_a_huge_image_is_refused_before_reading(tmp_path):
    path = _write(tmp_path / "huge.fits", np.ones((16, 16), np.float32))
    _claim_size(path, 200000, 200000)
    with pytest.raises(FitsImageError, match=r"huge.fits: the header declares 200000x200000 pixels of BITPIX -32 "
                                             r"\(149.0 GiB\), more than the 16.0 GiB radiobench reads"):
        read_radio_image(path)
    _claim_size(path, 2000, 2000)  # under the limit, but not in the file
    with pytest.raises(FitsImageError, match=r"huge.fits: not a readable FITS image \(the header declares 2000x2000 "
                                             r"pixels of BITPIX -32 \(15.3 MiB\) but the file holds 2,880 bytes"):
        read_radio_image(path)


def test_gzipped_cube_is_not_mistaken_for_a_truncated_file(tmp_path):
    cube = np.zeros((5, 64, 64), ">f4")
    cube[0] = 1.0
    path = _write(tmp_path / "cube.fits.gz", cube, CTYPE3="FREQ")
    assert path.stat().st_size < cube.nbytes
    assert read_radio_image(path).data.mean() == 1.0


def test_named_pipe_is_refused_without_blocking(tmp_path):
    import os
    import subprocess
    import sys

    fifo = tmp_path / "field.fits"
    os.mkfifo(fifo)
    code = ("import sys; from radiobench.astro.fitsimage import read_radio_image; from radiobench.errors import RadiobenchError\n"
            "try: read_radio_image(sys.argv[1])\nexcept RadiobenchError as e: print(e)")
    done = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == f"{fifo} is not a regular file (a named pipe); delete it and put the real file there"


def test_a_gzip_bomb_is_refused_by_its_expansion_and_other_wrappers_by_name(tmp_path, monkeypatch):
    import bz2
    import gzip

    from radiobench.astro import fitsimage

    header = fits.Header()
    header["SIMPLE"], header["BITPIX"], header["NAXIS"] = True, -32, 2
    header["NAXIS1"] = header["NAXIS2"] = 4096  # 64 MiB of pixels, all zero: a tiny gzip
    body = header.tostring().encode() + bytes(4096 * 4096 * 4)
    bomb = tmp_path / "bomb.fits.gz"
    bomb.write_bytes(gzip.compress(body, compresslevel=9))
    assert bomb.stat().st_size < 200_000
    monkeypatch.setattr(fitsimage, "MAX_GZIP_EXPANDED", 16 << 20)  # the cap, scaled down with the bomb
    with pytest.raises(fitsimage.FitsImageError, match=r"bomb.fits.gz: gzip-compressed FITS file expands to more than "
                                                       r"the 16 MiB radiobench reads"):
        read_radio_image(bomb)
    other = tmp_path / "field.fits.bz2"
    other.write_bytes(bz2.compress(body[:2880 * 2]))
    with pytest.raises(fitsimage.FitsImageError, match=r"field.fits.bz2: not a FITS file .* nor a gzip-compressed one"):
        read_radio_image(other)
