"""Bulge size and bulge-to-total from a saliency map of a bulge/disk network.

Bhambra, Joachimi & Lahav (2022) suggest that the saliency method "can be used to
extract other galactic features (such as the bulge-to-disk ratio) without needing to
collect new datasets or train new models". This module makes that testable.

For one galaxy, with its map ``m`` (of the bulge-dominated output) and image ``I``:

1. The galaxy's light ``L = max(I - sky, 0)``, sky and noise from the median and MAD
   of the outer ring of the frame; the galaxy ``G`` is the connected region of
   ``L > galaxy_sigma x noise`` that holds the brightest central pixel.
2. The map's weight ``w = (s / max s) ** map_power`` of the (optionally Gaussian
   smoothed) absolute map ``s``, and the map-weighted light ``P = w L``.
3. The bulge region ``K``: pixels of ``G`` with ``P >= map_threshold x max P``, the
   connected part that holds the peak of ``P``.
4. Raw B/T: the map-weighted light ``P`` in ``K`` over the light in ``G`` (with a map
   equal to the bulge's share of each pixel's light, exactly B/T), or, from a signed
   map, the share of the galaxy's light whose attribution is positive
   (``bt_from="signed_share"``); raw bulge radius (pixels):
   with ``radius_from="area"`` the radius of the circle of ``K``'s area, with
   ``"light"`` the radius about ``K``'s weighted centre that holds half of ``K``'s
   map-weighted light. (On galaxies with a cusp the second is set by the brightest few
   pixels whatever the map; the calibration picks by Pearson r on simulations.)

The raw numbers are then mapped to B/T and a half-light radius by a linear
calibration fitted on simulations (:mod:`galaxy_xai.features.calibrate`). The same
code on a constant map (``w = 1``: the isophote above ``map_threshold`` of the peak)
is the no-saliency control, and the galaxy's own half-light radius (of ``G``) the
size control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = [
    "QUALITY_FLAGS",
    "USABLE_FLAGS",
    "BulgeMeasurement",
    "BulgeParams",
    "galaxy_light",
    "galaxy_regions",
    "half_light_radius",
    "measure_bulge",
    "raw_measurements",
    "summarise_draws",
    "usable_draws",
]

#: Per-galaxy quality flags, best first: ``ok``; ``edge`` (the bulge region touches the
#: frame: the radius may be cut); ``small`` (fewer than ``min_pixels`` pixels in it);
#: ``no_signal`` (a map of zeros, or not finite); ``no_galaxy`` (no pixel of the image
#: above ``galaxy_sigma`` times the sky noise near the centre).
QUALITY_FLAGS = ("ok", "edge", "small", "no_signal", "no_galaxy")
#: Flags of draws that carry a measurement (the rest are NaN or unreliable).
USABLE_FLAGS = ("ok", "edge")
#: Width of the outer ring of the frame that sets the sky level and noise, as a share
#: of the side (each side of the frame).
SKY_RING_FRACTION = 0.1
#: How the raw bulge radius is read off the bulge region (see :class:`BulgeParams`).
RADIUS_FROM = ("area", "light")
#: How the raw B/T is read off the map (see :class:`BulgeParams`).
BT_FROM = ("region", "signed_share")


@dataclass(frozen=True)
class BulgeParams:
    """Settings of the bulge measurement (grid-searched by the calibration).

    Parameters
    ----------
    map_threshold
        Share of the peak of the map-weighted light that bounds the bulge region, in
        (0, 1).
    map_power
        Power of the normalised map in the weight (0 = a constant map: no saliency).
    smooth_sigma_px
        Gaussian smoothing of the absolute map before use, pixels (0 = none).
    galaxy_sigma
        The galaxy is the connected light above this many sky-noise sigmas.
    min_pixels
        Fewest pixels in the bulge region for flag ``ok``.
    radius_from
        ``"area"``: the radius of a circle of the bulge region's area; ``"light"``: its
        half-(map-weighted)-light radius.
    bt_from
        ``"region"``: the map-weighted light of the bulge region over the galaxy's light;
        ``"signed_share"``: the share of the galaxy's light whose attribution is
        positive, ``sum(L max(m, 0)) / sum(L |m|)`` over the galaxy (the light that
        pushes the network towards its bulge output). Needs signed maps (as
        :func:`galaxy_xai.features.bulge_maps` computes); on absolute maps it is 1.

    Raises
    ------
    ParameterError
        If ``map_threshold`` is not in (0, 1), ``map_power`` not in [0, 8],
        ``smooth_sigma_px`` or ``galaxy_sigma`` not in [0, 100], ``min_pixels`` not an
        integer >= 1, or ``radius_from`` / ``bt_from`` not one of the names above.
    """

    map_threshold: float = 0.2
    map_power: float = 1.0
    smooth_sigma_px: float = 1.0
    galaxy_sigma: float = 2.0
    min_pixels: int = 3
    radius_from: str = "area"
    bt_from: str = "region"

    def __post_init__(self) -> None:
        checks = {
            "map_threshold": 0.0 < self.map_threshold < 1.0,
            "map_power": np.isfinite(self.map_power) and 0.0 <= self.map_power <= 8.0,
            "smooth_sigma_px": np.isfinite(self.smooth_sigma_px)
            and 0.0 <= self.smooth_sigma_px <= 100.0,
            "galaxy_sigma": np.isfinite(self.galaxy_sigma) and 0.0 <= self.galaxy_sigma <= 100.0,
            "min_pixels": isinstance(self.min_pixels, int) and self.min_pixels >= 1,
        }
        rules = {
            "map_threshold": "must be in (0, 1)",
            "map_power": "must be in [0, 8]",
            "smooth_sigma_px": "must be in [0, 100] pixels",
            "galaxy_sigma": "must be in [0, 100]",
            "min_pixels": "must be an integer >= 1",
        }
        for name, ok in checks.items():
            if not ok:
                raise ParameterError(name, getattr(self, name), rules[name])
        if self.radius_from not in RADIUS_FROM:
            raise ParameterError("radius_from", self.radius_from, f"must be one of {RADIUS_FROM}")
        if self.bt_from not in BT_FROM:
            raise ParameterError("bt_from", self.bt_from, f"must be one of {BT_FROM}")


@dataclass(frozen=True)
class BulgeMeasurement:
    """Raw measurement of one galaxy (before calibration).

    Attributes
    ----------
    bt_raw
        Map-weighted light in the bulge region over the galaxy's light (NaN when not
        measured).
    radius_raw_px
        Half-(map-weighted)-light radius of the bulge region, pixels.
    galaxy_radius_px
        Half-light radius of the galaxy region, pixels (the size control).
    n_pixels
        Pixels in the bulge region.
    flag
        One of :data:`QUALITY_FLAGS`.
    """

    bt_raw: float
    radius_raw_px: float
    galaxy_radius_px: float
    n_pixels: int
    flag: str


def _grey(image: np.ndarray, *, what: str, ident: object) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr.mean(axis=0)
    if arr.ndim != 2:
        raise DataFormatError(
            f"{what} of galaxy {ident!r} has shape {np.shape(image)}: expected (H, W) or (C, H, W)"
        )
    return arr


def _sky(image: np.ndarray) -> tuple[float, float]:
    """Sky level and noise (median, 1.4826 MAD) of the outer ring of the frame."""
    h, w = image.shape
    k = max(1, round(SKY_RING_FRACTION * min(h, w)))
    ring = np.ones_like(image, dtype=bool)
    ring[k : h - k, k : w - k] = False
    values = image[ring & np.isfinite(image)]
    if not values.size:
        return 0.0, 0.0
    level = float(np.median(values))
    return level, float(1.4826 * np.median(np.abs(values - level)))


def _component_at(mask: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The connected part of ``mask`` (8-connected) holding its highest ``weight``
    among pixels nearest the frame's centre (ties: the central-most)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return mask
    h, w = mask.shape
    yy, xx = np.mgrid[:h, :w]
    # pick the component whose peak is brightest within the central half of the frame
    central = (np.abs(yy - (h - 1) / 2) <= h / 4) & (np.abs(xx - (w - 1) / 2) <= w / 4)
    pool = mask & central
    if not pool.any():
        pool = mask
    score = np.where(pool, weight, -np.inf)
    seed = np.unravel_index(int(np.argmax(score)), mask.shape)
    return labels == labels[seed]


def half_light_radius(weight: np.ndarray, region: np.ndarray) -> float:
    """Radius (pixels) about the weighted centre of ``region`` holding half its weight
    (NaN for a region without weight)."""
    wts = np.where(region, weight, 0.0)
    total = wts.sum()
    if not total > 0:
        return float("nan")
    h, w = weight.shape
    yy, xx = np.mgrid[:h, :w]
    cy, cx = (wts * yy).sum() / total, (wts * xx).sum() / total
    r = np.hypot(yy - cy, xx - cx)[region]
    v = wts[region]
    order = np.argsort(r)
    cum = np.cumsum(v[order]) / total
    # a pixel's light fills a disc of radius ~0.5 px: interpolate between pixel radii
    return float(np.interp(0.5, cum, r[order] + 0.5))


def galaxy_light(
    image: np.ndarray, *, galaxy_sigma: float = 2.0, ident: object = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sky-subtracted light and the galaxy region of one image.

    Parameters
    ----------
    image
        ``(H, W)`` or ``(C, H, W)`` image (channels averaged).
    galaxy_sigma
        Threshold of the galaxy region in sky-noise sigmas.
    ident
        Galaxy id, for messages.

    Returns
    -------
    tuple of numpy.ndarray
        ``light`` (``(H, W)``, >= 0) and the boolean galaxy region.

    Raises
    ------
    DataFormatError
        An image that is not 2-D or 3-D, or has non-finite pixels.
    """
    img = _grey(image, what="image", ident=ident)
    if not np.isfinite(img).all():
        raise DataFormatError(f"image of galaxy {ident!r} has non-finite pixels")
    level, noise = _sky(img)
    light = np.clip(img - level, 0.0, None)
    above = light > galaxy_sigma * noise
    if not above.any():
        return light, above
    return light, _component_at(above, ndimage.gaussian_filter(light, 1.0))


