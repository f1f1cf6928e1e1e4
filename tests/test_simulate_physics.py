"""Simulated galaxies: flux, B/T, bar extent and angle, arms, framing, noise, rendering."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from galaxy_xai.data.curation import gamornet_labels
from galaxy_xai.simulate import (
    draw_components,
    draw_parameters,
    load_simulation_config,
    render_galaxy,
    simulate_galaxies,
)
from galaxy_xai.simulate.components import arm_modulation, disk_plane_coordinates

# Fixed Sersic indices keep GalSim's per-index tables to a handful (fast tests).
FAST = {"bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}}


def _config(**extra):
    mapping = {**FAST, **extra}
    for key in ("bulge", "bar"):
        mapping[key] = {**FAST[key], **extra.get(key, {})}
    return load_simulation_config(mapping)


def test_noiseless_flux_and_component_fluxes_match_the_truth() -> None:
    cfg = _config(
        size=128,
        noise=False,
        rendering="counts",
        bar_fraction=1.0,
        survey={"disk_half_light_radius_arcsec": 1.5},
        arms={"probability": 1.0},
        knots={"probability": 1.0},
    )
    for index in range(4):
        p = draw_parameters(cfg, 7, index)
        parts = draw_components(p, cfg)
        total = sum(parts.values())
        # the stamp holds > 99% of a 1.5-arcsec disk: flux within 1%
        assert total.sum() == pytest.approx(p.flux_total, rel=0.01)
        assert parts["bulge"].sum() / p.flux_total == pytest.approx(p.bulge_to_total, abs=0.01)
        assert parts["bar"].sum() / p.flux_total == pytest.approx(p.bar_to_total, abs=0.005)
        assert abs(parts["arms"].sum()) < 1e-3 * p.flux_total  # arms only move disk light
        disk_flux = (1 - p.bulge_to_total - p.bar_to_total) * p.flux_total
        assert parts["knots"].sum() == pytest.approx(p.knot_fraction * disk_flux, rel=0.01)
        image, _ = render_galaxy(p, cfg)
        assert image.dtype == np.float32 and image.shape == (1, 128, 128)
        np.testing.assert_allclose(image[0], total, rtol=1e-5, atol=1e-6 * p.flux_total)


def _bar_extent(bar: np.ndarray, angle_deg: float) -> tuple[float, float, float]:
    """End-to-end extent along/perpendicular to angle, and the moment angle (deg)."""
    ys, xs = np.nonzero(bar > 0)
    h, w = bar.shape
    x, y = xs - (w - 1) / 2, ys - (h - 1) / 2
    t = math.radians(angle_deg)
    along = x * math.cos(t) + y * math.sin(t)
    across = -x * math.sin(t) + y * math.cos(t)
    wts = bar[ys, xs]
    cxx, cyy, cxy = (np.average(v, weights=wts) for v in (x * x, y * y, x * y))
    moment_angle = 0.5 * math.degrees(math.atan2(2 * cxy, cxx - cyy)) % 180
    return float(along.max() - along.min()), float(across.max() - across.min()), moment_angle


def _fine_bar(p, cfg, factor: int = 4) -> tuple[np.ndarray, float]:
    """Bar-only image sampled ``factor`` times finer, and the bar length in fine pixels."""
    fine = dataclasses.replace(
        p,
        pixel_scale_arcsec=p.pixel_scale_arcsec / factor,
        size_px=p.size_px * factor,
        bar_length_px=p.bar_length_px * factor,
    )
    return draw_components(fine, cfg, psf=False)["bar"], fine.bar_length_px


def test_bar_end_to_end_extent_matches_bar_length_px_at_every_angle() -> None:
    cfg = _config(
        size=64,
        bar_fraction=1.0,
        survey={"disk_half_light_radius_arcsec": 4.0},
        bar={"length_to_disk_scale": 1.4, "axis_ratio": 0.25},
        disk={"cos_inclination": 1.0},
    )
    base = draw_parameters(cfg, 3, 0)
    assert base.barred == 1
    assert base.bar_length_px == pytest.approx(2 * 1.4 * 4.0 / 1.678347 / 0.396, rel=1e-4)
    for angle in np.arange(0.0, 180.0, 15.0):
        p = dataclasses.replace(base, bar_position_angle_deg=float(angle))
        # native pixels: no pixel centre lies beyond the bar ends
        along, _, moment_angle = _bar_extent(draw_components(p, cfg, psf=False)["bar"], angle)
        assert p.bar_length_px - 3.0 <= along <= p.bar_length_px, angle
        assert min(abs(moment_angle - angle), 180 - abs(moment_angle - angle)) < 1.5
        # 4x finer sampling: the extent matches to a fraction of a native pixel
        bar, length = _fine_bar(p, cfg)
        along, across, _ = _bar_extent(bar, angle)
        assert along <= length and (length - along) / 4 < 0.6, angle
        assert across / 4 == pytest.approx(p.bar_length_px * p.bar_axis_ratio, abs=0.6)


def test_catalogued_bar_angle_and_length_describe_the_final_image() -> None:
    """After random rotations, flips and inclination, the drawn bar matches its row."""
    cfg = _config(
        size=64,
        bar_fraction=1.0,
        survey={"disk_half_light_radius_arcsec": 4.0},
        bar={"length_to_disk_scale": 1.3},
        disk={"cos_inclination": [0.5, 1.0]},
    )
    for index in range(6):
        p = draw_parameters(cfg, 11, index)
        bar, length = _fine_bar(p, cfg)
        along, _, moment_angle = _bar_extent(bar, p.bar_position_angle_deg)
        assert along <= length and (length - along) / 4 < 0.6
        diff = abs(moment_angle - p.bar_position_angle_deg)
        assert min(diff, 180 - diff) < 2.0
        # with the PSF, the bar light still lies along the catalogued angle
        blurred = draw_components(p, cfg)["bar"]
        *_, blurred_angle = _bar_extent(
            np.where(blurred > 1e-3 * blurred.max(), blurred, 0), p.bar_position_angle_deg
        )
        diff = abs(blurred_angle - p.bar_position_angle_deg)
        assert min(diff, 180 - diff) < 4.0


def test_a_flip_mirrors_the_image_and_the_angles() -> None:
    plain = _config(
        size=64,
        noise=False,
        rendering="counts",
        rotate=False,
        flip=False,
        bar_fraction=1.0,
        arms={"probability": 1.0},
        knots={"probability": 0.0},
        survey={"disk_half_light_radius_arcsec": 3.0},
    )
    flipping = dataclasses.replace(plain, flip=True)
    index = next(i for i in range(20) if draw_parameters(flipping, 5, i).flipped)
    p0, p1 = draw_parameters(plain, 5, index), draw_parameters(flipping, 5, index)
    assert p0.n_arms > 0 and p1.arm_chirality == -p0.arm_chirality
    assert p1.bar_position_angle_deg == pytest.approx((180 - p0.bar_position_angle_deg) % 180)
    img0, _ = render_galaxy(p0, plain)
    img1, _ = render_galaxy(p1, flipping)
    np.testing.assert_allclose(img1[0], img0[0][:, ::-1], atol=1e-4 * img0.max())


def test_arm_pattern_keeps_the_disk_light_on_every_circle() -> None:
    cfg = _config(
        size=128,
        arms={"probability": 1.0, "strength": 0.8},
        survey={"disk_half_light_radius_arcsec": 4.0},
        disk={"cos_inclination": 1.0},
    )
    p = draw_parameters(cfg, 1, 2)
    m = arm_modulation(p, sharpness=cfg.arms.sharpness)
    assert m.min() >= 0.0
    r, _ = disk_plane_coordinates(p)
    ring = (r > 2.0) & (r < 2.2)
    assert m[ring].mean() == pytest.approx(1.0, abs=0.05)
    assert m[ring].std() > 0.3  # there are arms
    assert np.all(np.abs(m[r < 0.05] - 1) < 0.01)  # faded at the centre
    no_arms = dataclasses.replace(p, arm_strength=0.0)
    assert np.allclose(arm_modulation(no_arms, sharpness=2.0), 1.0)


def _arm_light_at_bar_ends(start_at_bar: bool, index: int) -> tuple[float, float]:
    """Arm modulation at the pixels nearest the bar's ends, and its maximum at that radius."""
    cfg = _config(
        size=160,
        bar_fraction=1.0,
        arms={"probability": 1.0, "strength": 0.8, "n_arms": [2], "n_arms_weights": [1.0],
              "pitch_angle_deg": [20.0, 30.0], "start_at_bar": start_at_bar},
        survey={"disk_half_light_radius_arcsec": 10.0},  # h ~ 15 px: ends well sampled
        disk={"cos_inclination": 1.0},
    )  # fmt: skip
    p = draw_parameters(cfg, 3, index)
    assert p.barred and p.n_arms == 2
    m = arm_modulation(p, sharpness=cfg.arms.sharpness)
    r, phi = disk_plane_coordinates(p)
    ends = []
    for side in (0.0, np.pi):
        angle = math.radians(p.bar_angle_to_disk_deg) + side
        u = p.bar_length_to_disk_scale * np.array([math.cos(angle), math.sin(angle)])
        distance = np.hypot(r * np.cos(phi) - u[0], r * np.sin(phi) - u[1])
        ends.append(m.flat[int(np.argmin(distance))])
    ring = np.abs(r - p.bar_length_to_disk_scale) < 0.1
    return float(np.mean(ends)), float(m[ring].max())


