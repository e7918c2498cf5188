"""Compact-source counts per crop of radio fields: MGCLS fields, or simulated ones.

The pipeline (Lastufka et al. 2024's counting task, as a feature): read plane 0 of each
field (``radiobench.astro.fitsimage``), tile it into minimal-overlap crops, drop crops touching
NaN, scale each field to its own 2nd-98th percentile range, and label each crop with the
number of compact sources whose position falls inside it. Positions come from a catalogue
beside the field (``<field stem>.catalogue.csv`` or ``.fits``), else from the MGCLS DR1
compact-source catalogue ``Table2_MGCLS_compactcat_DR1.fits`` in the folder (every row counts:
it holds compact sources only), else from pyBDSF run on the field (``radiobench.astro.sourcefinding``,
fields in parallel processes, cached; single-Gaussian ``S`` sources count). The crops of a field share a group, so the seeded
70/20/10 partition never puts one field on both sides.

Fields can be hundreds of MB each, so they are not held in memory to be hashed and parsed
from the same bytes; instead each field's (and catalogue's) stat stamp is taken with its
hash, and a file whose stamp differs once it has been read is refused (``datafiles.check_unchanged``).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.astro import artefacts, crops, label_quality, sourcefinding
from radiobench.api import DatasetNotFoundError, RadiobenchError, Split, Task, TaskSpec, cache_root
from radiobench.io.datafiles import check_unchanged, sha256_and_stamp
from radiobench_plugins.mgcls_counts import FIELD_SUFFIXES, SURVEY_CATALOGUE
from radiobench_plugins.mgcls_counts.download import fetch

CATALOGUE_SUFFIXES = (".catalogue.csv", ".catalogue.fits")


LABEL_SOURCES = ("pybdsf", "truth")


class FieldCounts(Task):
    """Options: ``crop`` (pixels), ``percentiles`` (the field's range mapped to [0, 1]; default the study's
    2nd-98th), ``asinh_saturate`` (unset: the study's linear clip; a number: an asinh stretch that saturates
    at that multiple of the range, ``radiobench.astro.crops.scale``), ``beam_deg`` (for fields without beam keywords), ``frequency_hz``
    (for pyBDSF when the header has none), ``processes``; simulated variants add ``simulate`` and
    ``label_source`` (``pybdsf``, the default, or ``truth``: the simulator's compact sources with true
    peak S/N >= 5, so a user can see how much of a score is label noise) and ``flag_artefacts`` (true: drop
    the crops within reach of a bright source's simulated artefacts, ``radiobench.astro.artefacts``, as
    survey catalogues flag such regions; it needs each field's truth catalogue) and ``every_depth`` (true:
    read each backbone's ``depth_embedding``, its embedding and every earlier depth's mean). Fields with a
    ``<stem>.truth.csv`` beside them get pyBDSF's completeness and purity against it in the metadata."""

    pixel_range = (0.0, 1.0)  # crops are scaled per field in prepare (the p2-p98 range needs the whole field)

    def __init__(self, spec: TaskSpec, **options: Any):
        super().__init__(spec, **options)
        self.crop = int(options.get("crop", 256))
        self.percentiles = tuple(float(v) for v in options.get("percentiles", crops.PERCENTILES))
        if len(self.percentiles) != 2 or not 0 <= self.percentiles[0] < self.percentiles[1] <= 100:
            raise RadiobenchError(f"{spec.name}: percentiles is {list(self.percentiles)}; give two numbers, "
                                  "0 <= low < high <= 100 (the study's: 2, 98)")
        saturate = options.get("asinh_saturate")
        self.asinh_saturate = None if saturate is None else float(saturate)
        if self.asinh_saturate is not None and not self.asinh_saturate > 1:
            raise RadiobenchError(f"{spec.name}: asinh_saturate is {saturate}; give a number above 1 (pixels at that "
                                  "multiple of the percentile range map to 1) or leave it out for the linear clip")
        beam = options.get("beam_deg")
        self.beam_deg = tuple(float(b) for b in beam) if beam is not None else None
        self.label_source = str(options.get("label_source") or "pybdsf")
        if self.label_source not in LABEL_SOURCES:
            raise RadiobenchError(f"{spec.name}: label_source is {self.label_source!r}; use one of "
                                  f"{', '.join(LABEL_SOURCES)}")
        flag = options.get("flag_artefacts", False)
        if not isinstance(flag, bool):
            raise RadiobenchError(f"{spec.name}: flag_artefacts is {flag!r}; give true or false")
        if flag and "simulate" not in options:
            raise RadiobenchError(f"{spec.name}: flag_artefacts needs simulated fields (their truth catalogues give the "
                                  "bright sources' peaks and noise); leave it out for real fields")
        self.flag_artefacts = flag
        every_depth = options.get("every_depth", False)
        if not isinstance(every_depth, bool):
            raise RadiobenchError(f"{spec.name}: every_depth is {every_depth!r}; give true or false")
        self.every_depth = every_depth
        self._meta: dict[str, Any] = {}
        self._split: Split | None = None
        self._data_sha256 = ""

    @property
    def data_sha256(self) -> str:
        return self._data_sha256 or self.spec.data_sha256

    def metadata(self) -> dict[str, Any]:
        return self._meta

    def folder(self, root: Path) -> Path:
        if "simulate" in self.options:
            # made data lives in the cache, never in the data root (often a shared, read-only folder),
            # one folder per simulation recipe so recipes never mix
            recipe = json.dumps(self.options["simulate"], sort_keys=True)
            return cache_root() / "simulated" / self.spec.name / hashlib.sha256(recipe.encode()).hexdigest()[:12]
        return super().folder(root)

    @property
    def generated(self) -> bool:
        return "simulate" in self.options

    def data_present(self, root: Path) -> bool:
        """Real fields: any FITS field in the folder. Simulated ones: all of them already made (in the cache)."""
        fields = self.field_files(self.folder(root))
        return len(fields) >= int(self.options["simulate"]["n_fields"]) if self.generated else bool(fields)

    def field_files(self, folder: Path) -> list[Path]:
        """FITS images in ``folder``, leaving out catalogues (which are FITS tables too)."""
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and _stem(p) is not None
                      and ".catalogue." not in p.name and p.name != SURVEY_CATALOGUE)

    def prepare(self, root: Path, download: bool = False) -> None:
        folder = self.folder(root)
        if "simulate" in self.options:
            self._simulate(folder)
        elif download:
            fetch(folder)
        fields = self.field_files(folder)
        if not fields:
            raise DatasetNotFoundError(
                f"{self.spec.name}: no FITS fields in {folder}; place MGCLS *_5pln_cor.FITS files (or any 2-D radio "
                f"FITS images) there, see `radiobench data path {self.spec.name}` and {self.spec.download_hint}"
            )
        self.root = Path(root)
        self._build(fields, folder)

    def _simulate(self, folder: Path) -> None:
        from radiobench.astro.simulate import FieldParams, mgcls_pointing, simulate_field, write_field

        from radiobench.api import progress_stage as stage

        recipe = dict(self.options["simulate"])
        n_fields = int(recipe.pop("n_fields"))
        # seeds first_seed .. first_seed + n_fields - 1, so a recipe can keep clear of fields used for design
        first = recipe.pop("first_seed", 0)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            raise RadiobenchError(f"{self.spec.name}: simulate.first_seed is {first!r}; give a whole number, 0 or more")
        structure = recipe.pop("structure", None)  # "mgcls": each field drawn as a cluster pointing
        if structure not in (None, "mgcls"):
            raise RadiobenchError(f"{self.spec.name}: simulate.structure is {structure!r}; use 'mgcls' or leave it out")
        todo = [i for i in range(first, first + n_fields) if not (folder / _field_name(i)).exists()]
        made = stage(f"{self.spec.name}: simulate {len(todo)} fields (first run only)", len(todo), "fields")
        for i in todo:
            params = mgcls_pointing(i, **recipe) if structure == "mgcls" else FieldParams(**recipe, seed=i)
            write_field(simulate_field(params), folder / _field_name(i))
            made(1)

    def _build(self, fields: list[Path], folder: Path) -> None:
        from radiobench.astro.fitsimage import read_radio_image

        images, labels, ids, groups, per_field = [], [], [], [], []
        hashed = {path: sha256_and_stamp(path) for path in fields}
        shas = {path: sha for path, (sha, _) in hashed.items()}
        survey = folder / SURVEY_CATALOGUE
        survey_positions = survey_sha = None
        if survey.is_file():
            survey_sha, survey_positions = self._positions(survey)
        needs_finder = [p for p in fields if _catalogue_beside(p) is None and survey_positions is None]
        found: dict[Path, tuple[list[dict[str, Any]], float | None]] = {}
        start = time.perf_counter()
        if needs_finder:
            from radiobench.api import progress_stage as stage

            for path in needs_finder:  # fail on a bad field before spending minutes on pyBDSF
                read_radio_image(path, beam_deg=self.beam_deg)
            found = sourcefinding.catalogue_fields(
                [(p, *hashed[p]) for p in needs_finder], cache_root() / "sourcefinding", beam_deg=self.beam_deg,
                frequency_hz=self.options.get("frequency_hz"), processes=self.options.get("processes"),
                on_field=stage(f"{self.spec.name}: pyBDSF labels, {len(needs_finder)} fields (cached after)",
                               len(needs_finder), "fields"),
            )
        labelling_seconds = time.perf_counter() - start
        catalogue_shas = {}
        qualities: list[dict[str, Any]] = []
        for path in fields:
            image = read_radio_image(path, beam_deg=self.beam_deg)
            check_unchanged(path, hashed[path][1], self.spec.name)  # the pixels are those of the sha256 recorded
            tiling = crops.tile(image.data, self.crop)
            flagged = 0
            if self.flag_artefacts:
                tiling, flagged = self._drop_artefact_crops(path, image, tiling)
            lo, hi = crops.percentile_range(image.data, self.percentiles)
            catalogue = _catalogue_beside(path)
            if catalogue is not None:
                catalogue_shas[catalogue.name], (ra, dec) = self._positions(catalogue)
                source = {"labels_from": catalogue.name}
            elif survey_positions is not None:  # positions outside this field land outside every crop
                ra, dec = survey_positions
                catalogue_shas[survey.name] = survey_sha
                source = {"labels_from": survey.name}
            else:
                rows, seconds = found[path]
                ra, dec = sourcefinding.compact(rows)
                frequency, given = image.frequency_hz, "header"
                if frequency is None:
                    frequency = self.options.get("frequency_hz") or sourcefinding.FALLBACK_FREQUENCY_HZ
                    given = "option" if self.options.get("frequency_hz") else "assumed (none in header)"
                source = {"labels_from": "pybdsf", "pybdsf_sources": len(rows), "pybdsf_seconds": seconds,
                          "frequency_hz": frequency, "frequency_from": given}
            x, y = image.wcs.world_to_pixel_values(ra, dec) if len(ra) else (np.empty(0), np.empty(0))
            truth_file = path.with_name(f"{_stem(path)}.truth.csv")
            if truth_file.is_file():
                truth = label_quality.read_truth(truth_file)
                if path in found:
                    quality = _pybdsf_quality(found[path][0], truth, image, path)
                    source["pybdsf_vs_truth"] = quality
                    qualities.append(quality)
                if self.label_source == "truth":
                    keep = label_quality.truth_label_mask(truth)
                    x, y = truth["x"][keep], truth["y"][keep]
                    source = {**source, "labels_from": f"{truth_file.name} (compact, true S/N >= "
                                                       f"{label_quality.TRUTH_MIN_SNR:g})"}
            elif self.label_source == "truth":
                raise RadiobenchError(f"{self.spec.name}: label_source truth needs {truth_file.name} beside "
                                      f"{path.name} (simulated tasks write it); use label_source pybdsf")
            counts = crops.count_in_crops(np.asarray(x), np.asarray(y), tiling)
            inside = int(np.sum(np.isfinite(x) & np.isfinite(y) & (np.asarray(x) > -0.5) & (np.asarray(y) > -0.5)
                                & (np.asarray(x) < image.data.shape[1] - 0.5) & (np.asarray(y) < image.data.shape[0] - 0.5)))
            images.append(crops.scale(crops.cut(image.data, tiling), lo, hi, self.asinh_saturate))
            labels.append(counts.astype(np.float64))
            ids += [f"{path.name}:{r}:{c}" for r, c in tiling.corners]
            groups += [path.name] * len(tiling.corners)
            per_field.append({
                "file": path.name, "sha256": shas[path], "shape": list(image.data.shape), "beam_deg": list(image.beam_deg),
                "pixel_arcsec": image.pixel_deg * 3600, "percentile_range": [lo, hi], "crops": len(tiling.corners),
                "crops_rejected_nan": tiling.rejected, **({"crops_flagged_artefacts": flagged} if self.flag_artefacts
                                                          else {}),
                "compact_sources": inside, **source,
            })
        if not sum(len(l) for l in labels):
            why = "free of NaN and clear of artefacts" if self.flag_artefacts else "free of NaN"
            raise RadiobenchError(
                f"{self.spec.name}: no {self.crop}x{self.crop} crop of {len(fields)} fields is {why}; "
                "use a smaller crop or fields with less blanking"
                + (" or set flag_artefacts false" if self.flag_artefacts else "")
            )
        identity = {"fields": {p.name: shas[p] for p in fields}, "catalogues": catalogue_shas}
        self._data_sha256 = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        self._split = Split(np.concatenate(images), np.concatenate(labels), ids, np.asarray(groups))
        self._meta = {
            "crop": self.crop,
            "percentiles": list(self.percentiles),
            "stretch": "linear, clipped" if self.asinh_saturate is None else
                       f"asinh, saturating at {self.asinh_saturate:g}x the percentile range",
            "fields": per_field,
            "source_finder": {"name": "pyBDSF", "version": sourcefinding.bdsf_version(), "params": sourcefinding.PARAMS,
                              "compact_codes": list(sourcefinding.COMPACT_CODES)} if needs_finder else None,
            "artefact_flagging": artefacts.describe() if self.flag_artefacts else None,
            "labelling_seconds": labelling_seconds,
            "label_source": self.label_source,
            "count_distribution": label_quality.count_distribution(labels),
            "pybdsf_vs_truth": label_quality.pooled(qualities) or None,
        }

    def _drop_artefact_crops(self, path: Path, image: Any, tiling: crops.Tiling) -> tuple[crops.Tiling, int]:
        """The field's crops clear of its bright sources' artefacts, and how many were dropped."""
        from astropy.io import fits

        from radiobench.astro.simulate import FieldParams, HEADER_KEYS

        truth_file = path.with_name(f"{_stem(path)}.truth.csv")
        level = fits.getheader(path).get(HEADER_KEYS["artefact_level"])
        if not truth_file.is_file() or level is None:
            raise RadiobenchError(f"{self.spec.name}: flag_artefacts needs {truth_file.name} beside {path.name} and "
                                  f"{HEADER_KEYS['artefact_level']} in its header (simulated fields have both); "
                                  "delete the field to re-simulate it, or set flag_artefacts false")
        truth = label_quality.read_truth(truth_file)
        drawn = ~truth["diffuse"]
        reach = artefacts.reaches(truth["x"][drawn], truth["y"][drawn], truth["peak"][drawn], truth["local_rms"][drawn],
                                  float(level), FieldParams.artefact_above, image.beam_pixels)
        keep = artefacts.clear(tiling.corners, tiling.size, reach)
        corners = [c for c, k in zip(tiling.corners, keep) if k]
        return crops.Tiling(corners, tiling.rejected, tiling.size), int((~keep).sum())

    def _positions(self, catalogue: Path) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
        """A catalogue's sha256 and its positions, refused if the file changed between the two."""
        from radiobench.astro.catalogues import read_positions

        sha, stamp = sha256_and_stamp(catalogue)
        positions = read_positions(catalogue)
        check_unchanged(catalogue, stamp, self.spec.name)
        return sha, positions

    def load_split(self, split: str) -> Split:
        if self._split is None:
            raise RadiobenchError(f"{self.spec.name}: call prepare(root) before loading a split")
        if split != "all":
            raise RadiobenchError(f"{self.spec.name} serves one split, 'all' (partitioned per seed), not {split!r}")
        return self._split


