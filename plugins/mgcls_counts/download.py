"""Fetching MGCLS DR1 (Knowles et al. 2022, DOI 10.48479/7epd-w356) from the SARAO archive.

The release sits in the archive's public S3 bucket: the enhanced products as gzipped
5-plane cubes under ``data/enhanced_products/5pln_cubes/`` (``<Field>_<aFix|noFix>_pol_I_
<Farcsec|15arcsec>_5pln_cor.fits.gz``; the full-resolution ``Farcsec`` ones are taken) and
the survey-wide compact-source catalogue ``data/Table2_MGCLS_compactcat_DR1.fits``. File
names vary between fields, so the cubes are found by listing the bucket (S3
ListObjectsV2, paged) rather than from a hand-kept list. No checksums are published: each
file's sha256 is computed on first download, kept beside it, and enters the task's data
identity. ``RADIOBENCH_MGCLS_URL`` points at a mirror instead of the archive.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from radiobench.io import download as downloads
from radiobench.api import DatasetNotFoundError

ARCHIVE = "https://archive-gw-1.kat.ac.za"
BUCKET = "public"
RELEASE = "repository/10.48479/7epd-w356/data/"
CUBES = RELEASE + "enhanced_products/5pln_cubes/"
CATALOGUE = "Table2_MGCLS_compactcat_DR1.fits"
CUBE_SUFFIX = "_pol_I_Farcsec_5pln_cor.fits.gz"
S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def base_url() -> str:
    return os.environ.get("RADIOBENCH_MGCLS_URL", ARCHIVE).rstrip("/")


def list_cubes(base: str | None = None) -> list[str]:
    """Keys of the full-resolution 5-plane cubes in the release, from the bucket listing."""
    import requests

    base = base or base_url()
    keys, token = [], None
    while True:
        params = {"list-type": "2", "prefix": CUBES, **({"continuation-token": token} if token else {})}
        try:
            response = requests.get(f"{base}/{BUCKET}", params=params, timeout=60)
            response.raise_for_status()
            root = ET.fromstring(response.content)
        except (requests.RequestException, ET.ParseError) as exc:
            raise DatasetNotFoundError(
                f"could not list the MGCLS release at {base}/{BUCKET}/{CUBES} ({type(exc).__name__}); download "
                f"*{CUBE_SUFFIX} files by hand from https://doi.org/10.48479/7epd-w356"
            ) from None
        keys += [k.text or "" for k in root.iter(f"{S3}Key")]
        if (root.findtext(f"{S3}IsTruncated") or "false").lower() != "true":
            break
        token = root.findtext(f"{S3}NextContinuationToken")
    return sorted(k for k in keys if k.endswith(CUBE_SUFFIX))


def fetch(folder: Path, base: str | None = None) -> list[Path]:
    """Download (resuming) the compact catalogue and every listed cube that is not already in ``folder``."""
    base = base or base_url()
    wanted = [RELEASE + CATALOGUE, *list_cubes(base)]
    paths = []
    for key in wanted:
        dest = Path(folder) / key.rsplit("/", 1)[1]
        if not dest.exists():
            downloads.download(f"{base}/{BUCKET}/{key}", dest)
        paths.append(dest)
    return paths
