"""Reading source positions from a catalogue file a user supplies (CSV or FITS table).

Survey catalogues name their columns differently (``RA``/``DEC`` in pyBDSF and MGCLS,
``RAJ2000``/``DEJ2000`` in VizieR, ``ra``/``dec`` elsewhere), so the position columns
are found case-insensitively among known spellings; anything else is refused with the
columns the file does have, rather than guessed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiobench.errors import RadiobenchError

RA_NAMES = ("ra", "ra_deg", "raj2000", "ra_j2000", "ra_icrs")
DEC_NAMES = ("dec", "dec_deg", "dej2000", "decj2000", "dec_j2000", "de_icrs")


class CatalogueError(RadiobenchError):
    """A catalogue that cannot give source positions (the message names the file and the fix)."""


def read_positions(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec in degrees of every row of a CSV or FITS-table catalogue."""
    path = Path(path)
    columns = _read_columns(path)
    lower = {name.lower(): name for name in columns}
    ra = next((lower[n] for n in RA_NAMES if n in lower), None)
    dec = next((lower[n] for n in DEC_NAMES if n in lower), None)
    if ra is None or dec is None:
        missing = " and ".join(w for w, c in (("RA", ra), ("Dec", dec)) if c is None)
        raise CatalogueError(
            f"{path}: no {missing} column (looked for {', '.join(RA_NAMES + DEC_NAMES)}, case-insensitive; "
            f"the file has {', '.join(columns) or 'no columns'}); rename the position columns to RA and DEC in degrees"
        )
    try:
        ras, decs = (np.asarray(columns[c], dtype=float) for c in (ra, dec))
    except (TypeError, ValueError):
        raise CatalogueError(f"{path}: columns {ra}/{dec} are not numbers; positions must be decimal degrees") from None
    bad = ~(np.isfinite(ras) & np.isfinite(decs)) | (np.abs(decs) > 90)
    if bad.any():
        raise CatalogueError(f"{path}: {int(bad.sum())} rows have missing or impossible positions; fix or drop them")
    return ras, decs


# A catalogue of a whole survey field is a few MiB (the MGCLS DR1 compact catalogue: ~7 MiB)
CATALOGUE_LIMIT = 256 << 20


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    """A catalogue's columns, read through :mod:`radiobench.io.reader` (regular file, size capped)."""
    import io

    from radiobench.io.reader import UnreadableFileError, read_bytes

    try:
        content = read_bytes(path, limit=CATALOGUE_LIMIT, what="catalogue")
    except UnreadableFileError as exc:
        raise CatalogueError(str(exc)) from None
    if path.suffix.lower() in (".fits", ".fit", ".fts"):
        from astropy.table import Table

        try:
            table = Table.read(io.BytesIO(content), format="fits")
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for a bad file
            raise CatalogueError(f"{path}: not a readable FITS table ({exc})") from None
        return {name: np.asarray(table[name]) for name in table.colnames}
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(content), comment="#", skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CatalogueError(f"{path}: not a readable CSV catalogue ({exc})") from None
    return {str(c).strip(): frame[c].to_numpy() for c in frame.columns}
