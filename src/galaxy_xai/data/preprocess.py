"""Image preprocessing shared by every reader: centre crop, resize, channels, stretch.

Raster sources (JPEG/PNG, Galaxy10 arrays) are 8-bit and stay 8-bit: they are cropped
and resized with Pillow (Lanczos, which antialiases when shrinking) and stored as
uint8. Float sources (FITS counts, Galaxy Builder cutouts) are cropped and resized in
float32 and then either kept linear or asinh-stretched into [0, 1] (see
:func:`asinh_stretch`); the choice is recorded in the dataset's ``preprocessing``
metadata.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from galaxy_xai.errors import ParameterError

__all__ = [
    "CHANNELS",
    "MASK_FILLS",
    "STRETCHES",
    "Preprocess",
    "asinh_stretch",
    "center_crop_box",
    "fill_masked",
    "resize_float",
    "select_channels",
]

#: ``gray``: one channel (luma for colour rasters, band mean for multi-band data);
#: ``rgb``: three channels (grey sources repeated); ``all``: every band of the source.
CHANNELS = ("gray", "rgb", "all")
#: Float-data stretches: ``asinh`` (robust, into [0, 1]) or ``linear`` (values kept).
STRETCHES = ("asinh", "linear")
#: How masked pixels are replaced (``Preprocess.mask_fill``).
MASK_FILLS = ("interpolate", "noise", "zero")

MIN_SIZE, MAX_SIZE = 8, 4096  # px; below 8 px no morphology survives, above is a typo


@dataclass(frozen=True)
class Preprocess:
    """How every image is turned into a stored one.

    Parameters
    ----------
    size
        Output side in pixels (square), 8..4096.
    crop
        Fraction (0, 1] of the shorter side kept, as a square about the centre, before
        resizing; 0.5 keeps the central half.
    channels
        One of :data:`CHANNELS`.
    stretch
        One of :data:`STRETCHES`; float sources only.
    asinh_a
        Softening of the asinh stretch (astropy ``AsinhStretch(a)``); smaller shows
        fainter structure.
    percentile
        Central percentile of the pixel values mapped to [0, 1] before the asinh
        stretch (astropy ``PercentileInterval``).
    zero_masked
        Replace masked pixels (Galaxy Builder masks: stars, artefacts) as
        ``mask_fill`` says; False keeps them as they are.
    mask_fill
        One of :data:`MASK_FILLS`: ``interpolate`` (default) fills each masked region
        with the smooth light of its surroundings (astropy's
        ``interpolate_replace_nans``, Gaussian kernel) plus sky noise of the unmasked
        pixels, so that a star masked on top of a galaxy leaves neither a hole nor a
        patch of bare sky in the galaxy's light; ``noise`` draws each masked pixel from
        the sky alone (sigma-clipped median and standard deviation per band, seeded by
        the item); ``zero`` sets them to 0 (earlier versions). Real images must not
        show holes that no simulation has.

    Raises
    ------
    ParameterError
        If ``size`` is not an integer in 8..4096, ``crop`` is not in (0, 1],
        ``channels``, ``stretch`` or ``mask_fill`` is not one of the names listed above,
        ``asinh_a`` <= 0, or ``percentile`` is not in (0, 100].
    """

    size: int = 128
    crop: float = 1.0
    channels: str = "gray"
    stretch: str = "asinh"
    asinh_a: float = 0.1
    percentile: float = 99.5
    zero_masked: bool = True
    mask_fill: str = "interpolate"

    def __post_init__(self) -> None:
        if self.mask_fill not in MASK_FILLS:
            raise ParameterError(
                "mask_fill", self.mask_fill, f"must be one of {', '.join(MASK_FILLS)}"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int | np.integer):
            raise ParameterError("size", self.size, "must be an integer number of pixels")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ParameterError("size", self.size, f"must lie in {MIN_SIZE}..{MAX_SIZE} px")
        if not (isinstance(self.crop, int | float) and 0.0 < self.crop <= 1.0):
            raise ParameterError(
                "crop", self.crop, "must lie in (0, 1] (fraction of the side kept)"
            )
        if self.channels not in CHANNELS:
            raise ParameterError("channels", self.channels, f"must be one of {', '.join(CHANNELS)}")
        if self.stretch not in STRETCHES:
            raise ParameterError("stretch", self.stretch, f"must be one of {', '.join(STRETCHES)}")
        if not self.asinh_a > 0:
            raise ParameterError("asinh_a", self.asinh_a, "must be > 0")
        if not 0 < self.percentile <= 100:
            raise ParameterError("percentile", self.percentile, "must lie in (0, 100]")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the dataset metadata."""
        return asdict(self)


