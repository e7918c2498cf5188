"""Within-field R²: a field recogniser scores 0, counting inside fields scores above it, and resamples agree."""

from __future__ import annotations

import numpy as np
import pytest

from radiobench.results.fields import field_mean_oracle_r2, field_scores, weighted_within_field_r2, within_field_r2
from radiobench.results.predictions import ItemPredictions
from radiobench.results.resample import design_for


def _fields(seed: int = 0, n_fields: int = 6, per_field: int = 30):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"field{i}" for i in range(n_fields)], per_field)
    depth = np.repeat(rng.uniform(2, 20, n_fields), per_field)  # fields differ a lot in their mean count
    counts = rng.poisson(depth).astype(float)
    return counts, groups, depth


def test_the_field_mean_oracle_scores_zero_within_fields_and_the_between_share_overall():
    counts, groups, _ = _fields()
    means = {g: counts[groups == g].mean() for g in np.unique(groups)}
    oracle = np.array([means[g] for g in groups])
    assert within_field_r2(counts, oracle, groups) == pytest.approx(0.0, abs=1e-12)
    overall = 1 - ((counts - oracle) ** 2).sum() / ((counts - counts.mean()) ** 2).sum()
    assert field_mean_oracle_r2(counts, groups) == pytest.approx(overall)
    assert 0.5 < overall < 1  # these fields differ more between than within


def test_counting_inside_fields_scores_its_share_and_a_perfect_count_scores_one():
    counts, groups, _ = _fields()
    assert within_field_r2(counts, counts, groups) == pytest.approx(1.0)
    assert within_field_r2(counts, counts + 7.0, groups) == pytest.approx(1.0)  # an offset per field costs nothing
    noisy = counts + np.random.default_rng(1).normal(0, 1.5, len(counts))
    assert 0.3 < within_field_r2(counts, noisy, groups) < 0.95


def test_whole_field_resamples_equal_the_metric_on_the_repeated_rows():
    counts, groups, depth = _fields()
    predicted = depth + 0.5 * (counts - depth)
    items = ItemPredictions(ids=np.array([f"i{k}" for k in range(len(counts))]), truth=counts, predicted=predicted,
                            groups=groups)
    weights = design_for(items, "value").weights(50, np.random.default_rng(0))
    fast = weighted_within_field_r2(counts, predicted, groups, weights)
    for b in range(5):
        rows = np.repeat(np.arange(len(counts)), weights[b].astype(int))
        # a field drawn twice is two fields with the same crops: within-field sums double, as in the weighted form
        relabel = np.array([f"{groups[r]}#{k}" for r, k in zip(rows, _occurrence(rows, groups))])
        assert fast[b] == pytest.approx(within_field_r2(counts[rows], predicted[rows], relabel))
    with pytest.raises(ValueError, match="whole fields"):
        weighted_within_field_r2(counts, predicted, groups, np.random.default_rng(0).integers(0, 3, (2, len(counts))))


def _occurrence(rows: np.ndarray, groups: np.ndarray) -> list[int]:
    """Which copy of its field each repeated row belongs to."""
    seen: dict[tuple[str, int], int] = {}
    out = []
    for r in rows:
        key = (groups[r], r)
        seen[key] = seen.get(key, -1) + 1
        out.append(seen[key])
    return out


def test_field_scores_carry_intervals_that_hold_the_estimate():
    per_seed = []
    for seed in range(3):
        counts, groups, depth = _fields(seed=10)
        rng = np.random.default_rng(seed)
        per_seed.append(ItemPredictions(ids=np.array([f"i{k}" for k in range(len(counts))]), truth=counts,
                                        predicted=depth + 0.6 * (counts - depth) + rng.normal(0, 1, len(counts)),
                                        groups=groups))
    scores = field_scores(per_seed, n_resamples=400)
    for mean, low, high in (scores.r2, scores.r2_within):
        assert low <= mean <= high and high - low > 0.005
    assert scores.r2[0] > scores.r2_within[0] > 0.2


@pytest.mark.slow  # ~15 s: the committed linear board's column tests
def test_the_committed_counting_board_shows_field_recognition_apart_from_counting():
    from pathlib import Path

    from radiobench.board.collect import collect
    from radiobench.board.render import to_html_page, to_markdown

    board = collect(Path(__file__).resolve().parents[1] / "leaderboard" / "results", protocol="linear")
    view = board.fields["sim_counts"]
    assert set(board.fields) == {"sim_counts"}  # the only task of values in fields; classes have no field view
    assert 0.3 < view["oracle_r2"] < 0.6  # issue 32 measured 0.47 for sim_counts 5.0
    rows = view["rows"]
    best = max(rows, key=lambda b: rows[b].r2_within[0])
    assert best == "control_peaks" and rows[best].r2_within[1] > 0.5  # the positive control counts inside fields
    assert rows["pixels"].r2_within[2] < 0.1  # raw downsampled pixels do not
    page = to_markdown(board)
    assert "**sim_counts: counting within fields.**" in page and f"R² {view['oracle_r2']:.2f} overall" in page
    assert '<div class="fields" data-task="sim_counts">' in to_html_page({"linear": board})
