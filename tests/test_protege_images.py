"""MGCLS Protege cutouts: colour-map inversion and label masking checked on the real PNGs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import need
from radiobench.errors import RadiobenchError
from radiobench_plugins.mgcls_anomaly import images as pi

RANKS = (0, 7, 42, 512, 6160)  # 1, 1, 2, 3 and 4 digits drawn top-left; bars of different lengths


@pytest.fixture(scope="module")
def image_dir(shared_data: Path) -> Path:
    d = shared_data / "mgcls_protege" / "images"
    need((d / "6160.png").is_file(), f"MGCLS Protege cutouts not found in {d}")
    return d


def _raw(image_dir: Path, rank: int) -> np.ndarray:
    with Image.open(image_dir / f"{rank}.png") as im:
        return np.array(im)


def _mask() -> np.ndarray:
    m = np.zeros((pi.SIZE, pi.SIZE), bool)
    for r0, r1, c0, c1 in pi.MASKS:
        m[r0:r1, c0:c1] = True
    return m


def _packed(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def test_colormap_round_trip():
    table = pi.colormap_table()
    assert table.shape == (256, 3) and len(np.unique(_packed(table))) == 256
    got = pi.to_intensity(table[None])[0]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.rint(got * 255).astype(int), np.arange(256))


def test_table_is_the_rendering_colormap(image_dir):
    """Every unmasked pixel of the real files is exactly a table colour, and masking removes every off-table one."""
    table = set(_packed(pi.colormap_table()).tolist())
    mask = _mask()
    for rank in RANKS:
        colours = _packed(_raw(image_dir, rank)[..., :3])
        off = ~np.isin(colours, list(table))
        assert not off[~mask].any(), f"rank {rank}: colours outside the colour map left unmasked"
        assert off[mask].any(), f"rank {rank}: expected anti-aliased rank text inside the mask"


def test_read_cutout_shape_and_range(image_dir):
    for rank in RANKS:
        out = pi.read_cutout(image_dir / f"{rank}.png")
        assert out.shape == (219, 219) and out.dtype == np.uint8
        inten = pi.to_intensity(_raw(image_dir, rank))
        assert inten.dtype == np.float32 and 0.0 <= inten.min() and inten.max() <= 1.0
        np.testing.assert_array_equal(out[~_mask()], np.rint(inten * 255).astype(np.uint8)[~_mask()])


def test_masked_region_is_constant_frame_median(image_dir):
    mask = _mask()
    frame = np.zeros_like(mask)
    frame[[0, -1], :] = frame[:, [0, -1]] = True
    frame &= ~mask
    for rank in RANKS:
        out = pi.read_cutout(image_dir / f"{rank}.png")
        assert np.unique(out[mask]).size == 1, f"rank {rank}: masked region not uniform"
        assert out[mask][0] == np.uint8(np.rint(np.median(out[frame])))


@pytest.mark.parametrize("target, donor", [(7, 6160), (512, 0), (42, 512)])
def test_output_ignores_everything_under_the_mask(image_dir, tmp_path, target, donor):
    """Paste another rank's text and bar into the cutout: the result must not change at all."""
    raw, other = _raw(image_dir, target), _raw(image_dir, donor)
    for r0, r1, c0, c1 in pi.MASKS:
        raw[r0:r1, c0:c1] = other[r0:r1, c0:c1]
    Image.fromarray(raw, "RGBA").save(tmp_path / "swapped.png")
    np.testing.assert_array_equal(
        pi.read_cutout(tmp_path / "swapped.png"), pi.read_cutout(image_dir / f"{target}.png")
    )


def test_truncated_png_names_the_file(image_dir, tmp_path):
    data = (image_dir / "42.png").read_bytes()
    bad = tmp_path / "42.png"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(RadiobenchError, match=r"42\.png") as err:
        pi.read_cutout(bad)
    assert "\n" not in str(err.value)


def test_corrupted_byte_is_caught(image_dir, tmp_path):
    data = bytearray((image_dir / "42.png").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside IDAT: only the chunk CRC can tell
    bad = tmp_path / "flipped.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(RadiobenchError, match="flipped.png"):
        pi.read_cutout(bad)


@pytest.mark.parametrize("size, mode", [((220, 219), "RGBA"), ((219, 219), "RGB"), ((219, 219), "L")])
def test_wrong_geometry_is_refused(tmp_path, size, mode):
    path = tmp_path / "odd.png"
    Image.new(mode, size).save(path)
    with pytest.raises(RadiobenchError, match=r"odd\.png is .* expected 219x219 RGBA"):
        pi.read_cutout(path)


def test_decompression_bomb_header_is_refused(tmp_path):
    """A tiny file claiming 100000x100000 pixels must fail on the header, before any decoding."""
    path = tmp_path / "bomb.png"
    Image.new("RGBA", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = struct.pack(">II", 100_000, 100_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(bytes(data))
    with pytest.raises(RadiobenchError, match="bomb.png"):
        pi.read_cutout(path)


@pytest.mark.parametrize("content", [b"not an image", None])
def test_not_a_png_or_missing(tmp_path, content):
    path = tmp_path / "notes.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RadiobenchError, match="notes.png"):
        pi.read_cutout(path)
