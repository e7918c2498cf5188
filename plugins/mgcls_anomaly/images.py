"""Turn the MGCLS "Astronomaly: Protege" cutout PNGs back into one masked intensity channel.

Why this module exists: the 6161 published cutouts (Lochner & Rudnick 2024, Zenodo
10.5281/zenodo.14440674) are not data but matplotlib renderings, and each carries its own label
drawn into the pixels: the Protege rank as white text top-left, plus a white scale bar bottom-left
whose length follows the source size. A backbone that sees either can learn the answer from the
annotation instead of the radio morphology, so nothing here returns unmasked pixels.

Why the masks are what they are (measured over all 6161 images, not guessed):
- The image body contains exactly 256 distinct colours, the colour map below. The only pixels
  whose colour is NOT in that table are the anti-aliased edges of the rank text; over every image
  they lie in rows 4-16 and columns 9-19 / 9-30 / 9-41 / 9-52 for 1 / 2 / 3 / 4-digit ranks (11 px
  per digit). The pure-white frequency map has no other step anywhere except the bar.
- The bar is pixel-aligned pure white (so it never shows as off-table colour): rows 212-214 from
  column 5, 5 to 97 px long (length x catalogue `obj_size_pixels` ~ 1460, i.e. a fixed angle;
  absent for the two largest sources).
- Each rectangle adds a 3 px margin and runs to the image edge; they are the same for every image,
  so the mask's shape cannot encode the digit count.
- Residual check: logistic regression (5-fold) on the unmasked 8 px band around the text mask
  tells 3- from 4-digit ranks with AUC 0.54, no better than the mirrored top-right band (0.56,
  what source content alone gives); on the same corner before masking it scores 1.00.

Why the colour map is inverted by table lookup: the renderer used no registered matplotlib map
(compared against all of matplotlib 3.11's maps: none within 80/255 per channel); astronomaly's own
`convert_array_to_image` defaults to 'hot', which is not what these files show. The 256 colours are
reproduced bit-exactly by a 4-node piecewise-linear map, equivalent to
`LinearSegmentedColormap.from_list(['#04000a', '#8200ff', '#00d7ff', '#ffffff'])` rendered to bytes
by truncation, so we generate that table here (no matplotlib dependency) and map each colour to
its nearest entry. The entry index is linear in the value the renderer fed the colour map; a luma
conversion would be monotonic too but bends at the nodes (slope 0.74, 1.02, 1.18 per index), so
it would distort the faint purple segment where most of the diffuse emission sits. The stretch
from Jy/beam to that value is not published, so intensity is "display value", not flux; a third
of unmasked pixels sit at entry 0 and 3 % at 255, i.e. the renderer clipped both ends.

Why the masked rectangles are filled with the median of the image's unmasked 1-pixel outer frame:
the frame is sky background in most cutouts, but only ~52 % of them have it at entry 0 (compact
bright sources fill the cutout), so a constant 0 would paint a dark block, a feature, into half the
images. The fill depends only on unmasked pixels, so it carries nothing the rank text could add.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from radiobench.api import ChecksumError, DatasetNotFoundError, RadiobenchError
from radiobench.io.reader import UnreadableFileError, read_bytes

SIZE = 219
#: (row0, row1, col0, col1), half-open like numpy slices: rank text, then scale bar.
TEXT_MASK = (0, 20, 0, 56)
BAR_MASK = (209, SIZE, 0, 105)
MASKS: tuple[tuple[int, int, int, int], ...] = (TEXT_MASK, BAR_MASK)

#: Colour-map nodes (sRGB bytes) at equal spacing 0, 1/3, 2/3, 1: black-violet, violet, sky blue, white.
_NODES = np.array([[4, 0, 10], [130, 0, 255], [0, 215, 255], [255, 255, 255]]) / 255.0
#: A real cutout is ~65 kB; refuse to even read anything far larger.
_MAX_FILE_BYTES = 1 << 20


def colormap_table() -> np.ndarray:
    """The renderer's 256 colours, (256, 3) uint8, index = display value.

    The arithmetic order (fraction along a segment, then truncation to bytes) is kept because
    np.interp or rounding would differ from the real files by one level in 8 to 185 entries; this
    order equals all 256 colours found in the files, entry by entry.
    """
    pos = np.linspace(0.0, 1.0, 256) * 255
    knots = np.linspace(0.0, 1.0, len(_NODES)) * 255
    seg = np.clip(np.searchsorted(knots, pos), 1, len(_NODES) - 1)
    t = (pos - knots[seg - 1]) / (knots[seg] - knots[seg - 1])
    rgb = t[:, None] * (_NODES[seg] - _NODES[seg - 1]) + _NODES[seg - 1]
    return (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


_TABLE = colormap_table()


def _pack(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]


@functools.lru_cache(maxsize=1)
def _exact_lookup() -> np.ndarray:
    """24-bit colour -> table index (-1 off the table): one gather per image instead of a sort."""
    lut = np.full(1 << 24, -1, dtype=np.int16)
    lut[_pack(_TABLE)[::-1]] = np.arange(255, -1, -1)  # a colour listed twice keeps its first index
    return lut


def _table_index(rgb: np.ndarray) -> np.ndarray:
    """Table entry for each pixel: exact colours by lookup, the rare others (text edges) by nearest colour."""
    packed = _pack(rgb)
    index = _exact_lookup()[packed]
    off = index < 0
    if off.any():
        colours, inverse = np.unique(packed[off], return_inverse=True)
        unique_rgb = np.stack([(colours >> s) & 255 for s in (16, 8, 0)], axis=1).astype(np.int32)
        dist = ((unique_rgb[:, None, :] - _TABLE[None].astype(np.int32)) ** 2).sum(axis=2)
        index[off] = dist.argmin(axis=1)[inverse]
    return index.astype(np.uint8)


def to_intensity(rgba: np.ndarray) -> np.ndarray:
    """Colour-map index / 255 as float32 in [0, 1], same height and width as the input.

    Alpha is ignored: every published cutout is fully opaque. Colours off the table (only the
    text anti-aliasing, which MASKS removes) go to their nearest entry rather than failing.
    """
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.dtype != np.uint8:
        raise RadiobenchError(f"to_intensity expects an (H, W, 3|4) uint8 array, got {rgba.shape} {rgba.dtype}.")
    return _table_index(rgba[..., :3]).astype(np.float32) / 255.0


def _unmasked_frame() -> np.ndarray:
    frame = np.zeros((SIZE, SIZE), bool)
    frame[[0, -1], :] = frame[:, [0, -1]] = True
    for r0, r1, c0, c1 in MASKS:
        frame[r0:r1, c0:c1] = False
    return frame


_FRAME = _unmasked_frame()


HINT = "re-extract it from all_images_compressed_part{1,2}.zip (Zenodo 10.5281/zenodo.14440674)"


def read_cutout_bytes(path: Path) -> bytes:
    """A cutout's bytes through :mod:`radiobench.io.reader`: a regular file of at most ``_MAX_FILE_BYTES``
    (a named pipe among the cutouts would otherwise hang hashing), refused in one line naming it."""
    try:
        return read_bytes(path, limit=_MAX_FILE_BYTES, what="MGCLS Protege cutout")
    except UnreadableFileError as exc:
        if not os.path.lexists(path):
            raise DatasetNotFoundError(f"MGCLS Protege cutout {path} not found; {HINT}.") from None
        raise ChecksumError(f"{str(exc).rpartition('; ')[0]}; {HINT}.") from None


def _decode(path: Path, sha256: str | None = None) -> np.ndarray:
    """Decode with the geometry checked from the header before any pixel is decompressed.

    Checking 219x219 RGBA first makes a decompression bomb impossible whatever
    Image.MAX_IMAGE_PIXELS is set to; verify() checks every chunk CRC, which catches truncation
    and corruption even if some other code has set ImageFile.LOAD_TRUNCATED_IMAGES. With
    ``sha256`` (the digest taken when the data set's identity was computed) the bytes decoded
    must be those bytes, so a file replaced since is refused rather than decoded under that identity.
    """
    fail, hint = f"MGCLS Protege cutout {path}", HINT
    data = read_cutout_bytes(path)
    try:
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ChecksumError(f"{fail} changed since it was hashed for this run's data identity; {hint}.")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                if im.size != (SIZE, SIZE) or im.mode != "RGBA":
                    raise RadiobenchError(
                        f"{fail} is {im.size[0]}x{im.size[1]} {im.mode}, expected {SIZE}x{SIZE} RGBA; {hint}."
                    )
                im.verify()
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                return np.asarray(im.convert("RGBA"))
    except RadiobenchError:
        raise
    except OSError as exc:  # truncated, not a PNG (the file itself was read above)
        raise ChecksumError(f"{fail} cannot be decoded ({type(exc).__name__}: {exc}); {hint}.") from exc
    except (SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ChecksumError(f"{fail} is not a valid PNG ({type(exc).__name__}: {exc}); {hint}.") from exc


def read_cutout(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """The cutout as a 219x219 uint8 colour-map index with MASKS filled by the frame median.

    uint8 keeps the exact index (no quantisation on top of the renderer's 256 levels).
    ``sha256``: refuse the file unless its bytes have this digest (see ``_decode``).
    """
    idx = _table_index(_decode(Path(path), sha256)[..., :3])
    fill = np.uint8(np.rint(np.median(idx[_FRAME])))
    for r0, r1, c0, c1 in MASKS:
        idx[r0:r1, c0:c1] = fill
    return idx