def test_arms_start_at_the_ends_of_the_bar() -> None:
    phased = [_arm_light_at_bar_ends(True, i) for i in range(8)]
    for at_ends, highest in phased:  # an arm crest at each end of the bar
        assert at_ends > 1 + 0.7 * (highest - 1)
    random_phase = [_arm_light_at_bar_ends(False, i)[0] for i in range(8)]
    assert np.mean([a for a, _ in phased]) > np.mean(random_phase) + 0.3


def test_labels_follow_gamornet_thresholds_and_truth_columns_exist() -> None:
    images, cat = simulate_galaxies(12, size=64, seed=4, config=_config())
    assert images.shape == (12, 1, 64, 64)
    np.testing.assert_array_equal(cat["morph_label"], gamornet_labels(cat["bulge_to_total"]))
    np.testing.assert_array_equal(cat["label"], cat["morph_label"])
    assert set(cat["barred"]) <= {0, 1}
    unbarred = cat[cat["barred"] == 0]
    assert (unbarred["bar_length_px"] == 0).all() and (unbarred["bar_to_total"] == 0).all()
    barred = cat[cat["barred"] == 1]
    np.testing.assert_allclose(
        barred["bar_length_px"], barred["bar_length_arcsec"] / barred["pixel_scale_arcsec"]
    )
    for column in (
        "id",
        "index",
        "seed",
        "preset",
        "pixel_scale_arcsec",
        "psf_fwhm_arcsec",
        "flux_total",
        "magnitude",
        "bulge_sersic_n",
        "bulge_half_light_radius_arcsec",
        "disk_half_light_radius_arcsec",
        "disk_axis_ratio",
        "inclination_deg",
        "disk_position_angle_deg",
        "bar_axis_ratio",
        "bar_position_angle_deg",
        "n_arms",
        "pitch_angle_deg",
        "arm_strength",
        "knot_fraction",
        "snr",
    ):
        assert column in cat.columns, column
    assert cat["id"].tolist() == [f"sim-4-{i}" for i in range(12)]
    np.testing.assert_allclose(
        cat["flux_total"], 10 ** (-0.4 * (cat["magnitude"] - 28.43)), rtol=1e-10
    )
    # JPEG-like values are 8-bit levels in [0, 1]
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_allclose(images * 255, np.rint(images * 255), atol=1e-4)


