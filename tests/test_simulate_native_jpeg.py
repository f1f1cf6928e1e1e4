"""Colour JPEG compression at the survey's own pixel scale (``jpeg.native_pixel_scale_arcsec``)."""

from __future__ import annotations

import numpy as np
import pytest

from galaxy_xai.errors import ParameterError
from galaxy_xai.simulate import draw_parameters, load_simulation_config, render_galaxy
from galaxy_xai.simulate.render import native_size_px, to_jpeg

FAST = {"bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}, "size": 48}


def _config(rendering: str = "jpeg-rgb", **jpeg):
    return load_simulation_config({**FAST, "rendering": rendering, "jpeg": jpeg})


def test_the_native_size_follows_the_pixel_scale() -> None:
    plain, native = _config(), _config(native_pixel_scale_arcsec=0.396)
    p = draw_parameters(native, 3, 0)
    assert native_size_px(p, plain) is None
    assert native_size_px(p, native) == round(48 * p.pixel_scale_arcsec / 0.396)
    tiny = _config(native_pixel_scale_arcsec=1e-3)
    assert native_size_px(p, tiny) == 8 * 48  # bounded: never a huge image
    assert native_size_px(p, _config(native_pixel_scale_arcsec=10.0)) == 8


def _chroma_lag3(image: np.ndarray) -> float:
    chroma = image[0].astype(float) - image[1].astype(float)  # R - G
    chroma -= chroma.mean()
    return float((chroma[:, 3:] * chroma[:, :-3]).mean() / (chroma**2).mean())


def test_compressing_at_fewer_pixels_coarsens_the_chroma_noise() -> None:
    rng = np.random.default_rng(0)
    bands = 50.0 + 10.0 * rng.standard_normal((3, 64, 64))  # independent band noise
    kwargs = {"stretch": 200.0, "q": 8.0, "quality": 75}
    own = to_jpeg(bands, **kwargs)
    assert np.array_equal(to_jpeg(bands, **kwargs, compress_size_px=64), own)
    coarse = to_jpeg(bands, **kwargs, compress_size_px=24)  # native pixels 2.7x larger
    assert coarse.shape == own.shape == (3, 64, 64) and coarse.dtype == np.uint8
    # chroma is compressed at half resolution of the native grid: blocks 2.7x wider
    assert _chroma_lag3(coarse) > _chroma_lag3(own) + 0.2
    # and the light is where it was: the mean level is kept
    assert abs(coarse.astype(float).mean() - own.astype(float).mean()) < 1.0


def test_only_colour_images_are_compressed_at_the_native_scale() -> None:
    for i in range(3):
        p = draw_parameters(_config(), 11, i)
        grey_plain, _ = render_galaxy(p, _config("jpeg-gray"))
        grey_native, _ = render_galaxy(p, _config("jpeg-gray", native_pixel_scale_arcsec=0.396))
        assert np.array_equal(grey_plain, grey_native)
        rgb_plain, _ = render_galaxy(p, _config())
        rgb_native, _ = render_galaxy(p, _config(native_pixel_scale_arcsec=0.8))  # 2x coarser
        assert rgb_native.shape == rgb_plain.shape and not np.array_equal(rgb_native, rgb_plain)


@pytest.mark.parametrize("value", [0.0, -0.4, 11.0, float("nan"), float("inf")])
def test_a_bad_native_scale_is_named(value) -> None:
    with pytest.raises(ParameterError, match="jpeg.native_pixel_scale_arcsec"):
        _config(native_pixel_scale_arcsec=value)


def test_a_native_scale_needs_a_quality() -> None:
    with pytest.raises(ParameterError, match="needs a jpeg.quality"):
        _config(native_pixel_scale_arcsec=0.396, quality=None)
