"""Design figures of ``sim_galaxies`` 1.0, on its DESIGN fields only (seeds 200-211; never the test seeds 300-311).

The task is built exactly as registered, except that its test split is drawn from the design seeds
(``task_spec("sim_galaxies_design", DESIGN_SEEDS)``); train (seeds 0-29, 240 cutouts) is the task's own.
It prints, on the 96 design cutouts:

1. pyBDSF islands as boxes (the ``pybdsf`` baseline: every island, class FR-II, peak S/N as score);
2. the grouping rule over a small grid (gap 1, 3, 6, 10 beams; peak S/N ratio 3, 10; keep groups with an
   extended island, or also pairs of compact ones), chosen by class-agnostic mAP@0.5; the frozen rule
   (``GroupingRule()``, the ``pybdsf_groups`` backbone) is that choice;
3. the pixel control ``control_image_map`` with the ``detect`` protocol, 5 seeds (mean, 95 % BCa interval
   from the result file), and its completeness / purity at score thresholds 0.1-0.5; the task's
   ``match_score`` is the threshold with the control's best mean F1.

Run: ``.venv/bin/python benchmarks/sim_galaxies_design.py [--skip-control]`` (about 25 min on 2 shared cores:
5 min simulating and pyBDSF, the rest the control's heads).

Measured on the 2-core CPU machine (load average 7-11), with the rule's grid before its defaults were set
(the frozen rule is the grid's first row):

    design split: 96 cutouts of seeds 200-211, 143 galaxies (FR-II 56, FR-I 24, FR-X 23, R 40)
    pyBDSF on 96 design cutouts: 165 s
    rows (mAP class-aware; agnostic: mAP / mAP@.5 ignoring classes; completeness / purity at match_score 0.3):
      pybdsf (islands, class FR-II)                        mAP 0.002  mAP@.5 0.003  agnostic 0.062 / 0.093  completeness 0.986  purity 0.039  boxes 3593
      groups gap 1 beams, ratio 3, keep extended           mAP 0.123  mAP@.5 0.186  agnostic 0.203 / 0.309  completeness 0.888  purity 0.540  boxes 235
      groups gap 1 beams, ratio 3, keep extended_or_pair   mAP 0.119  mAP@.5 0.182  agnostic 0.189 / 0.286  completeness 0.888  purity 0.347  boxes 366
      groups gap 1 beams, ratio 10, keep extended          mAP 0.110  mAP@.5 0.171  agnostic 0.170 / 0.292  completeness 0.881  purity 0.543  boxes 232
      groups gap 1 beams, ratio 10, keep extended_or_pair  mAP 0.106  mAP@.5 0.167  agnostic 0.148 / 0.252  completeness 0.881  purity 0.303  boxes 416
      groups gap 3 beams, ratio 3, keep extended           mAP 0.129  mAP@.5 0.193  agnostic 0.193 / 0.290  completeness 0.818  purity 0.534  boxes 219
      groups gap 3 beams, ratio 3, keep extended_or_pair   mAP 0.125  mAP@.5 0.188  agnostic 0.172 / 0.255  completeness 0.846  purity 0.201  boxes 601
      groups gap 3 beams, ratio 10, keep extended          mAP 0.103  mAP@.5 0.138  agnostic 0.148 / 0.231  completeness 0.783  purity 0.541  boxes 207
      groups gap 3 beams, ratio 10, keep extended_or_pair  mAP 0.101  mAP@.5 0.132  agnostic 0.118 / 0.176  completeness 0.811  purity 0.163  boxes 711
      groups gap 6 beams, ratio 3, keep extended           mAP 0.110  mAP@.5 0.172  agnostic 0.158 / 0.262  completeness 0.664  purity 0.473  boxes 201
      groups gap 6 beams, ratio 3, keep extended_or_pair   mAP 0.105  mAP@.5 0.161  agnostic 0.133 / 0.216  completeness 0.692  purity 0.129  boxes 765
      groups gap 6 beams, ratio 10, keep extended          mAP 0.047  mAP@.5 0.060  agnostic 0.064 / 0.109  completeness 0.517  purity 0.418  boxes 177
      groups gap 6 beams, ratio 10, keep extended_or_pair  mAP 0.046  mAP@.5 0.058  agnostic 0.054 / 0.088  completeness 0.552  purity 0.109  boxes 727
      groups gap 10 beams, ratio 3, keep extended          mAP 0.086  mAP@.5 0.127  agnostic 0.099 / 0.172  completeness 0.420  purity 0.347  boxes 173
      groups gap 10 beams, ratio 3, keep extended_or_pair  mAP 0.084  mAP@.5 0.122  agnostic 0.081 / 0.138  completeness 0.455  purity 0.121  boxes 538
      groups gap 10 beams, ratio 10, keep extended         mAP 0.042  mAP@.5 0.052  agnostic 0.042 / 0.049  completeness 0.259  purity 0.298  boxes 124
      groups gap 10 beams, ratio 10, keep extended_or_pair mAP 0.042  mAP@.5 0.051  agnostic 0.039 / 0.045  completeness 0.266  purity 0.134  boxes 283
    chosen by agnostic mAP@.5: gap 1, ratio 3, keep extended  (the frozen GroupingRule(): pybdsf_groups = the first groups row)

    control_image_map, detect, 5 seeds: 588 s   (run again at 529a62c with the same pyBDSF rows; pyBDSF 63 s)
      control_image_map map              0.127 [0.091, 0.150] (half-width 0.030)
      control_image_map map_50           0.255 [0.188, 0.295] (half-width 0.054)
      control_image_map map_agnostic     0.149 [0.106, 0.193] (half-width 0.043)
      control_image_map map_50_agnostic  0.317 [0.231, 0.382] (half-width 0.075)
      control_image_map completeness     0.832 [0.774, 0.879] (half-width 0.052)
      control_image_map purity           0.106 [0.092, 0.121] (half-width 0.015)
      control at score >= 0.1: completeness 0.958 purity 0.014 F1 0.028
      control at score >= 0.2: completeness 0.941 purity 0.026 F1 0.051
      control at score >= 0.3: completeness 0.832 purity 0.106 F1 0.187
      control at score >= 0.4: completeness 0.657 purity 0.282 F1 0.394
      control at score >= 0.5: completeness 0.396 purity 0.580 F1 0.469
    match_score by the control's F1: 0.5; the task's option was 0.3 (provisional), frozen at 0.5
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-control", action="store_true", help="only the pyBDSF rows")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    from radiobench.astro.grouping import GroupingRule, completeness_purity, galaxies_from_islands
    from radiobench.astro.sourcefinding import PARAMS, find_islands
    from radiobench.registry import get_registry
    from radiobench.run import RunOptions, build_task, run_pair
    from radiobench.testing import registry_with
    from radiobench_plugins.baselines.models import SourceFinder
    from radiobench_plugins.sim_galaxies import BEAM_PIXELS, DESIGN_SEEDS, TEST_SEEDS, task_spec

    assert not set(DESIGN_SEEDS) & set(TEST_SEEDS)
    base = get_registry()
    spec = task_spec("sim_galaxies_design", DESIGN_SEEDS, in_all=False, preregistration="")  # design, not the test
    assert spec.options["simulate"]["test_seeds"] == list(DESIGN_SEEDS)
    registry = registry_with(spec, *(base.backbone(n).spec for n in ("control_image_map", "pybdsf", "pybdsf_groups")))
    task = build_task(registry.task(spec.name))
    began = time.perf_counter()
    task.prepare(Path("."))
    test = task.load_split("test")
    truth = [{"boxes": b, "labels": lab} for b, lab in zip(test.boxes, test.labels)]
    n_gal = sum(len(b) for b in test.boxes)
    counts = np.bincount(np.concatenate(test.labels), minlength=4)
    print(f"design split: {len(test)} cutouts of seeds {DESIGN_SEEDS[0]}-{DESIGN_SEEDS[-1]}, {n_gal} galaxies "
          f"(FR-II {counts[0]}, FR-I {counts[1]}, FR-X {counts[2]}, R {counts[3]}); built in "
          f"{time.perf_counter() - began:.0f} s")
    figures: dict = {"design_seeds": list(DESIGN_SEEDS), "cutouts": len(test), "galaxies": n_gal,
                     "per_class": counts.tolist()}

    began = time.perf_counter()
    islands = find_islands(test.raw, BEAM_PIXELS, params={**PARAMS, **SourceFinder.PARAMS})
    print(f"pyBDSF on {len(test)} design cutouts: {time.perf_counter() - began:.0f} s")
    score_min = float(task.options["match_score"])

    def row(name: str, found: list[dict]) -> dict:
        s = task.score(truth, found)
        keep = {k: round(float(s[k]), 4) for k in ("map", "map_50", "map_agnostic", "map_50_agnostic",
                                                    "completeness", "purity")}
        print(f"  {name:52s} mAP {keep['map']:.3f}  mAP@.5 {keep['map_50']:.3f}  agnostic {keep['map_agnostic']:.3f} / "
              f"{keep['map_50_agnostic']:.3f}  completeness {keep['completeness']:.3f}  purity {keep['purity']:.3f}  "
              f"boxes {sum(len(f['boxes']) for f in found)}")
        return keep

    print("rows (mAP class-aware; agnostic: mAP / mAP@.5 ignoring classes):")
    figures["pybdsf"] = row("pybdsf (islands, class FR-II)", [
        {"boxes": b, "scores": s, "labels": np.zeros(len(b), dtype=np.int64)} for b, s in islands])
    grid = []
    for gap, ratio, keep in itertools.product((1.0, 3.0, 6.0, 10.0), (3.0, 10.0), ("extended", "extended_or_pair")):
        rule = GroupingRule(gap_beams=gap, flux_ratio=ratio, keep=keep)
        found = [galaxies_from_islands(raw, b, s, BEAM_PIXELS[0], rule) for raw, (b, s) in zip(test.raw, islands)]
        grid.append(((gap, ratio, keep), row(f"groups gap {gap:g} beams, ratio {ratio:g}, keep {keep}", found)))
    best = max(grid, key=lambda g: (g[1]["map_50_agnostic"], g[1]["map"]))
    frozen = GroupingRule()
    print(f"chosen by agnostic mAP@.5: gap {best[0][0]:g}, ratio {best[0][1]:g}, keep {best[0][2]}; frozen rule: "
          f"gap {frozen.gap_beams:g}, ratio {frozen.flux_ratio:g}, keep {frozen.keep}")
    figures["grouping_grid"] = [{"gap_beams": g[0], "flux_ratio": g[1], "keep": g[2], **m} for g, m in grid]
    figures["grouping_chosen"] = {"gap_beams": best[0][0], "flux_ratio": best[0][1], "keep": best[0][2]}
    figures["pybdsf_groups"] = row("pybdsf_groups (the frozen rule)", [
        galaxies_from_islands(raw, b, s, BEAM_PIXELS[0], frozen) for raw, (b, s) in zip(test.raw, islands)])

    if not args.skip_control:
        from radiobench.results.files import read_result
        from radiobench.results.predictions import read_predictions

        with tempfile.TemporaryDirectory(prefix="sim-galaxies-design-") as tmp:
            began = time.perf_counter()
            opts = RunOptions(seeds=5, results_dir=Path(tmp))
            [outcome] = run_pair(registry, "control_image_map", spec.name, opts)
            if outcome.status != "done":
                sys.exit(f"control_image_map: {outcome.status} {outcome.error}")
            record = json.loads(outcome.path.read_text())
            per_seed = read_predictions(outcome.path, read_result(outcome.path))
        print(f"control_image_map, detect, 5 seeds: {time.perf_counter() - began:.0f} s")
        control = {}
        for metric in ("map", "map_50", "map_agnostic", "map_50_agnostic", "completeness", "purity"):
            m = record["metrics"][metric]
            lo, hi = record["intervals"]["metrics"].get(metric, [float("nan")] * 2)
            control[metric] = {"mean": round(m["mean"], 4), "ci95": [round(lo, 4), round(hi, 4)],
                               "half_width": round((hi - lo) / 2, 4)}
            print(f"  control_image_map {metric:16s} {m['mean']:.3f} [{lo:.3f}, {hi:.3f}] (half-width {(hi - lo) / 2:.3f})")
        thresholds = {}
        for t in (0.1, 0.2, 0.3, 0.4, 0.5):
            cp = [completeness_purity(p.targets, p.detections, t) for p in per_seed.values()]
            c, pu = np.mean([x["completeness"] for x in cp]), np.mean([x["purity"] for x in cp])
            f1 = np.mean([2 * x["completeness"] * x["purity"] / max(x["completeness"] + x["purity"], 1e-9) for x in cp])
            thresholds[t] = {"completeness": round(float(c), 4), "purity": round(float(pu), 4), "f1": round(float(f1), 4)}
            print(f"  control at score >= {t:.1f}: completeness {c:.3f} purity {pu:.3f} F1 {f1:.3f}")
        chosen = max(thresholds, key=lambda t: thresholds[t]["f1"])
        print(f"match_score by the control's F1: {chosen:.1f}; the task's option: {score_min:.1f}")
        figures["control_image_map"] = control
        figures["match_score_scan"] = thresholds
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("RADIOBENCH_PROCESSES", "2")
    main()
