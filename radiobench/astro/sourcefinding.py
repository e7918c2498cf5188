"""Compact-source catalogues made by pyBDSF, one field per process, cached by content.

pyBDSF (``bdsf.process_image``) is the source finder MGCLS used for its catalogues. It is
never handed a user's file: ``process_image`` unpickles whatever file it is given when it
can (its parameter-save format), so each field's plane is read and checked by
``radiobench.astro.fitsimage`` and written as a fresh 2-D FITS in a temporary folder, and that
path goes in as an options dictionary. Fields are independent, so they run in parallel
processes (spawned, not forked: the parent may hold torch's thread pools). A catalogue
is cached under the field's sha256 and a hash of the parameters and pyBDSF version, so
labels are made once.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.io.atomic import open_atomic
from radiobench.io.reader import MiB, UnreadableFileError, read_text
from radiobench.errors import RadiobenchError
from radiobench.processes import in_processes

# pyBDSF's own detection thresholds, written out so a change of pyBDSF defaults cannot move labels
PARAMS: dict[str, Any] = {"thresh_isl": 3.0, "thresh_pix": 5.0, "rms_box": None, "adaptive_rms_box": False,
                          "group_by_isl": False, "atrous_do": False}
COMPACT_CODES = ("S",)  # S_Code: "S" = one Gaussian; "M" (several) and "C" (shared island) are not compact
# pyBDSF refuses a header without a frequency (FIRST cutouts have none). It only tags the catalogue
# (spectral-index and flux bookkeeping); detection and positions do not depend on it.
FALLBACK_FREQUENCY_HZ = 1.4e9
COLUMNS = ("ra", "dec", "total_flux", "peak_flux", "s_code")
# pyBDSF's source list is ~1 kB a source (45 columns), a cached catalogue ~100 bytes: a field with
# 100,000 sources (denser than any survey field at these depths) is 100 MB; beyond 256 MiB it is not one.
CATALOGUE_LIMIT = 256 * MiB


@dataclass(frozen=True)
class Job:
    """One field to catalogue; plain values so it pickles into a worker process."""

    fits_path: str
    field_sha256: str
    beam_deg: tuple[float, float, float] | None
    frequency_hz: float | None
    plane: int
    params: tuple[tuple[str, Any], ...]
    cache_file: str
    # the stat stamp taken with field_sha256 (datafiles.sha256_and_stamp), as items: the catalogue is cached
    # under that sha only if the file pyBDSF read is still that version
    field_stamp: tuple[tuple[str, int], ...] | None = None


def bdsf_version() -> str:
    from importlib.metadata import version

    return version("bdsf")


def params_id(params: dict[str, Any], frequency_hz: float | None = None) -> str:
    blob = json.dumps({"params": params, "bdsf": bdsf_version(), "frequency_hz": frequency_hz}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def catalogue_fields(
    fields: Sequence[tuple[Path, str] | tuple[Path, str, dict[str, int]]],
    cache_dir: Path,
    beam_deg: tuple[float, float, float] | None = None,
    frequency_hz: float | None = None,
    params: dict[str, Any] | None = None,
    processes: int | None = None,
    plane: int = 0,
    on_field: Callable[[], None] | None = None,
) -> dict[Path, tuple[list[dict[str, Any]], float | None]]:
    """Catalogue ``(fits path, sha256[, stamp])`` fields: path -> (source rows, seconds or None when cached).

    With a stamp, a field rewritten after it was hashed is refused before its catalogue is cached
    under the old sha256 (where the next run would otherwise find it).

    ``processes`` defaults to ``$RADIOBENCH_PROCESSES`` or the CPU count; 1 runs in this process.
    """
    params = dict(PARAMS if params is None else params)
    tag = params_id(params, frequency_hz)
    jobs = [Job(str(path), sha, beam_deg, frequency_hz, plane, tuple(sorted(params.items())),
                str(Path(cache_dir) / f"{sha[:24]}-{tag}.csv"), tuple(sorted(rest[0].items())) if rest else None)
            for path, sha, *rest in fields]
    out: dict[Path, tuple[list[dict[str, Any]], float | None]] = {}
    todo = []
    for job in jobs:
        cached = read_catalogue_cache(Path(job.cache_file))
        if cached is not None:
            out[Path(job.fits_path)] = (cached, None)
            if on_field:
                on_field()
        else:
            todo.append(job)
    for job, (rows, seconds) in zip(todo, in_processes(run_job, todo, processes)):
        out[Path(job.fits_path)] = (rows, seconds)
        if on_field:
            on_field()
    return out


def run_job(job: Job) -> tuple[list[dict[str, Any]], float]:
    """Catalogue one field with pyBDSF and cache the rows (runs in a worker process)."""
    from radiobench.astro.fitsimage import read_radio_image

    image = read_radio_image(job.fits_path, beam_deg=job.beam_deg, plane=job.plane)
    header = image.wcs.to_header()
    header["BMAJ"], header["BMIN"], header["BPA"] = image.beam_deg
    header["BUNIT"] = "JY/BEAM"
    frequency = image.frequency_hz or job.frequency_hz or FALLBACK_FREQUENCY_HZ
    start = time.perf_counter()
    try:
        with pybdsf_on(image.data, header, {"frequency": frequency, **dict(job.params)}) as (img, folder):
            rows = _sources(img, folder / "plane.srl.csv")
    except Exception as exc:  # pyBDSF raises bare RuntimeErrors with its own words
        raise RadiobenchError(f"{job.fits_path}: pyBDSF failed ({type(exc).__name__}: {exc}){_known_fix(exc)}") from None
    seconds = time.perf_counter() - start
    if job.field_stamp is not None:
        from radiobench.io.datafiles import check_unchanged

        check_unchanged(Path(job.fits_path), dict(job.field_stamp), "source finding")
    write_catalogue_cache(Path(job.cache_file), rows)
    return rows, seconds


@contextlib.contextmanager
def pybdsf_on(data: np.ndarray, header: Any, options: dict[str, Any]) -> Iterator[tuple[Any, Path]]:
    """pyBDSF's image object for ``data``, and the temporary folder it worked in, quietly.

    pyBDSF only ever sees a fresh FITS file written here from checked pixels (it unpickles what
    it is handed when it can). It prints progress even when quiet, logs to stderr and keeps its
    log file and streams open: all of that stays inside this block.
    """
    from astropy.io import fits

    with contextlib.redirect_stderr(io.StringIO()):  # importing pyBDSF warns on stderr when matplotlib is absent
        import bdsf

    with tempfile.TemporaryDirectory(prefix="radiobench-bdsf-") as tmp:
        plane_path = Path(tmp) / "plane.fits"
        fits.PrimaryHDU(data, header=header).writeto(plane_path)
        chatter = io.StringIO()
        try:
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
                yield bdsf.process_image({**options, "filename": str(plane_path), "quiet": True}), Path(tmp)
        finally:
            _close_bdsf_log()


def _known_fix(exc: Exception) -> str:
    """What to do about failures of pyBDSF itself that were seen in the wild."""
    if isinstance(exc, ValueError) and "3-dimensional vectors" in str(exc):
        # seen on a GPU machine: pyBDSF 1.14.1 calls numpy.cross on 2-D vectors, an error since numpy 2.5
        return f"; pyBDSF {bdsf_version()} needs numpy < 2.5 here: pip install 'numpy<2.5'"
    return ""


def _sources(img: Any, path: Path) -> list[dict[str, Any]]:
    if not getattr(img, "nsrc", 0):
        return []
    img.write_catalog(outfile=str(path), format="csv", catalog_type="srl", clobber=True)
    lines = read_text(path, limit=CATALOGUE_LIMIT, what="pyBDSF source list").splitlines()
    header = next(line for line in lines if line.startswith("# Source_id"))
    names = [c.strip() for c in header.lstrip("# ").split(",")]
    body = [line for line in lines if line.strip() and not line.startswith("#")]
    rows = []
    for values in csv.reader(io.StringIO("\n".join(body))):
        record = dict(zip(names, (v.strip() for v in values)))
        rows.append({"ra": float(record["RA"]), "dec": float(record["DEC"]), "total_flux": float(record["Total_flux"]),
                     "peak_flux": float(record["Peak_flux"]), "s_code": record["S_Code"]})
    return rows


def write_catalogue_cache(path: Path, rows: list[dict[str, Any]]) -> None:
    with open_atomic(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def read_catalogue_cache(path: Path) -> list[dict[str, Any]] | None:
    """The cached catalogue at ``path``, or None when there is none or it is unreadable (then it is made again).

    Read through :mod:`radiobench.io.reader`: the cache may be shared, and a pipe or a huge file
    there is an unreadable entry, not a hang.
    """
    if not os.path.lexists(path):
        return None
    try:
        reader = csv.DictReader(io.StringIO(read_text(path, limit=CATALOGUE_LIMIT, what="catalogue"), newline=""))
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError("unexpected columns")
        return [{**r, "ra": float(r["ra"]), "dec": float(r["dec"]), "total_flux": float(r["total_flux"]),
                 "peak_flux": float(r["peak_flux"])} for r in reader]
    except (UnreadableFileError, OSError, ValueError, KeyError, TypeError, csv.Error):
        path.unlink(missing_ok=True)  # unreadable: made again
        return None


def compact(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec (deg) of the compact sources among pyBDSF rows."""
    keep = [r for r in rows if r["s_code"] in COMPACT_CODES]
    return np.array([r["ra"] for r in keep], dtype=float), np.array([r["dec"] for r in keep], dtype=float)


