"""Label quality: completeness and purity of a finder's catalogue against known sources."""

import numpy as np
import pytest

from radiobench.astro.label_quality import count_distribution, match_quality, pooled, read_truth, truth_label_mask
from radiobench.astro.simulate import FieldParams, simulate_field, write_field


def test_completeness_and_purity_on_known_sources_by_snr_bin():
    true_xy = np.array([[10, 10], [50, 50], [90, 90], [130, 130]], dtype=float)
    true_snr = np.array([4.0, 6.0, 12.0, 30.0])
    # found: the 12 and 30 sigma ones (one 2 pixels off), the 6 sigma one 8 pixels off (outside a 5-pixel beam),
    # and two spurious detections
    found_xy = np.array([[90, 90], [131.5, 131.5], [58, 50], [200, 200], [300, 10]], dtype=float)
    found_snr = np.array([12.0, 30.0, 6.0, 5.5, 25.0])
    q = match_quality(true_xy, true_snr, found_xy, found_snr, radius=5.0)
    assert q["true_above_min_snr"] == 3 and q["completeness"] == pytest.approx(2 / 3)
    assert q["purity"] == pytest.approx(2 / 5) and q["found"] == 5
    by = {(b["snr_low"], b["snr_high"]): b for b in q["completeness_by_snr"]}
    assert by[(3.0, 5.0)]["fraction"] == 0.0 and by[(5.0, 10.0)]["fraction"] == 0.0
    assert by[(10.0, 20.0)]["fraction"] == 1.0 and by[(20.0, 50.0)]["fraction"] == 1.0 and by[(0.0, 3.0)]["n"] == 0
    pur = {(b["snr_low"], b["snr_high"]): b for b in q["purity_by_snr"]}
    assert pur[(5.0, 10.0)]["n"] == 2 and pur[(5.0, 10.0)]["fraction"] == 0.0 and pur[(20.0, 50.0)]["fraction"] == 0.5
    both = pooled([q, q])
    assert both["completeness"] == pytest.approx(2 / 3) and both["purity"] == pytest.approx(2 / 5)
    assert both["completeness_by_snr"][3]["n"] == 2


def test_nothing_found_or_nothing_true_gives_zero_and_none():
    q = match_quality(np.array([[1.0, 1.0]]), np.array([8.0]), np.empty((0, 2)), np.empty(0), radius=5.0)
    assert q["completeness"] == 0.0 and q["purity"] is None
    q = match_quality(np.empty((0, 2)), np.empty(0), np.array([[1.0, 1.0]]), np.array([8.0]), radius=5.0)
    assert q["completeness"] is None and q["purity"] == 0.0
    with pytest.raises(ValueError, match="one S/N per position"):
        match_quality(np.zeros((2, 2)), np.zeros(1), np.zeros((0, 2)), np.zeros(0), radius=1.0)


def test_a_simulated_truth_catalogue_reads_back_with_snr_and_compact_labels(tmp_path):
    field = simulate_field(FieldParams(size=256, n_sources=30, cluster_members=20, halo_flux=0.01, seed=1))
    write_field(field, tmp_path / "f.fits")
    truth = read_truth(tmp_path / "f.truth.csv")
    assert len(truth["x"]) == 51 and truth["compact"].sum() == sum(r["kind"] in ("point", "member") for r in field.truth)
    keep = truth_label_mask(truth)
    assert keep.sum() > 0 and np.all(truth["snr"][keep] >= 5) and np.all(truth["compact"][keep])
    halo = [i for i, r in enumerate(field.truth) if r["kind"] == "halo"]
    assert not keep[halo].any()


def test_count_distribution_separates_between_and_within_field_spread():
    stats = count_distribution([np.array([0, 0, 1, 1]), np.array([10, 10, 11, 11])])
    assert stats["crops"] == 8 and stats["fraction_empty"] == 0.25 and stats["max"] == 11
    assert stats["between_fields"]["field_mean_min"] == 0.5 and stats["between_fields"]["field_mean_max"] == 10.5
    assert stats["between_fields"]["variance_between_fields"] == pytest.approx(25 / 25.25)
    assert stats["quantiles"]["0.5"] == pytest.approx(5.5)
