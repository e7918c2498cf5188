"""Class-balanced logistic probes, or not: measured on every cached backbone of the classification tasks.

    python benchmarks/class_weights.py [--tasks mirabest rgd] [--seeds 1] [--out class_weights.csv]

RGD's training split is 47 % FRII (395/824/291/248) and its test split is balanced (50 per class);
MiraBest is near-balanced in both. A logistic probe fitted to the training prior tilts its decisions
towards FRII, which a balanced test set then punishes. The decision rule is fixed before any test
number is read: weight the classes by the inverse of their training frequency (scikit-learn's
``class_weight="balanced"``), i.e. fit under the uniform prior the test split has, if that does not
lower the *cross-validated* selection score (the task's main metric on the training folds) on the
backbones; the test columns are printed only to report what the change does.

Reads the full-size feature-cache entries that ``radiobench run`` left (the largest train/test entry
per backbone); a backbone without them is skipped with a note.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def cached(task: str, backbone_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    parts = {}
    for split in ("train", "test"):
        files = sorted(backbone_dir.glob(f"{split}-*.npz"), key=lambda f: f.stat().st_size)
        if not files:
            return None
        with np.load(files[-1]) as data:
            parts[split] = (data["features"].astype(np.float32), data["labels"])
    return (*parts["train"], *parts["test"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["mirabest", "rgd"])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", default="class_weights.csv")
    args = parser.parse_args()

    from radiobench.io.datafiles import cache_root
    from radiobench.kinds import get_kind
    from radiobench.protocols.base import FitJob
    from radiobench.protocols.linear import Linear
    from radiobench.registry import get_registry
    from radiobench.results.scoring import classification as classification_metrics

    registry = get_registry()
    rows = []
    for task in args.tasks:
        spec = registry.task(task).spec
        scorer = get_kind(spec.kind).selection_scorer(spec)
        for backbone_dir in sorted((cache_root() / "features" / task).iterdir()):
            data = cached(task, backbone_dir)
            if data is None:
                print(f"{task} {backbone_dir.name}: no cached features, skipped")
                continue
            x_train, y_train, x_test, y_test = data
            for weights in (None, "balanced"):
                probe = Linear()
                probe.options["class_weight"] = weights
                jobs = [FitJob.of(x_train, y_train, x_test, seed) for seed in range(args.seeds)]
                for seed, (predicted, params, _) in enumerate(probe.fit_predict_all(spec, jobs)):
                    test = classification_metrics(y_test, np.asarray(predicted))
                    recall = [float(np.mean(np.asarray(predicted)[y_test == c] == c)) for c in np.unique(y_test)]
                    row = {"task": task, "backbone": backbone_dir.name, "class_weight": weights or "none", "seed": seed,
                           "C": params["C"], "cv_metric": scorer, "cv_score": round(params["cv_score"], 4),
                           **{f"test_{k}": round(v, 4) for k, v in test.items()},
                           "test_recall_per_class": " ".join(f"{r:.2f}" for r in recall)}
                    rows.append(row)
                    print(row, flush=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    """Per task: how often balancing raised the CV selection score, and the mean change of each column."""
    for task in sorted({r["task"] for r in rows}):
        pairs: dict[tuple[str, int], dict[str, dict]] = {}
        for r in rows:
            if r["task"] == task:
                pairs.setdefault((r["backbone"], r["seed"]), {})[r["class_weight"]] = r
        cv_key = "cv_score"
        keys = [cv_key, "test_accuracy", "test_f1_macro", "test_balanced_accuracy"]
        deltas = {k: [p["balanced"][k] - p["none"][k] for p in pairs.values()] for k in keys}
        up = sum(d >= 0 for d in deltas[cv_key])
        metric = next(iter(pairs.values()))["none"]["cv_metric"]
        print(f"\n{task}: balanced - none over {len(pairs)} backbone-seeds; CV {metric} not lower in {up}")
        for k, d in deltas.items():
            print(f"  {k:<24} mean {np.mean(d):+.4f}  min {np.min(d):+.4f}  max {np.max(d):+.4f}")


if __name__ == "__main__":
    main()
