"""The image files ``radiobench pretrain`` reads: each read once, capped, and refused by name in one line.

Pretraining data come from folders anyone may have filled. Each file is read through
:mod:`radiobench.io.reader` (regular files only, so a named pipe is refused rather than waited on;
sizes capped before reading), its sha256 is taken from those same bytes, and it is decoded from them,
never opened a second time:

- PNG/JPEG: the header's pixel count is checked before a pixel is decoded (a 118 kB PNG can declare
  11000 x 11000 pixels, 2.9 GB once decoded), the PNG chunk checksums are verified (truncation), and
  any decoder error becomes one line naming the file.
- FITS and gzipped FITS: gzip content is expanded with a cap (a 1 MB ``.fits.gz`` of zeros expands to
  gigabytes), other compressions are refused (astropy would expand them uncapped), and the data size
  the header declares must fit in the bytes that are there before the data are touched. Only plane 0
  of the first image HDU is taken, as radiobench.astro.fitsimage does; pretraining needs no WCS or beam.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from pathlib import Path

import numpy as np

from radiobench.io.reader import MiB, UnreadableFileError, check_image_pixels, gunzip, read_bytes

# 8192 x 8192: a whole radio field saved as a picture fits (MGCLS fields are ~4000 px across), and decoding
# one costs at most ~0.5 GB (PIL's own copy, 3 bytes of RGB and 4 of float32 per pixel) before it is
# resized to the stored size. Cutouts, what images: is for, are far smaller.
MAX_IMAGE_PIXELS = 64 * MiB
MAX_PICTURE_BYTES = 256 * MiB  # an 8192^2 RGB PNG of pure noise is ~200 MB
# A FITS file, expanded, is held in memory with its data; 3x the largest MGCLS cube (0.3 GiB). Cut
# larger fields into smaller files first.
MAX_FITS_BYTES = 1024 * MiB
GZIP_MAGIC = b"\x1f\x8b"
FITS_START = b"SIMPLE  ="


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_picture(path: Path) -> tuple[np.ndarray, str]:
    """A PNG/JPEG as (H, W) float32 in [0, 1] (the mean of its colour channels / 255) and its file's sha256."""
    content = read_bytes(path, limit=MAX_PICTURE_BYTES, what="image file")
    rgb = _decode_picture(content, path)
    return rgb.mean(axis=2, dtype=np.float32) / 255.0, sha256(content)


def _decode_picture(content: bytes, path: Path) -> np.ndarray:
    from PIL import Image

    formats = ("PNG", "JPEG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below by our own, lower cap
            with Image.open(io.BytesIO(content), formats=formats) as im:
                check_image_pixels(im.size, max_pixels=MAX_IMAGE_PIXELS, source=path)
                im.verify()  # PNG: every chunk's CRC, so a truncated or altered file is refused
            with Image.open(io.BytesIO(content), formats=formats) as im:
                return np.asarray(im.convert("RGB"))
    except UnreadableFileError:
        raise
    except Image.UnidentifiedImageError:
        raise UnreadableFileError(path, "not a PNG or JPEG image (its content is of no image format PIL reads here)") from None
    except Image.DecompressionBombError as exc:
        raise UnreadableFileError(path, f"image declares too many pixels ({exc})", "resize or crop it first") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises OSError, SyntaxError, ValueError, zlib.error...: the file is bad
        raise UnreadableFileError(path, f"not a readable PNG or JPEG image ({type(exc).__name__}: {exc})") from None


def read_fits_plane(path: Path) -> tuple[np.ndarray, str]:
    """Plane 0 of the first image HDU of a FITS or gzipped FITS file, as native float32, and the file's sha256."""
    raw = read_bytes(path, limit=MAX_FITS_BYTES, what="FITS file")
    content = raw
    if raw[:2] == GZIP_MAGIC:
        content = gunzip(raw, limit=MAX_FITS_BYTES, source=path, what="gzipped FITS file")
    if not content.startswith(FITS_START):
        raise UnreadableFileError(path, "not a FITS file (it does not start with a SIMPLE card; only plain or gzipped "
                                  "FITS is read)")
    return _fits_plane(content, path), sha256(raw)


def _fits_plane(content: bytes, path: Path) -> np.ndarray:
    from astropy.io import fits

    fail = "not a readable FITS image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # header-style complaints; what matters is refused below, by name
            with fits.open(io.BytesIO(content), memmap=False, lazy_load_hdus=True) as hdus:
                index = next((i for i, h in enumerate(hdus) if h.is_image and int(h.header.get("NAXIS", 0)) >= 2), None)
                if index is None:
                    raise UnreadableFileError(path, "no image HDU with 2 or more axes")
                hdu = hdus[index]
                shape = _declared_shape(hdu, path)
                declared = abs(int(hdu.header.get("BITPIX", 0))) // 8 * math.prod(shape)
                info = hdus.fileinfo(index)
                available = len(content) - info["datLoc"] if info and not isinstance(hdu, fits.CompImageHDU) else MAX_FITS_BYTES
                if declared > available:
                    raise UnreadableFileError(path, f"{fail} (the header declares {declared:,} bytes of data, the file "
                                              f"holds {max(available, 0):,}); truncated or corrupt?")
                data = hdu.data
                if data is None or data.ndim != len(shape):
                    raise UnreadableFileError(path, f"{fail} (header and data disagree on the axes)")
                return np.array(data[(0,) * (data.ndim - 2)], dtype=np.float32)  # a native-endian copy
    except UnreadableFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy raises OSError, ValueError, TypeError, KeyError...: the file is bad
        raise UnreadableFileError(path, f"{fail} ({type(exc).__name__}: {exc})") from None


def _declared_shape(hdu: object, path: Path) -> tuple[int, ...]:
    header = hdu.header  # type: ignore[attr-defined]
    shape = tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header["NAXIS"]) + 1))
    if min(shape) < 1 or min(shape[:2]) < 2:
        raise UnreadableFileError(path, f"the header declares no usable image area ({'x'.join(map(str, shape))} pixels)")
    return shape