# --- pyBDSF as a detector: islands -> bounding boxes -------------------------------------------------

ISLAND_PIXEL_ARCSEC = 1.0  # pixel scale of the WCS written for find_islands; only the beam in pixels matters


def find_islands(
    images: Sequence[np.ndarray],
    beam_pixels: tuple[float, float, float],
    *,
    params: dict[str, Any] | None = None,
    processes: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """pyBDSF's islands of emission as boxes, the classical baseline of the detection benchmark.

    ``images`` are (H, W) arrays (NaN = blanked); ``beam_pixels`` is the restoring beam's FWHM
    major and minor axes in pixels and its position angle in degrees, as the FITS BPA keyword
    (from +y, north, towards -x, east). ``params`` are pyBDSF options, default ``PARAMS``.
    ``processes`` defaults to ``$RADIOBENCH_PROCESSES`` or the CPU count; 1 runs in this process.

    For each image, returns ``(boxes, scores)``: boxes (n, 4) float32 as x_min, y_min, x_max,
    y_max in the array's pixel coordinates (x = column, y = row, pixel (0, 0) spans [0, 1) x
    [0, 1), so the box of an island on columns 3..5 has x_min 3 and x_max 6), the tight box of
    the island's own pixels (not pyBDSF's bbox, which it widens by one pixel); and scores (n,)
    float32, the island's peak signal-to-noise: its brightest pixel divided by pyBDSF's rms map
    at that pixel (the island's mean rms where the map is not finite and positive there). Every
    island pyBDSF keeps is returned; an image without islands, or without any finite pixel,
    gives empty (0, 4) and (0,) arrays. pyBDSF stops after island finding (``stop_at='isl'``,
    no Gaussian fitting) unless ``params`` ask for wavelet decomposition (``atrous_do``), which
    can merge islands, or set ``stop_at`` themselves.
    """
    params = dict(PARAMS if params is None else params)
    beam = tuple(float(b) for b in beam_pixels)
    if len(beam) != 3 or not (math.isfinite(beam[0]) and math.isfinite(beam[1]) and beam[0] > 0 and beam[1] > 0):
        raise RadiobenchError(f"find_islands: beam_pixels must be (major FWHM, minor FWHM, PA deg) with positive "
                              f"axes in pixels; got {beam_pixels!r}")
    jobs = []
    for index, image in enumerate(images):
        array = np.asarray(image, dtype=np.float32)
        if array.ndim != 2:
            raise RadiobenchError(f"find_islands: image {index} has shape {array.shape}; give 2-D (H, W) arrays")
        jobs.append((index, np.ascontiguousarray(array), beam, tuple(sorted(params.items()))))
    return list(in_processes(_islands_job, jobs, processes))


def _islands_job(job: tuple[int, np.ndarray, tuple[float, float, float], tuple[tuple[str, Any], ...]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Islands of one image (runs in a worker process): boxes and peak signal-to-noise."""
    index, image, beam, params = job
    empty = (np.zeros((0, 4), dtype=np.float32), np.zeros((0,), dtype=np.float32))
    if not np.isfinite(image).any():
        return empty  # nothing to detect (e.g. a crop wholly outside the primary beam)
    options = dict(params)
    if "stop_at" not in options and not options.get("atrous_do"):
        options["stop_at"] = "isl"  # Gaussian fitting does not change the islands; skip it
    options.setdefault("frequency", FALLBACK_FREQUENCY_HZ)  # only tags pyBDSF's output; islands ignore it
    try:
        with pybdsf_on(image, _island_header(image.shape, beam), options) as (img, _):
            return _island_boxes(img)
    except Exception as exc:  # pyBDSF raises bare RuntimeErrors with its own words
        if "no islands" in str(exc).lower():
            return empty
        raise RadiobenchError(f"find_islands: image {index}: pyBDSF failed ({type(exc).__name__}: {exc})"
                              f"{_known_fix(exc)}") from None


def _close_bdsf_log() -> None:
    """pyBDSF's logger keeps its log file (in the temporary folder) and the captured streams open."""
    import logging

    logger = logging.getLogger("PyBDSF")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def _island_header(shape: tuple[int, ...], beam: tuple[float, float, float]) -> Any:
    """A minimal celestial header: SIN projection at ISLAND_PIXEL_ARCSEC, the beam in degrees, a frequency."""
    from astropy.io import fits

    pixel_deg = ISLAND_PIXEL_ARCSEC / 3600.0
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---SIN", "DEC--SIN"
    header["CRVAL1"], header["CRVAL2"] = 0.0, 0.0
    header["CRPIX1"], header["CRPIX2"] = (shape[1] + 1) / 2.0, (shape[0] + 1) / 2.0  # FITS axis 1 = numpy axis 1
    header["CDELT1"], header["CDELT2"] = -pixel_deg, pixel_deg
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    header["BMAJ"], header["BMIN"], header["BPA"] = beam[0] * pixel_deg, beam[1] * pixel_deg, beam[2]
    header["BUNIT"] = "JY/BEAM"
    header["RESTFRQ"] = FALLBACK_FREQUENCY_HZ
    return header


def _island_boxes(img: Any) -> tuple[np.ndarray, np.ndarray]:
    """pyBDSF keeps images transposed, as (x, y): island origin/masks index x (column) first."""
    islands = list(getattr(img, "islands", None) or [])
    rms_map = getattr(img, "rms_arr", None)
    boxes, scores = [], []
    for isl in islands:
        inside = ~np.asarray(isl.mask_active, dtype=bool)  # the island's own, unblanked pixels
        xs, ys = np.nonzero(inside)
        if xs.size == 0:
            continue
        x0, y0 = int(isl.origin[0]), int(isl.origin[1])
        values = np.asarray(isl.image)[xs, ys]
        brightest = int(np.nanargmax(values))
        px, py = x0 + int(xs[brightest]), y0 + int(ys[brightest])
        rms = float(np.asarray(rms_map)[px, py]) if rms_map is not None else float("nan")
        if not (math.isfinite(rms) and rms > 0):
            rms = float(isl.rms)
        boxes.append((x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
        scores.append(float(values[brightest]) / rms)
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4), np.asarray(scores, dtype=np.float32)
