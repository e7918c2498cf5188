"""Sky positions read from item ids, and items grouped by position.

Survey cutouts are named by where they point: MiraBest's ids carry RA and Dec in degrees
(``100_123.251+043.797_0.1281_0034.09``), RadioGalaxyDataset's ``coord_str`` is sexagesimal
(``14 12 31.76 +14 00 41.0``). Two cutouts whose positions lie within a few beams of each other show
much of the same sky (one source catalogued twice, or two components of one galaxy), so they are
not independent test items: :func:`sky_groups` puts them in one group, for a grouped split and a
cluster bootstrap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Two cutouts closer than this are one group: 90" is 50 FIRST pixels, a third of a MiraBest cutout's side (150 px
# of 1.8") and 17 FIRST beams, so the two share most of their sky. MiraBest Confident has 2 such pairs in 833
# sources (7.8" apart, one source under two fine classes; and 44"), RGD 9 in 2158 (54-77" apart, 8 of them of one class).
GROUP_RADIUS_ARCSEC = 90.0

_DEG = re.compile(r"(?<![\d.])(\d{1,3}\.\d+)([+-]\d{1,3}\.\d+)")
_SEX = re.compile(r"(\d{1,2})[ :h](\d{1,2})[ :m](\d{1,2}(?:\.\d+)?)s?\s*([+-])(\d{1,2})[ :d](\d{1,2})[ :m](\d{1,2}(?:\.\d+)?)")


def sky_position(identifier: str) -> tuple[float, float] | None:
    """(RA, Dec) in degrees from an id such as ``100_123.251+043.797_...`` or ``14 12 31.76 +14 00 41.0``."""
    identifier = identifier.replace("\u2212", "-")  # RGD writes some declinations with a Unicode minus
    m = _DEG.search(identifier)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = _SEX.search(identifier)
    if m:
        h, mi, s, sign, d, dm, ds = m.groups()
        ra = 15 * (int(h) + int(mi) / 60 + float(s) / 3600)
        dec = int(d) + int(dm) / 60 + float(ds) / 3600
        return ra, -dec if sign == "-" else dec
    return None


def separation_arcsec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise great-circle separations (haversine) between (N, 2) and (M, 2) degree arrays."""
    ra1, dec1 = np.radians(a[:, :1]), np.radians(a[:, 1:])
    ra2, dec2 = np.radians(b[:, 0][None]), np.radians(b[:, 1][None])
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600


def sky_groups(ids: Sequence[str], radius_arcsec: float = GROUP_RADIUS_ARCSEC) -> np.ndarray:
    """(N,) str: items linked by positions within ``radius_arcsec`` of each other share a group (friends of friends,
    so a chain of close items is one group); an id without a position is a group of its own.

    A group is named by the first of its ids in sorted order, so the names do not depend on the items' order.
    """
    ids = [str(i) for i in ids]
    found = [sky_position(i) for i in ids]
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    placed = np.flatnonzero([p is not None for p in found])
    if len(placed):
        pos = np.asarray([found[i] for i in placed], dtype=float)
        order = np.argsort(pos[:, 1], kind="stable")  # by Dec: a partner lies within radius in Dec
        dec = pos[order, 1]
        reach = radius_arcsec / 3600
        for n, i in enumerate(order):
            end = int(np.searchsorted(dec, dec[n] + reach, side="right"))
            if end <= n + 1:
                continue
            near = order[n + 1:end]
            close = near[separation_arcsec(pos[[i]], pos[near])[0] <= radius_arcsec]
            for j in close:
                a, b = root(int(placed[i])), root(int(placed[j]))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members: dict[int, list[str]] = {}
    for i in range(len(ids)):
        members.setdefault(root(i), []).append(ids[i])
    name = {r: min(m) for r, m in members.items()}
    return np.asarray([name[root(i)] for i in range(len(ids))], dtype=str)
