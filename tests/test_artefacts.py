"""Artefact flagging: the reach follows the simulator's ripples, and crops within it are dropped."""

import math

import numpy as np
import pytest

from radiobench.astro import artefacts
from radiobench.astro.simulate import _add_artefact

BEAM = 5.0  # pixels (7.5" beam at 1.5" pixels, as sim_counts)


def test_the_reach_is_where_the_simulated_ripples_fall_below_five_sigma():
    level, peak, rms = 0.01, 0.05, 5e-6  # ripples of 500 uJy/beam, 100 local sigma, around a 50 mJy source
    image = np.zeros((801, 801))
    _add_artefact(image, np.random.default_rng(0), 400.0, 400.0, level * peak, BEAM)
    (x, y, radius), = artefacts.reaches([400.0], [400.0], [peak], [rms], level, 1e-3, BEAM)
    assert (x, y) == (400.0, 400.0) and radius == pytest.approx(10 * BEAM * math.log(level * peak / (5 * rms)))
    r = np.hypot(*np.mgrid[0:801, 0:801] - 400.0)
    assert np.abs(image[r > radius]).max() < 5 * rms  # nothing outside the reach reaches 5 sigma
    # and the reach is not loose: within two beams inside it, ripples still pass 4 sigma
    assert np.abs(image[(r > radius - 2 * BEAM) & (r <= radius)]).max() > 4 * rms


def test_faint_sources_and_sources_below_the_threshold_draw_no_reach_and_the_reach_stops_at_forty_beams():
    reach = artefacts.reaches(
        x=[10.0, 20.0, 30.0, 40.0], y=[0.0, 0.0, 0.0, 0.0],
        peak=[5e-4, 2e-3, 2e-3, 10.0],  # below the 1 mJy threshold; ripples of 1 sigma; 20 sigma; enormous
        local_rms=[1e-6, 2e-5, 1e-6, 1e-6], level=0.01, above=1e-3, beam_pixels=BEAM,
    )
    assert reach[:, 0].tolist() == [30.0, 40.0]
    assert reach[0, 2] == pytest.approx(10 * BEAM * math.log(4.0)) and reach[1, 2] == 40 * BEAM


def test_crops_within_the_reach_are_flagged_by_their_nearest_edge_not_their_centre():
    # a 3x3 grid of 100-pixel crops; one source at the centre of the middle crop with a 60-pixel reach
    corners = [(r, c) for r in (0, 100, 200) for c in (0, 100, 200)]
    reach = np.array([[150.0, 150.0, 60.0]])
    keep = artefacts.clear(corners, 100, reach)
    # side neighbours' nearest edges are 50.5 pixels away (< 60): flagged; diagonal ones' corners are
    # 71.4 pixels away: kept, though their centres (141 pixels) are no farther than the sides' from the reach
    assert keep.reshape(3, 3).tolist() == [[True, False, True], [False, False, False], [True, False, True]]
    assert artefacts.clear(corners, 100, np.empty((0, 3))).all()
    assert artefacts.clear(corners, 100, np.array([[150.0, 150.0, 40.0]])).sum() == 8  # only the crop it sits in
