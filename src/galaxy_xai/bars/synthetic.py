"""Synthetic saliency maps of bars at known length and angle, for tests and validation.

A map is a soft-edged bar (Gaussian across, logistic ends along) plus, optionally, a
round bulge, an off-centre blob (a star or spiral-arm knot) and uniform noise, so that
the measurement can be checked against an exact length at every position angle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError

__all__ = ["synthetic_bar_map", "synthetic_bar_maps"]


def synthetic_bar_map(
    length_px: float,
    angle_deg: float,
    *,
    size: int = 64,
    width_px: float = 2.0,
    edge_px: float = 1.0,
    bulge: float = 0.0,
    bulge_sigma_px: float = 4.0,
    blob: float = 0.0,
    blob_offset_px: tuple[float, float] = (0.0, 0.0),
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """One ``(size, size)`` float32 map with a bar of full length ``length_px``.

    Parameters
    ----------
    length_px
        Full end-to-end bar length, pixels (the half-maximum points of the ends).
    angle_deg
        Position angle, degrees counter-clockwise from +x towards +y (row index), the
        simulation truth's convention.
    width_px
        Gaussian sigma across the bar, pixels.
    edge_px
        Softness of the bar ends (logistic scale), pixels.
    bulge, bulge_sigma_px
        Amplitude and sigma of a round central Gaussian.
    blob, blob_offset_px
        Amplitude and (dx, dy) offset from the centre of a compact off-centre source.
    noise
        Amplitude of uniform noise in [0, noise).
    seed
        Seed of the noise.

    Raises
    ------
    ParameterError
        If ``length_px`` is not finite and > 0, or ``size`` < 8.
    """
    if not (np.isfinite(length_px) and length_px > 0):
        raise ParameterError("length_px", length_px, "must be > 0")
    if size < 8:
        raise ParameterError("size", size, "must be >= 8")
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    c = (size - 1) / 2.0
    x, y = xx - c, yy - c
    a = np.radians(angle_deg)
    along = x * np.cos(a) + y * np.sin(a)
    across = -x * np.sin(a) + y * np.cos(a)
    m = np.exp(-0.5 * (across / width_px) ** 2) / (
        1.0 + np.exp((np.abs(along) - length_px / 2.0) / edge_px)
    )
    if bulge:
        m += bulge * np.exp(-0.5 * (np.hypot(x, y) / bulge_sigma_px) ** 2)
    if blob:
        dx, dy = blob_offset_px
        m += blob * np.exp(-0.5 * (np.hypot(x - dx, y - dy) / 1.5) ** 2)
    if noise:
        m += noise * np.random.default_rng(seed).random(m.shape)
    return m.astype(np.float32)


def synthetic_bar_maps(
    n: int,
    *,
    size: int = 64,
    length_range: tuple[float, float] = (10.0, 40.0),
    seed: int = 0,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` maps with random lengths and angles: ``(maps (n, size, size), lengths, angles)``."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(*length_range, n)
    angles = rng.uniform(0.0, 180.0, n)
    maps = np.stack(
        [
            synthetic_bar_map(lengths[i], angles[i], size=size, seed=seed + i + 1, **kwargs)
            for i in range(n)
        ]
    )
    return maps, lengths, angles
