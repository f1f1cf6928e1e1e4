"""The bar measurement: published algorithm, orientation, variants, flags, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from galaxy_xai.bars import (
    BarParams,
    bar_trace,
    max_pixel_distance,
    measure_bar,
    measure_bars,
)
from galaxy_xai.bars.synthetic import synthetic_bar_map
from galaxy_xai.errors import ParameterError

ANGLES = list(range(0, 180, 15))


def test_max_pixel_distance_matches_brute_force():
    rng = np.random.default_rng(3)
    for n in (2, 5, 40, 400):
        rows, cols = rng.integers(0, 64, n), rng.integers(0, 64, n)
        pts = np.column_stack([cols, rows]).astype(float)
        brute = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)).max()
        assert max_pixel_distance(rows, cols) == pytest.approx(brute)
    # collinear pixels (Qhull fails on them) and a single pixel
    assert max_pixel_distance(np.zeros(30), np.arange(30)) == pytest.approx(29.0)
    assert max_pixel_distance(np.arange(20), np.arange(20)) == pytest.approx(19 * np.sqrt(2))
    assert max_pixel_distance(np.array([4]), np.array([4])) == 0.0


@pytest.mark.parametrize("length", [16.0, 30.0])
def test_invariant_criterion_measures_the_bar_at_every_angle(length):
    """The default (eigenvalue) criterion finds the same bar whatever its orientation."""
    found = []
    for angle in ANGLES:
        m = synthetic_bar_map(length, angle, bulge=0.25, noise=0.05, seed=angle)
        res = measure_bar(m)
        assert res.flag == "ok", angle
        assert abs(((res.angle_deg - angle) + 90) % 180 - 90) < 3.0, angle
        found.append(res.length_px)
    # pixel-centre distance of the half-maximum set: ~1-2 px short of the true length
    assert np.std(found) < 0.6
    assert np.mean(found) == pytest.approx(length, abs=2.5)


def test_published_pearson_rule_fails_along_the_image_axes():
    """|r(x, y)| ~ 0 for a bar along x or y: the published rule never stops on it."""
    length = 30.0
    lengths = {}
    for angle in ANGLES:
        m = synthetic_bar_map(length, angle, bulge=0.25, noise=0.05, seed=angle)
        res = measure_bar(m, criterion="pearson")
        lengths[angle] = res
    for angle in (0, 90):
        assert lengths[angle].flag == "too_few_pixels"
        assert lengths[angle].length_px < 0.5 * length  # it shrank to the brightest core
    for angle in (30, 45, 60, 120, 135, 150):  # fine away from the axes
        assert lengths[angle].flag == "ok"
        assert lengths[angle].length_px == pytest.approx(length, abs=2.5)
    # the invariant value equals the published |r| for the same bar turned to 45 deg
    m0 = synthetic_bar_map(length, 0, bulge=0.5)
    m45 = synthetic_bar_map(length, 45, bulge=0.5)
    tr0, tr45 = bar_trace(m0), bar_trace(m45)
    k = 10
    assert tr0.crit["pearson"][k] < 0.05
    assert tr0.crit["eigen"][k] == pytest.approx(tr45.crit["pearson"][k], abs=0.03)


def test_length_tracks_true_length_and_scale():
    truths = np.arange(12.0, 44.0, 4.0)
    meas = np.array([measure_bar(synthetic_bar_map(L, 37.0)).length_px for L in truths])
    assert np.corrcoef(meas, truths)[0, 1] > 0.995
    assert np.all(np.diff(meas) > 0)
    assert np.all(np.abs(meas - truths) < 2.5)
    m = synthetic_bar_map(30.0, 37.0)
    assert measure_bar(m, length_scale=1.5).length_px == pytest.approx(
        1.5 * measure_bar(m).length_px
    )


def test_central_variant_ignores_an_off_centre_blob():
    m = synthetic_bar_map(24.0, 30.0, blob=0.95, blob_offset_px=(20.0, -18.0))
    published = measure_bar(m, variant="published")
    central = measure_bar(m, variant="central")
    moments = measure_bar(m, variant="moments")
    assert central.length_px == pytest.approx(24.0, abs=1.5)
    assert abs(published.length_px - 24.0) > abs(central.length_px - 24.0)
    assert moments.flag == "ok" and 15 < moments.length_px < 30


def test_multiply_by_image_changes_the_map_used():
    m = synthetic_bar_map(30.0, 60.0)
    image = np.ones((1, 64, 64), np.float32)
    assert measure_bar(m, image, multiply=True).length_px == pytest.approx(measure_bar(m).length_px)
    # an image that is dark on one half cuts the bar in two
    image[:, :, :32] = 0.01
    assert measure_bar(m, image, multiply=True).length_px < 0.75 * measure_bar(m).length_px
    with pytest.raises(ParameterError, match="multiply=True needs the galaxy image"):
        measure_bar(m, multiply=True)
    with pytest.raises(ParameterError, match=r"image=\(32, 32\)"):
        measure_bar(m, np.ones((32, 32)), multiply=True)


def test_quality_flags_never_crash():
    flat = np.zeros((32, 32), np.float32)
    assert measure_bar(flat).flag == "no_bar_found"
    assert np.isnan(measure_bar(flat).length_px)
    bad = synthetic_bar_map(20.0, 10.0)
    bad[3, 4] = np.nan
    res = measure_bar(bad)
    assert res.flag == "nan_map" and np.isnan(res.length_px)
    # a round blob never becomes elongated: stops on too few pixels
    yy, xx = np.mgrid[:64, :64] - 31.5
    round_map = np.exp(-0.5 * (np.hypot(xx, yy) / 5) ** 2)
    res = measure_bar(round_map, min_pixels=30)
    assert res.flag == "too_few_pixels" and np.isfinite(res.length_px)
    assert res.n_pixels >= 30
    # a bar running off the image is flagged but measured
    res = measure_bar(synthetic_bar_map(90.0, 0.0))
    assert res.flag == "touches_edge" and res.length_px > 55
    # a single bright pixel: too few pixels even at t = 0.5
    spike = np.zeros((32, 32))
    spike[5, 5] = 1.0
    assert measure_bar(spike).flag == "no_bar_found"


def test_measure_bars_keeps_every_row_in_order():
    maps = np.stack(
        [synthetic_bar_map(20.0, 45.0), np.zeros((64, 64), np.float32), synthetic_bar_map(30, 0)]
    )
    maps[1, 0, 0] = np.nan
    table = measure_bars(maps, ids=["a", "b", "c"])
    assert table["id"].tolist() == ["a", "b", "c"]
    assert table["quality_flag"].tolist() == ["ok", "nan_map", "ok"]
    assert table["bar_length_px"].iloc[2] > table["bar_length_px"].iloc[0]
    with pytest.raises(ParameterError, match="ids=2: need one id per map"):
        measure_bars(maps, ids=["a", "b"])
    with pytest.raises(ParameterError, match=r"maps=\(64, 64\): must be \(N, H, W\)"):
        measure_bars(maps[0])


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("corr_threshold", 1.2, "corr_threshold=1.2: must lie strictly between 0 and 1"),
        ("corr_threshold", 0.0, "corr_threshold=0.0"),
        ("min_pixels", 2, r"min_pixels=2: must be an integer >= 3 \(paper: 10-50\)"),
        ("min_pixels", 10.5, "min_pixels=10.5: must be an integer"),
        ("criterion", "ratio", "criterion='ratio': must be one of"),
        ("variant", "fancy", "variant='fancy': must be one of"),
        ("smooth_sigma_px", -1.0, "smooth_sigma_px=-1.0"),
        ("t_step", 0.0, "t_step=0.0"),
        ("length_scale", 0.0, "length_scale=0.0"),
    ],
)
def test_bad_settings_are_named(field, value, match):
    with pytest.raises(ParameterError, match=match):
        dataclasses.replace(BarParams(), **{field: value})
