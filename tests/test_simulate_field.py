"""Survey-image realism: a field of faint sources, correlated noise, per-band noise."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from galaxy_xai.errors import ParameterError
from galaxy_xai.simulate import draw_parameters, load_simulation_config, render_galaxy
from galaxy_xai.simulate.realism import image_statistics, offcentre_source_counts
from galaxy_xai.simulate.render import correlate_noise
from galaxy_xai.simulate.truth import _field_magnitudes

FAST = {"bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}, "size": 48}


def _config(**extra):
    return load_simulation_config({**FAST, **extra})


def test_field_source_numbers_follow_density_and_stamp_area() -> None:
    plain = _config()
    dense = _config(contaminants={"field_sources_per_arcmin2": 400.0, "field_star_fraction": 0.5})
    n_sources, expected = [], []
    for i in range(40):
        p0, p = draw_parameters(plain, 5, i), draw_parameters(dense, 5, i)
        assert p0.contaminants == ()
        # the field has its own stream: every other parameter is the same
        assert dataclasses.replace(p, contaminants=(), n_foreground_stars=0, n_neighbours=0) == (
            dataclasses.replace(p0, n_foreground_stars=0, n_neighbours=0)
        )
        half = p.size_px / 2 * p.pixel_scale_arcsec
        for c in p.contaminants:
            assert abs(c.dx_arcsec) <= half and abs(c.dy_arcsec) <= half
        n_sources.append(len(p.contaminants))
        expected.append(400.0 * (2 * half / 60) ** 2)
        assert p.n_foreground_stars + p.n_neighbours == len(p.contaminants)
    # Poisson: the total is within 4 sigma of the expected total
    assert abs(sum(n_sources) - sum(expected)) < 4 * np.sqrt(sum(expected))
    stars = sum(draw_parameters(dense, 5, i).n_foreground_stars for i in range(40))
    assert 0.35 < stars / sum(n_sources) < 0.65


def test_field_magnitudes_follow_the_number_count_slope() -> None:
    u = np.random.default_rng(0).random(200_000)
    mags = _field_magnitudes(u, 17.0, 22.0, 0.4)
    assert mags.min() >= 17.0 and mags.max() <= 22.0
    counts, _ = np.histogram(mags, bins=[17, 18, 19, 20, 21, 22])
    slopes = np.diff(np.log10(counts))  # d log10 N per magnitude
    np.testing.assert_allclose(slopes, 0.4, atol=0.03)
    flat = _field_magnitudes(u, 17.0, 22.0, 0.0)
    assert abs(np.median(flat) - 19.5) < 0.05


def test_field_sources_show_in_the_image_and_are_counted() -> None:
    # ~7 sources of 17-19 mag per 25-arcsec stamp: separate, and bright enough to see
    cfg = _config(size=64, contaminants={"field_sources_per_arcmin2": 40.0,
                                         "field_magnitude": [17.0, 19.0]})  # fmt: skip
    plain = _config(size=64)
    images = [render_galaxy(draw_parameters(c, 9, i), c)[0] for c in (cfg, plain) for i in range(6)]
    stack = np.stack(images).astype(np.float32) / 255.0
    counts = offcentre_source_counts(stack)
    assert counts[:6].mean() > counts[6:].mean() + 1


def test_offcentre_source_counts_on_known_images() -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:64, :64]
    images = []
    for k in range(4):
        img = 0.05 + 0.01 * rng.standard_normal((64, 64))
        img += 0.8 * np.exp(-np.hypot(yy - 31.5, xx - 31.5) / 3)
        for j in range(k):  # k compact sources in the outskirts
            img += 0.3 * np.exp(-(np.hypot(yy - 10 - 14 * j, xx - 52) ** 2) / 4)
        images.append(np.clip(img, 0, 1)[None])
    stack = np.stack(images).astype(np.float32)
    assert offcentre_source_counts(stack).tolist() == [0, 1, 2, 3]
    assert image_statistics(stack)["offcentre_sources"].tolist() == [0, 1, 2, 3]
    with pytest.raises(ParameterError, match="images"):
        offcentre_source_counts(stack[0])


def test_correlated_noise_keeps_its_level_and_widens_its_grain() -> None:
    white = np.random.default_rng(2).standard_normal((256, 256))
    lags = []
    for sigma in (0.5, 0.7, 1.5):
        grainy = correlate_noise(white, sigma)
        assert grainy.std() == pytest.approx(1.0, rel=0.05)
        lags.append(np.corrcoef(grainy[:, :-1].ravel(), grainy[:, 1:].ravel())[0, 1])
        if sigma >= 0.7:  # the continuous-Gaussian figure holds once the kernel is resolved
            assert lags[-1] == pytest.approx(np.exp(-1 / (4 * sigma**2)), abs=0.08)
    assert 0.1 < lags[0] < lags[1] < lags[2]
    cfg = _config(size=64, noise_correlation_px=1.0, rendering="counts")
    p = draw_parameters(cfg, 4, 0)
    grainy, _ = render_galaxy(p, cfg)
    white_img, _ = render_galaxy(p, cfg.replace(noise_correlation_px=0.0))
    border = np.s_[0, :4, :]
    assert grainy[border].std() == pytest.approx(white_img[border].std(), rel=0.3)
    stats = image_statistics(np.stack([grainy, white_img]) / max(grainy.max(), 1.0))
    assert stats["noise_grain"][0] > stats["noise_grain"][1] + 0.3


def test_band_noise_scales_raise_the_noise_of_each_colour_band() -> None:
    base = _config(size=48, rendering="jpeg-rgb", jpeg={"quality": None})
    loud = _config(size=48, rendering="jpeg-rgb",
                   jpeg={"quality": None, "band_noise_scales": [1.0, 1.0, 3.0]})  # fmt: skip
    p = draw_parameters(base, 6, 0)
    quiet, _ = render_galaxy(p, base)
    noisy, _ = render_galaxy(p, loud)
    red_quiet, red_loud = quiet[0, :6].astype(float), noisy[0, :6].astype(float)
    assert red_loud.std() > 1.5 * red_quiet.std()
    np.testing.assert_array_equal(noisy[2, 20:28, 20:28] > 0, quiet[2, 20:28, 20:28] > 0)


@pytest.mark.parametrize(
    ("mapping", "name"),
    [
        ({"contaminants": {"field_sources_per_arcmin2": -1.0}}, "field_sources_per_arcmin2"),
        ({"contaminants": {"field_sources_per_arcmin2": 5000.0}}, "field_sources_per_arcmin2"),
        ({"contaminants": {"field_star_fraction": 1.5}}, "field_star_fraction"),
        ({"contaminants": {"field_magnitude": [22.0, 18.0]}}, "field_magnitude"),
        ({"contaminants": {"field_count_slope": -0.1}}, "field_count_slope"),
        (
            {"contaminants": {"field_galaxy_half_light_radius_arcsec": [0.0, 1.0]}},
            "field_galaxy_half_light_radius_arcsec",
        ),
        ({"noise_correlation_px": 6.0}, "noise_correlation_px"),
        ({"noise_correlation_px": -0.5}, "noise_correlation_px"),
        ({"jpeg": {"band_noise_scales": [1.0, -1.0, 1.0]}}, "band_noise_scales"),
        ({"jpeg": {"band_noise_correlation": 1.5}}, "band_noise_correlation"),
        ({"bulge": {"colour_scatter_mag": -0.1}}, "bulge.colour_scatter_mag"),
        ({"disk": {"colour_scatter_mag": 2.0}}, "disk.colour_scatter_mag"),
    ],
)
def test_bad_realism_fields_are_named(mapping: dict, name: str) -> None:
    with pytest.raises(ParameterError, match=name):
        load_simulation_config(mapping)


def test_colour_scatter_draws_one_offset_per_galaxy_and_keeps_the_rest() -> None:
    plain = _config(rendering="jpeg-rgb")
    scattered = _config(rendering="jpeg-rgb", bulge={"sersic_n": 4.0, "colour_scatter_mag": 0.3},
                        disk={"colour_scatter_mag": 0.2})  # fmt: skip
    offsets = []
    for i in range(200):
        p0, p = draw_parameters(plain, 8, i), draw_parameters(scattered, 8, i)
        assert p0.bulge_colour_offset_mag == 0.0 and p0.disk_colour_offset_mag == 0.0
        assert dataclasses.replace(p, bulge_colour_offset_mag=0.0, disk_colour_offset_mag=0.0) == p0
        offsets.append((p.bulge_colour_offset_mag, p.disk_colour_offset_mag))
    sd = np.std(offsets, axis=0)
    np.testing.assert_allclose(sd, [0.3, 0.2], rtol=0.15)
    # a redder bulge is darker in blue relative to green in the rendered image
    p = draw_parameters(_config(rendering="jpeg-rgb", noise=False, bulge={"sersic_n": 4.0,
                        "bulge_to_total": 1.0}, bar_fraction=0.0), 8, 0)  # fmt: skip
    cfg = _config(rendering="jpeg-rgb", noise=False, bar_fraction=0.0,
                  bulge={"sersic_n": 4.0, "bulge_to_total": 1.0})  # fmt: skip
    red, _ = render_galaxy(dataclasses.replace(p, bulge_colour_offset_mag=0.5), cfg)
    blue, _ = render_galaxy(dataclasses.replace(p, bulge_colour_offset_mag=-0.5), cfg)
    centre = np.s_[20:28, 20:28]
    ratio = lambda im: im[2][centre].astype(float).sum() / im[1][centre].astype(float).sum()  # noqa: E731
    assert ratio(red) < 0.8 * ratio(blue)


def test_field_sources_carry_their_own_colours_in_jpeg_rgb() -> None:
    cfg = _config(size=64, rendering="jpeg-rgb", noise=False,
                  contaminants={"field_sources_per_arcmin2": 40.0, "field_star_fraction": 1.0,
                                "field_magnitude": [16.0, 17.0]})  # fmt: skip
    p = draw_parameters(cfg, 3, 2)
    assert p.n_foreground_stars > 1
    g_r = [c.colour[0] for c in p.contaminants]
    assert min(g_r) >= 0.2 and max(g_r) <= 1.4 and np.ptp(g_r) > 0.1
    from galaxy_xai.simulate.components import contaminant_profiles
    from galaxy_xai.simulate.render import band_factors

    blue = contaminant_profiles(p, band=0).flux
    expected = sum(c.flux * band_factors(c.colour)[0] for c in p.contaminants)
    assert blue == pytest.approx(expected)
    assert contaminant_profiles(p).flux == pytest.approx(sum(c.flux for c in p.contaminants))


def test_band_noise_correlation_makes_the_noise_grey() -> None:
    def chroma(correlation: float) -> float:
        cfg = _config(size=64, rendering="jpeg-rgb", bar_fraction=0.0,
                      jpeg={"quality": None, "band_noise_correlation": correlation})  # fmt: skip
        image, _ = render_galaxy(draw_parameters(cfg, 2, 0), cfg)
        border = image[:, :6, :].astype(float)
        return float(np.std(border[0] - border[1]) / np.std(border.mean(0)))

    assert chroma(0.9) < 0.6 * chroma(0.0)
