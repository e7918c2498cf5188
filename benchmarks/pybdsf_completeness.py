"""How much of a simulated field's truth catalogue pyBDSF recovers, and how fast.

    pip install bdsf   # pyBDSF, not yet a radiobench dependency
    python benchmarks/pybdsf_completeness.py [--size 1024] [--seed 11]

Completeness: the fraction of injected sources above a peak signal-to-noise threshold that
have a pyBDSF source (srl catalogue) within one beam FWHM (points) or two (all sources).
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    import bdsf
    from astropy.io import fits
    from astropy.wcs import WCS

    from radiobench.simulate import FieldParams, simulate_field, write_field

    params = FieldParams(size=args.size, seed=args.seed)
    field = simulate_field(params)
    with tempfile.TemporaryDirectory() as tmp:
        fits_path = Path(tmp) / "field.fits"
        write_field(field, fits_path)
        start = time.perf_counter()
        img = bdsf.process_image(str(fits_path), thresh_isl=3.0, thresh_pix=5.0, quiet=True, frequency=params.frequency_hz)
        seconds = time.perf_counter() - start
        out = Path(tmp) / "field.srl.csv"
        img.write_catalog(outfile=str(out), format="csv", catalog_type="srl", clobber=True)
        text = out.read_text()
        wcs = WCS(fits.getheader(fits_path))
    columns = next(l for l in text.splitlines() if l.startswith("# Source_id")).lstrip("# ").split(",")
    columns = [c.strip() for c in columns]
    rows = [r for r in csv.reader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))) if r]
    ra, dec = columns.index("RA"), columns.index("DEC")
    found = wcs.wcs_world2pix(np.array([[float(r[ra]), float(r[dec])] for r in rows]), 0)
    beam = params.beam_arcsec / params.pixel_arcsec

    def recovered(rows_: list[dict], within: float) -> int:
        return sum(np.hypot(found[:, 0] - r["x"], found[:, 1] - r["y"]).min() < within for r in rows_)

    print(f"pyBDSF {bdsf.__version__}: {seconds:.1f} s on a {args.size}^2 field, {len(found)} sources found, "
          f"{len(field.truth)} injected")
    for snr in (5, 10, 20):
        points = [r for r in field.truth if r["kind"] == "point" and r["peak_jy_beam"] >= snr * params.rms]
        print(f"  point sources >= {snr:2d} sigma: {recovered(points, beam)}/{len(points)} within one beam")
    bright = [r for r in field.truth if r["peak_jy_beam"] >= 10 * params.rms]
    print(f"  all sources   >= 10 sigma: {recovered(bright, 2 * beam)}/{len(bright)} within two beams")


if __name__ == "__main__":
    main()