def test_galaxies_depend_only_on_seed_and_index() -> None:
    cfg = _config(size=48)
    a, cat_a = simulate_galaxies(6, seed=9, config=cfg)
    b, cat_b = simulate_galaxies(3, seed=9, config=cfg, start=3)
    np.testing.assert_array_equal(a[3:], b)
    assert cat_a.iloc[3:].reset_index(drop=True).equals(cat_b)
    c, cat_c = simulate_galaxies(3, seed=10, config=cfg, start=3)
    assert not np.array_equal(b, c)
    assert not np.allclose(cat_b["bulge_to_total"], cat_c["bulge_to_total"])
    # switching bars off changes nothing else about the galaxy
    p_bar = draw_parameters(cfg, 9, 0)
    p_nobar = draw_parameters(dataclasses.replace(cfg, bar_fraction=0.0), 9, 0)
    assert p_nobar.bulge_to_total == p_bar.bulge_to_total
    assert p_nobar.disk_position_angle_deg == p_bar.disk_position_angle_deg


def test_relative_framing_scales_the_stamp_to_r90() -> None:
    cfg = _config(size=64, framing="relative", bar_fraction=0.0)
    for index in range(3):
        p = draw_parameters(cfg, 2, index)
        assert p.pixel_scale_arcsec == pytest.approx(10.18 * p.r90_arcsec / 64)
    barred = _config(size=64, framing="relative", bar_fraction=1.0)
    p = draw_parameters(barred, 2, 0)
    assert p.bar_length_px < 64 / 1.2  # bars always fit with room to spare