def _field_name(seed: int) -> str:
    return f"field_{seed:03d}.fits"


def _stem(path: Path) -> str | None:
    return next((path.name[: -len(s)] for s in FIELD_SUFFIXES if path.name.endswith(s)), None)


def _catalogue_beside(path: Path) -> Path | None:
    stem = _stem(path)
    return next((c for s in CATALOGUE_SUFFIXES if (c := path.with_name(f"{stem}{s}")).is_file()), None)


def _pybdsf_quality(rows: list[dict[str, Any]], truth: dict[str, np.ndarray], image: Any, path: Path) -> dict[str, Any]:
    """pyBDSF's compact sources against the simulator's compact truth, matched within one beam FWHM.

    A detection's S/N is its peak over the simulated noise there (SIMRMS / primary beam), so
    both tables bin on the same scale as the truth's.
    """
    from astropy.io import fits

    from radiobench.astro.simulate import FieldParams

    compact = [r for r in rows if r["s_code"] in sourcefinding.COMPACT_CODES]
    ra = np.array([float(r["ra"]) for r in compact])
    dec = np.array([float(r["dec"]) for r in compact])
    peak = np.array([float(r["peak_flux"]) for r in compact])
    fx, fy = image.wcs.world_to_pixel_values(ra, dec) if len(ra) else (np.empty(0), np.empty(0))
    header = fits.getheader(path)
    size = image.data.shape[0]
    field = FieldParams(size=max(size, 32), pixel_arcsec=image.pixel_deg * 3600, rms=float(header["SIMRMS"]),
                        frequency_hz=image.frequency_hz or 1.28e9)
    centre = (size - 1) / 2.0
    local = field.rms / field.primary_beam(np.hypot(np.asarray(fx) - centre, np.asarray(fy) - centre))
    keep = truth["compact"]
    return label_quality.match_quality(
        np.column_stack([truth["x"][keep], truth["y"][keep]]), truth["snr"][keep],
        np.column_stack([fx, fy]), peak / local, radius=image.beam_deg[0] / image.pixel_deg,
    )
