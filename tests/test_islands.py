"""pyBDSF islands as detection boxes (radiobench.astro.sourcefinding.find_islands)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from radiobench.errors import RadiobenchError
from radiobench.astro.simulate import FWHM_TO_SIGMA, FieldParams, simulate_field
from radiobench.astro.sourcefinding import PARAMS, find_islands

BEAM = 5.0  # FWHM in pixels


def _noise(shape: tuple[int, int], seed: int, rms: float = 1.0) -> np.ndarray:
    """Beam-correlated Gaussian noise of the given rms, as in a restored image."""
    noise = gaussian_filter(np.random.default_rng(seed).normal(size=shape), BEAM * FWHM_TO_SIGMA)
    return noise * (rms / noise.std())


def _gaussian(shape: tuple[int, int], row: float, col: float, peak: float, fwhm_x: float, fwhm_y: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    sx, sy = fwhm_x * FWHM_TO_SIGMA, fwhm_y * FWHM_TO_SIGMA
    return peak * np.exp(-0.5 * (((xx - col) / sx) ** 2 + ((yy - row) / sy) ** 2))


def _contains(boxes: np.ndarray, x: float, y: float) -> np.ndarray:
    return (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])


def _check_shapes(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, int]) -> None:
    assert boxes.dtype == np.float32 and scores.dtype == np.float32
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and scores.shape == (len(boxes),)
    height, width = shape
    assert np.all(boxes[:, 0] >= 0) and np.all(boxes[:, 2] <= width) and np.all(boxes[:, 0] < boxes[:, 2])
    assert np.all(boxes[:, 1] >= 0) and np.all(boxes[:, 3] <= height) and np.all(boxes[:, 1] < boxes[:, 3])
    assert np.all(np.isfinite(scores)) and np.all(scores > 0)


@pytest.mark.slow
def test_every_bright_simulated_source_lies_in_exactly_one_box():
    p = FieldParams(size=128, n_sources=25, seed=1, flux_min=5e-5)
    field = simulate_field(p)
    beam = p.beam_arcsec / p.pixel_arcsec
    [(boxes, scores)] = find_islands([field.image], (beam, beam, 0.0), processes=1)
    _check_shapes(boxes, scores, field.image.shape)
    bright = [r for r in field.truth if r["peak_jy_beam"] / p.rms >= 20]
    assert len(bright) >= 8  # the field is not trivially empty
    for row in bright:
        # truth x, y are pixel indices (pixel centres at integers); box coordinates put pixel i on [i, i + 1)
        hits = _contains(boxes, row["x"] + 0.5, row["y"] + 0.5)
        assert hits.sum() == 1, (row, boxes[hits])
        assert scores[hits][0] >= 10  # a bright source's island is significant


@pytest.mark.slow
def test_boxes_are_in_array_coordinates_not_transposed_or_flipped():
    square = _noise((128, 128), seed=2) + _gaussian((128, 128), row=20, col=90, peak=50.0, fwhm_x=BEAM, fwhm_y=BEAM)
    # a non-square image with a source elongated along the rows (y): a transposition cannot pass here
    tall = _noise((160, 64), seed=3) + _gaussian((160, 64), row=120, col=15, peak=50.0, fwhm_x=BEAM, fwhm_y=4 * BEAM)
    tall[:8] = np.nan  # blanked rows at the top
    (boxes, scores), (tall_boxes, tall_scores) = find_islands(
        [square.astype(np.float32), tall.astype(np.float32)], (BEAM, BEAM, 0.0), processes=1)
    _check_shapes(boxes, scores, square.shape)
    _check_shapes(tall_boxes, tall_scores, tall.shape)

    hit = _contains(boxes, 90.5, 20.5)
    assert hit.sum() == 1
    assert _contains(boxes, 90, 20).any() and not _contains(boxes, 20, 90).any()
    x0, y0, x1, y1 = boxes[hit][0]
    assert x0 <= 90 < x1 and y0 <= 20 < y1 and x1 - x0 < 20 and y1 - y0 < 20
    assert 30 < scores[hit][0] < 80  # peak / rms: 50 on unit noise (pyBDSF's rms estimate is near 1)

    hit = _contains(tall_boxes, 15.5, 120.5)
    assert hit.sum() == 1 and not _contains(tall_boxes, 120.5, 15.5).any()
    x0, y0, x1, y1 = tall_boxes[hit][0]
    assert (y1 - y0) > 2 * (x1 - x0)  # elongated along the rows, as drawn


@pytest.mark.slow
def test_noise_and_blanked_images_give_few_or_no_boxes():
    noise = _noise((128, 128), seed=4).astype(np.float32)
    bordered = noise.copy()
    bordered[:16], bordered[:, -16:] = np.nan, np.nan
    blank = np.full((64, 64), np.nan, dtype=np.float32)
    white = np.random.default_rng(5).normal(size=(96, 96)).astype(np.float32)
    results = find_islands([noise, bordered, blank, white], (BEAM, BEAM, 0.0), processes=1)
    for image, (boxes, scores) in zip([noise, bordered, blank, white], results):
        _check_shapes(boxes, scores, image.shape)
        assert len(boxes) <= 3
    assert results[2][0].shape == (0, 4) and results[2][1].shape == (0,)
    bordered_boxes = results[1][0]
    assert np.all(bordered_boxes[:, 1] >= 16) and np.all(bordered_boxes[:, 2] <= 128 - 16)  # nothing on blanks


@pytest.mark.slow
def test_one_and_two_processes_give_the_same_boxes():
    images = [simulate_field(FieldParams(size=128, n_sources=20, seed=s, flux_min=5e-5)).image for s in (6, 7)]
    beam = (5.0, 5.0, 0.0)
    one = find_islands(images, beam, processes=1)
    two = find_islands(images, beam, processes=2)
    assert all(len(b) > 0 for b, _ in one)
    for (b1, s1), (b2, s2) in zip(one, two):
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(s1, s2)


@pytest.mark.slow
def test_stopping_after_island_finding_gives_the_full_run_islands():
    image = simulate_field(FieldParams(size=128, n_sources=20, seed=8, flux_min=5e-5)).image
    [(fast, fast_scores)] = find_islands([image], (5.0, 5.0, 0.0), processes=1)
    [(full, full_scores)] = find_islands([image], (5.0, 5.0, 0.0), params={**PARAMS, "stop_at": None}, processes=1)
    np.testing.assert_array_equal(fast, full)
    np.testing.assert_allclose(fast_scores, full_scores)


def test_a_pybdsf_failure_names_the_image():
    images = [_noise((64, 64), seed=9).astype(np.float32), np.zeros((64, 64), dtype=np.float32)]
    with pytest.raises(RadiobenchError, match=r"image 1: pyBDSF failed") as info:
        find_islands(images, (BEAM, BEAM, 0.0), processes=1)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("beam", [(0.0, 5.0, 0.0), (5.0, math.nan, 0.0)])
def test_a_bad_beam_is_refused(beam):
    with pytest.raises(RadiobenchError, match="beam_pixels"):
        find_islands([np.zeros((32, 32), dtype=np.float32)], beam, processes=1)