def fill_masked(pixels: np.ndarray, mask: np.ndarray, *, how: str, seed: int) -> np.ndarray:
    """Replace the masked pixels of a float ``(C, H, W)`` image (see ``Preprocess.mask_fill``).

    Parameters
    ----------
    pixels
        The image; not changed.
    mask
        ``(H, W)`` bool, True where masked.
    how
        ``interpolate`` (the surrounding light, smoothly interpolated, plus sky
        noise), ``noise`` (sky noise of the unmasked pixels, 3-sigma-clipped median and
        standard deviation per band) or ``zero``.
    seed
        Seed of the noise (one per image, so that a re-import is identical).

    Returns
    -------
    numpy.ndarray
        float32 copy with the masked pixels replaced.

    Raises
    ------
    ParameterError
        If ``how`` is unknown or the mask's shape is not the image's.
    """
    from astropy.stats import sigma_clipped_stats

    if how not in MASK_FILLS:
        raise ParameterError("mask_fill", how, f"must be one of {', '.join(MASK_FILLS)}")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != pixels.shape[1:]:
        raise ParameterError("mask", mask.shape, f"must match the image's {pixels.shape[1:]}")
    out = np.array(pixels, dtype=np.float32, copy=True)
    if not mask.any():
        return out
    if how == "zero" or mask.all():
        out[:, mask] = 0.0
        return out
    rng = np.random.default_rng(seed)
    for band in out:
        _, median, std = sigma_clipped_stats(band[~mask], sigma=3.0)
        level = _interpolated(band, mask, median) if how == "interpolate" else median
        band[mask] = level + std * rng.standard_normal(int(mask.sum()))
    return out


#: Gaussian kernel widths (px) tried in turn to interpolate across a masked region.
_INTERPOLATION_SIGMAS_PX = (2.0, 4.0, 8.0, 16.0)


def _interpolated(band: np.ndarray, mask: np.ndarray, fallback: float) -> np.ndarray:
    """The smooth light of the unmasked surroundings at each masked pixel of ``band``.

    Wider kernels are tried until every masked pixel has unmasked neighbours; pixels
    still without any (a mask wider than the widest kernel) get ``fallback``.
    """
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from astropy.utils.exceptions import AstropyUserWarning

    filled = np.where(mask, np.nan, band).astype(np.float64)
    for sigma in _INTERPOLATION_SIGMAS_PX:
        with warnings.catch_warnings():  # "NaN values post convolution": the next, wider
            warnings.simplefilter("ignore", AstropyUserWarning)  # kernel fills them
            kernel = Gaussian2DKernel(sigma)
            filled = interpolate_replace_nans(filled, kernel, boundary="extend")
        if not np.isnan(filled[mask]).any():
            break
    values = filled[mask]
    return np.where(np.isnan(values), fallback, values)


def center_crop_box(width: int, height: int, crop: float) -> tuple[int, int, int, int]:
    """Pixel box ``(left, upper, right, lower)`` of the centred square crop.

    The square's side is ``round(crop * min(width, height))`` (at least 1 px).
    """
    side = max(1, round(crop * min(width, height)))
    left = (width - side) // 2
    upper = (height - side) // 2
    return left, upper, left + side, upper + side


def resize_float(image: np.ndarray, size: int, *, crop: float = 1.0) -> np.ndarray:
    """Centre-crop and resize a float ``(C, H, W)`` array to ``(C, size, size)``.

    Uses Pillow's Lanczos filter on 32-bit float planes, which antialiases when
    shrinking; surface brightness per pixel is preserved (not total flux).

    Returns
    -------
    numpy.ndarray
        float32 ``(C, size, size)``.
    """
    image = np.asarray(image, dtype=np.float32)
    _, height, width = image.shape
    box = center_crop_box(width, height, crop)
    out = np.empty((image.shape[0], size, size), dtype=np.float32)
    for c, plane in enumerate(image):
        pil = Image.fromarray(np.ascontiguousarray(plane), mode="F")
        pil = pil.resize((size, size), Image.Resampling.LANCZOS, box=box)
        out[c] = np.asarray(pil, dtype=np.float32)
    return out


def select_channels(image: np.ndarray, channels: str) -> np.ndarray:
    """Reduce or expand a float ``(C, H, W)`` array to the requested channels.

    ``gray`` averages the bands (equal weights); ``rgb`` needs 1 band (repeated) or
    3 bands (kept in their order, e.g. g, r, z); ``all`` keeps every band.

    Raises
    ------
    ParameterError
        If ``rgb`` is asked of data with neither 1 nor 3 bands.
    """
    n_bands = image.shape[0]
    if channels == "gray":
        return image.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
    if channels == "rgb":
        if n_bands == 3:
            return image
        if n_bands == 1:
            return np.repeat(image, 3, axis=0)
        raise ParameterError(
            "channels", channels, f"needs 1 or 3 bands, the data has {n_bands}; use gray or all"
        )
    return image


def asinh_stretch(image: np.ndarray, *, a: float = 0.1, percentile: float = 99.5) -> np.ndarray:
    """Robust asinh stretch of a float ``(C, H, W)`` image into [0, 1].

    All bands share one interval, so colours are kept: astropy's
    ``PercentileInterval(percentile)`` over every pixel maps the central
    ``percentile`` % of values to [0, 1] (clipped), then ``AsinhStretch(a)`` gives
    ``asinh(x / a) / asinh(1 / a)`` (Lupton et al. 2004 style).

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape, values in [0, 1]. A constant image maps to 0.
    """
    from astropy.visualization import AsinhStretch, PercentileInterval

    image = np.asarray(image, dtype=np.float32)
    vmin, vmax = PercentileInterval(percentile).get_limits(image)
    if not math.isfinite(vmax - vmin) or vmax <= vmin:
        return np.zeros_like(image)
    scaled = np.clip((image - vmin) / (vmax - vmin), 0.0, 1.0)
    return AsinhStretch(a=a)(scaled, clip=True).astype(np.float32)
