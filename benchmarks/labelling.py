"""Compact-source labels for the counting tasks: pyBDSF completeness and wall time, 1 vs N processes.

    python benchmarks/labelling.py [--fields 8] [--size 2048] [--processes 1 2]

Simulates the sim_counts fields (same recipe, seeds 0..fields-1), then catalogues them with
``radiobench.astro.sourcefinding.catalogue_fields`` once per process count, each time into an empty
cache, and reports the wall time and its ratio to the first count. Completeness: the share of
injected point sources above a peak signal-to-noise threshold that have a pyBDSF source
(any S_Code) within one beam FWHM, pooled over fields; "compact" is the share recovered as
single-Gaussian (S) sources, which is what the task counts.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fields", type=int, default=8)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    from astropy.io import fits
    from astropy.wcs import WCS

    from radiobench.io.download import sha256_file
    from radiobench.astro.simulate import FieldParams, simulate_field, write_field
    from radiobench.astro.sourcefinding import bdsf_version, catalogue_fields
    from radiobench_plugins.mgcls_counts import SIMULATION

    recipe = {**SIMULATION, "size": args.size, "n_sources": round(SIMULATION["n_sources"] * (args.size / 2048) ** 2)}
    recipe.pop("n_fields")
    with tempfile.TemporaryDirectory() as tmp:
        fields = []
        for seed in range(args.fields):
            path = Path(tmp) / f"field_{seed:03d}.fits"
            write_field(simulate_field(FieldParams(**recipe, seed=seed)), path)
            fields.append((path, sha256_file(path)))
        times = {}
        for n in args.processes:
            start = time.perf_counter()
            found = catalogue_fields(fields, Path(tmp) / f"cache{n}", processes=n)
            times[n] = time.perf_counter() - start
        print(f"pyBDSF {bdsf_version()}, {args.fields} simulated fields of {args.size}^2 ({recipe['n_sources']} sources each)")
        base = times[args.processes[0]]
        for n, seconds in times.items():
            print(f"  {n} process(es): {seconds:6.1f} s wall  ({seconds / args.fields:.1f} s/field, {base / seconds:.2f}x vs {args.processes[0]})")
        params = FieldParams(**recipe)
        beam = params.beam_arcsec / params.pixel_arcsec
        tallies: dict[int, list[int]] = {5: [0, 0, 0], 10: [0, 0, 0], 20: [0, 0, 0]}
        for path, _ in fields:
            rows = found[path][0]
            wcs = WCS(fits.getheader(path))
            xy = wcs.wcs_world2pix(np.array([[r["ra"], r["dec"]] for r in rows]).reshape(-1, 2), 0)
            compact = np.array([r["s_code"] == "S" for r in rows])
            with open(path.with_name(path.stem + ".truth.csv")) as handle:
                truth = [r for r in csv.DictReader(handle) if r["kind"] == "point"]
            for r in truth:
                d = np.hypot(xy[:, 0] - float(r["x"]), xy[:, 1] - float(r["y"]))
                for snr, tally in tallies.items():
                    if float(r["peak_jy_beam"]) >= snr * params.rms:
                        tally[0] += 1
                        tally[1] += bool((d < beam).any())
                        tally[2] += bool((d[compact] < beam).any()) if compact.any() else 0
        for snr, (n, found_any, found_compact) in tallies.items():
            print(f"  point sources >= {snr:2d} sigma: {found_any}/{n} recovered ({found_any / max(n, 1):.1%}), "
                  f"{found_compact / max(n, 1):.1%} as compact (S)")


if __name__ == "__main__":
    main()