def galaxy_regions(
    images: np.ndarray, *, galaxy_sigma: float = 2.0, ids: Sequence[object] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`galaxy_light` of every image: ``(light, region)`` per galaxy.

    Raises
    ------
    DataFormatError
        An image that is not 2-D or 3-D, or has non-finite pixels.
    """
    ids = list(range(len(images))) if ids is None else list(ids)
    return [
        galaxy_light(im, galaxy_sigma=galaxy_sigma, ident=i)
        for im, i in zip(images, ids, strict=True)
    ]


def summarise_draws(
    values: np.ndarray, flags: Sequence[Sequence[str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and 16th/84th percentiles over the usable draws of each galaxy.

    Parameters
    ----------
    values
        ``(N, S)`` per-draw values.
    flags
        ``N`` lists of ``S`` quality flags; draws flagged :data:`USABLE_FLAGS` count.

    Returns
    -------
    tuple of numpy.ndarray
        ``(median, p16, p84)``, NaN where no draw is usable.
    """
    masked = np.where(usable_draws(flags), values, np.nan)
    n = len(values)
    med, p16, p84 = (np.full(n, np.nan) for _ in range(3))
    some = np.isfinite(masked).any(axis=1)
    if some.any():
        med[some] = np.nanmedian(masked[some], axis=1)
        p16[some], p84[some] = np.nanpercentile(masked[some], [16, 84], axis=1)
    return med, p16, p84


def usable_draws(flags: Sequence[Sequence[str]]) -> np.ndarray:
    """``(N, S)`` booleans: which draws carry a measurement (:data:`USABLE_FLAGS`)."""
    return np.array([[f in USABLE_FLAGS for f in row] for row in flags], dtype=bool)


def measure_bulge(
    saliency: np.ndarray | None,
    image: np.ndarray,
    *,
    params: BulgeParams | None = None,
    ident: object = 0,
    light_and_region: tuple[np.ndarray, np.ndarray] | None = None,
    galaxy_radius_px: float | None = None,
) -> BulgeMeasurement:
    """Raw bulge-to-total and bulge radius of one galaxy from its map and image.

    Parameters
    ----------
    saliency
        ``(H, W)`` or ``(C, H, W)`` map of the bulge output (absolute values used;
        channels summed), or ``None`` for a constant map (the no-saliency control).
    image
        The galaxy's image, same height and width.
    params
        Measurement settings.
    ident
        Galaxy id, for messages.
    light_and_region
        The image's ``(light, region)`` from :func:`galaxy_light` with
        ``params.galaxy_sigma``, when already computed (it depends on the image only).
    galaxy_radius_px
        The galaxy's half-light radius from that ``(light, region)``, when already
        computed (e.g. by an earlier draw of the same image).

    Returns
    -------
    BulgeMeasurement

    Raises
    ------
    DataFormatError
        Map and image of different sizes, or an image with non-finite pixels.
    """
    p = params or BulgeParams()
    light, galaxy = (
        galaxy_light(image, galaxy_sigma=p.galaxy_sigma, ident=ident)
        if light_and_region is None
        else light_and_region
    )
    nan = float("nan")
    if not galaxy.any() or not light[galaxy].sum() > 0:
        return BulgeMeasurement(nan, nan, nan, 0, "no_galaxy")
    galaxy_radius = (
        half_light_radius(light, galaxy) if galaxy_radius_px is None else galaxy_radius_px
    )
    signed = None  # the summed signed map: read by bt_from="signed_share" only
    if saliency is None or p.map_power == 0:
        weight = np.ones_like(light)
    else:
        raw = np.asarray(saliency, dtype=np.float64)
        s = np.abs(raw)
        if s.ndim == 3:
            s = s.sum(axis=0)
        if s.ndim != 2:
            raise DataFormatError(
                f"map of galaxy {ident!r} has shape {np.shape(saliency)}: expected (H, W) "
                "or (C, H, W)"
            )
        if s.shape != light.shape:
            raise DataFormatError(
                f"map of galaxy {ident!r} is {s.shape[0]}x{s.shape[1]} px but its image is "
                f"{light.shape[0]}x{light.shape[1]} px"
            )
        if p.smooth_sigma_px > 0:
            s = ndimage.gaussian_filter(s, p.smooth_sigma_px)
        if p.bt_from == "signed_share":
            signed = raw.sum(axis=0) if raw.ndim == 3 else raw
            if p.smooth_sigma_px > 0:
                signed = ndimage.gaussian_filter(signed, p.smooth_sigma_px)
        peak = s.max() if np.isfinite(s).all() else nan
        if not peak > 0:
            return BulgeMeasurement(nan, nan, galaxy_radius, 0, "no_signal")
        weight = (s / peak) ** p.map_power
    product = weight * light
    peak = product[galaxy].max()
    if not peak > 0:
        return BulgeMeasurement(nan, nan, galaxy_radius, 0, "no_signal")
    region = galaxy & (product >= p.map_threshold * peak)
    region = _component_at(region, product)
    n = int(region.sum())
    if p.bt_from == "region":
        bt_raw = float(product[region].sum() / light[galaxy].sum())
    else:
        total = float((light * np.abs(signed))[galaxy].sum()) if signed is not None else 0.0
        bt_raw = (
            float((light * np.clip(signed, 0.0, None))[galaxy].sum()) / total
            if signed is not None and total > 0
            else nan
        )
    if p.radius_from == "area":
        radius = float(np.sqrt(n / np.pi))
    else:
        radius = half_light_radius(product, region)
    edge = region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any()
    flag = "small" if n < p.min_pixels else "edge" if edge else "ok"
    return BulgeMeasurement(bt_raw, radius, galaxy_radius, n, flag)


def raw_measurements(
    maps: np.ndarray | None,
    images: np.ndarray,
    *,
    params: BulgeParams | None = None,
    ids: Sequence[object] | None = None,
    galaxies: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Raw measurements of many galaxies and draws.

    Parameters
    ----------
    maps
        ``(N, H, W)``, ``(N, C, H, W)`` maps, ``(N, S, H, W)`` draws (``S`` maps per
        galaxy: MC-dropout x SmoothGrad draws), or ``None`` for a constant map.
    images
        ``(N, H, W)`` or ``(N, C, H, W)`` images.
    params
        Measurement settings.
    ids
        One id per galaxy, for messages.
    galaxies
        Each image's ``(light, region)`` (:func:`galaxy_regions` with
        ``params.galaxy_sigma``) when already computed; else computed here, once per
        image whatever the number of draws.

    Returns
    -------
    dict
        ``bt_raw`` and ``radius_raw_px`` ``(N, S)`` arrays, ``galaxy_radius_px``
        ``(N,)``, ``n_pixels`` ``(N, S)``, ``flags`` (``N`` lists of ``S`` flags).

    Raises
    ------
    ParameterError
        Maps and images of different counts, or ids of the wrong length.
    """
    images = np.asarray(images)
    n = len(images)
    ids = list(range(n)) if ids is None else list(ids)
    if len(ids) != n:
        raise ParameterError("ids", len(ids), f"need one id per galaxy ({n})")
    if maps is None:
        draws: Any = [[None]] * n
    else:
        maps = np.asarray(maps)
        if len(maps) != n:
            raise ParameterError("maps", len(maps), f"need one map (or draw set) per image ({n})")
        # (N, S, H, W) draws when the image is 2-D or has a different channel count
        is_draws = maps.ndim == 4 and (images.ndim == 3 or maps.shape[1] != images.shape[1])
        draws = maps if is_draws else maps[:, None]
    p = params or BulgeParams()
    if galaxies is None:
        galaxies = galaxy_regions(images, galaxy_sigma=p.galaxy_sigma, ids=ids)
    elif len(galaxies) != n:
        raise ParameterError("galaxies", len(galaxies), f"need one per image ({n})")
    s = len(draws[0])
    bt = np.full((n, s), np.nan)
    radius = np.full((n, s), np.nan)
    pixels = np.zeros((n, s), dtype=np.int64)
    galaxy_radius = np.full(n, np.nan)
    flags: list[list[str]] = []
    for i in range(n):
        row = []
        known_radius = None  # the galaxy's own radius: from the first draw, for the rest
        for j in range(s):
            m = measure_bulge(
                draws[i][j], images[i], params=p, ident=ids[i], light_and_region=galaxies[i],
                galaxy_radius_px=known_radius,
            )  # fmt: skip
            bt[i, j], radius[i, j], pixels[i, j] = m.bt_raw, m.radius_raw_px, m.n_pixels
            galaxy_radius[i] = known_radius = m.galaxy_radius_px
            row.append(m.flag)
        flags.append(row)
    return {
        "bt_raw": bt,
        "radius_raw_px": radius,
        "galaxy_radius_px": galaxy_radius,
        "n_pixels": pixels,
        "flags": flags,
    }
