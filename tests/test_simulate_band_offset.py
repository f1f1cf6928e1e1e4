"""Colour bands moved off each other (``jpeg.band_offset_arcsec``) and black points per band
(``jpeg.band_sky_offset_scales``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import center_of_mass

from galaxy_xai.errors import ConfigError, ParameterError
from galaxy_xai.simulate import draw_parameters, load_simulation_config, render_galaxy
from galaxy_xai.simulate.render import offset_bands

FAST = {"bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}, "size": 48}


def _config(**jpeg):
    return load_simulation_config({**FAST, "rendering": "jpeg-rgb", "jpeg": jpeg})


def _blob(size: int = 48, sigma_px: float = 2.5) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    one = np.exp(-(xx**2 + yy**2) / (2 * sigma_px**2))
    return np.stack([one, 2 * one, 3 * one])


def test_blue_and_red_move_by_the_drawn_offsets_and_keep_their_light() -> None:
    config = _config(band_offset_arcsec=0.3)
    bands = _blob()
    centre = np.array(center_of_mass(bands[1]))
    moves = []
    for index in range(40):
        p = draw_parameters(config, 5, index)
        out = offset_bands(bands, p, 0.3)
        assert np.array_equal(out[1], bands[1])  # green is the reference
        assert np.array_equal(offset_bands(bands, p, 0.3), out)  # its own stream: reproducible
        for band in (0, 2):
            assert out[band].sum() == pytest.approx(bands[band].sum(), rel=1e-3)
            moves.append((np.array(center_of_mass(out[band])) - centre) * p.pixel_scale_arcsec)
    moves_arcsec = np.asarray(moves)
    # 80 independent 2-D Gaussian offsets of 0.3 arcsec rms per axis (chi-square bounds)
    rms = float(np.sqrt(np.mean(moves_arcsec**2)))
    assert 0.3 * 0.8 < rms < 0.3 * 1.2
    assert abs(float(moves_arcsec.mean())) < 0.1


def test_offsets_change_the_colour_image_but_not_the_draws() -> None:
    aligned, moved = _config(), _config(band_offset_arcsec=0.2)
    for index in range(3):
        p = draw_parameters(aligned, 9, index)
        assert p == draw_parameters(moved, 9, index)  # parameters drawn as before
        a, _ = render_galaxy(p, aligned)
        b, snr_b = render_galaxy(p, moved)
        assert a.shape == b.shape == (3, 48, 48) and b.dtype == np.uint8
        assert not np.array_equal(a, b)
        assert snr_b == pytest.approx(render_galaxy(p, aligned)[1])  # S/N of the galaxy itself
        # the light stays put on the whole: the grey level barely changes
        assert abs(a.astype(float).mean() - b.astype(float).mean()) < 1.0


@pytest.mark.parametrize("value", [-0.1, 2.5, float("nan"), float("inf")])
def test_a_bad_band_offset_is_named(value) -> None:
    with pytest.raises(ParameterError, match="jpeg.band_offset_arcsec"):
        _config(band_offset_arcsec=value)


def test_each_band_gets_its_own_black_point() -> None:
    from galaxy_xai.simulate.render import to_jpeg

    rng = np.random.default_rng(0)
    bands = 5.0 * rng.standard_normal((3, 32, 32))  # sky only, sky subtracted
    kwargs = {"stretch": 100.0, "q": 8.0, "quality": None}
    same = to_jpeg(bands, **kwargs, minimum=-10.0)
    assert np.array_equal(to_jpeg(bands, **kwargs, minimum=np.full(3, -10.0)), same)
    # a blue black point nearer the sky (bands are blue, green, red; out R, G, B)
    darker_blue = to_jpeg(bands, **kwargs, minimum=np.array([-5.0, -10.0, -10.0]))
    assert darker_blue[2].mean() < same[2].mean() - 1.0
    assert abs(darker_blue[0].astype(float).mean() - same[0].astype(float).mean()) < 1.0
    image, _ = render_galaxy(
        draw_parameters(_config(), 4, 0), _config(sky_offset_sigma=2.0, quality=None)
    )
    blue_black, _ = render_galaxy(
        draw_parameters(_config(), 4, 0),
        _config(sky_offset_sigma=2.0, quality=None, band_sky_offset_scales=[0.5, 1.0, 1.0]),
    )
    border = np.ones((48, 48), bool)
    border[8:-8, 8:-8] = False
    assert blue_black[2][border].mean() < image[2][border].mean() - 0.5
    # the red channel's black point is unchanged: its border level barely moves
    assert abs(blue_black[0][border].mean() - image[0][border].astype(float).mean()) < 1.0


@pytest.mark.parametrize("value", [[1.0, 1.0], [1.0, -0.1, 1.0], [1.0, 6.0, 1.0]])
def test_bad_band_black_points_are_named(value) -> None:
    with pytest.raises((ParameterError, ConfigError), match="jpeg.band_sky_offset_scales"):
        _config(band_sky_offset_scales=value)