def test_noise_has_the_survey_sky_sigma_and_renderings_have_their_shapes() -> None:
    cfg = _config(
        size=96,
        rendering="counts",
        survey={"magnitude": 17.7, "disk_half_light_radius_arcsec": 1.2},
    )
    p = draw_parameters(cfg, 0, 0)
    image, snr = render_galaxy(p, cfg)
    corner = np.concatenate([image[0, :20, :20].ravel(), image[0, -20:, -20:].ravel()])
    assert corner.std() == pytest.approx(p.sky_sigma_counts, rel=0.1)
    assert abs(corner.mean()) < 0.2 * p.sky_sigma_counts  # sky subtracted
    assert snr > 10
    rgb, _ = render_galaxy(p, dataclasses.replace(cfg, rendering="jpeg-rgb"))
    assert rgb.shape == (3, 96, 96) and rgb.dtype == np.uint8
    gray, _ = render_galaxy(p, dataclasses.replace(cfg, rendering="jpeg-gray"))
    assert gray.shape == (1, 96, 96) and gray.dtype == np.uint8
    # the asinh image is brightest at the galaxy centre
    assert gray[0, 44:52, 44:52].mean() > gray[0, :20, :20].mean() + 30


def test_jpeg_rendering_is_the_lupton_asinh_image_with_bands_as_rgb() -> None:
    from astropy.visualization import make_lupton_rgb

    from galaxy_xai.simulate.render import to_jpeg

    rng = np.random.default_rng(0)
    bands = rng.normal(20.0, 30.0, (3, 40, 40)) * np.linspace(0.1, 40, 40)[None, None, :]
    exact = to_jpeg(bands, stretch=50.0, q=8.0, quality=None)  # blue, green, red in
    theirs = make_lupton_rgb(bands[2], bands[1], bands[0], minimum=0.0, stretch=50.0, Q=8.0)
    np.testing.assert_array_equal(np.moveaxis(exact, 0, -1), theirs)  # R, G, B out
    gray = to_jpeg(bands[:1], stretch=50.0, q=8.0, quality=None)
    assert gray.shape == (1, 40, 40)
    np.testing.assert_array_equal(
        gray[0], make_lupton_rgb(bands[0], bands[0], bands[0], stretch=50.0, Q=8.0)[..., 0]
    )
    # on a smooth galaxy-like image the JPEG round trip changes pixels only slightly
    yy, xx = np.mgrid[:40, :40] - 19.5
    blob = 500 * np.exp(-np.hypot(xx, yy) / 5)
    smooth = np.stack([0.6 * blob, blob, 1.3 * blob])
    exact = to_jpeg(smooth, stretch=50.0, q=8.0, quality=None)
    lossy = to_jpeg(smooth, stretch=50.0, q=8.0, quality=90)
    assert lossy.shape == exact.shape and np.abs(lossy.astype(int) - exact).mean() < 2


def test_contaminants_are_flagged_and_kept_out_of_the_galaxy_truth() -> None:
    cfg = _config(
        size=64,
        noise=False,
        rendering="counts",
        contaminants={"star_probability": 1.0, "neighbour_probability": 1.0},
        survey={"disk_half_light_radius_arcsec": 1.5},
    )
    p = draw_parameters(cfg, 3, 1)
    assert p.n_foreground_stars == 1 and p.n_neighbours == 1
    for c in p.contaminants:  # outside min_distance of the half-width
        assert math.hypot(c.dx_arcsec, c.dy_arcsec) >= 0.6 * 32 * p.pixel_scale_arcsec - 1e-9
    parts = draw_components(p, cfg)
    clean = dataclasses.replace(p, contaminants=())
    image, snr = render_galaxy(p, cfg)
    image_clean, snr_clean = render_galaxy(clean, cfg)
    assert snr == pytest.approx(snr_clean)  # S/N is the galaxy's own
    np.testing.assert_allclose(image[0] - image_clean[0], parts["contaminants"], atol=1e-3)
    assert parts["contaminants"].sum() > 0
    _, cat = simulate_galaxies(2, seed=3, config=_config(size=48))
    assert (cat["n_foreground_stars"] == 0).all() and (cat["n_neighbours"] == 0).all()
