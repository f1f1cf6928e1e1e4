"""Bar lengths from pixels to arcsec to kpc.

Physical sizes use the angular-diameter distance ``D_A(z)`` of a stated cosmology
(default astropy's ``Planck18``: Planck Collaboration 2020, table 2, TT,TE,EE+lowE+
lensing+BAO): ``length_kpc = length_arcsec * D_A(z) [kpc] * pi / 648000``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["DEFAULT_COSMOLOGY", "arcsec_to_kpc", "kpc_per_arcsec", "px_to_arcsec"]

#: Name of the astropy cosmology used unless another is asked for.
DEFAULT_COSMOLOGY = "Planck18"
_ARCSEC_PER_RADIAN = 648000.0 / np.pi


def _cosmology(name: str):
    from astropy import cosmology

    available = cosmology.realizations.available
    if name not in available:
        raise ParameterError("cosmology", name, f"must be one of {', '.join(available)}")
    return getattr(cosmology, name)


def px_to_arcsec(
    length_px: np.ndarray | Sequence[float],
    pixel_scale_arcsec: np.ndarray | Sequence[float] | float,
    *,
    ids: Sequence[object] | None = None,
) -> np.ndarray:
    """Convert lengths in pixels to arcsec.

    Parameters
    ----------
    length_px
        Lengths, pixels (NaN allowed: stays NaN).
    pixel_scale_arcsec
        Pixel scale, arcsec per pixel; a scalar or one per length.
    ids
        Galaxy ids, used to name the galaxy in errors.

    Raises
    ------
    DataFormatError
        If a pixel scale is missing (NaN) or not positive where a length is to be
        converted; the message names the first such id.
    """
    length = np.asarray(length_px, dtype=np.float64)
    scale = np.broadcast_to(np.asarray(pixel_scale_arcsec, dtype=np.float64), length.shape)
    bad = ~(np.isfinite(scale) & (scale > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        who = f"id {ids[i]!r}" if ids is not None else f"row {i}"
        raise DataFormatError(
            f"{who}: pixel_scale_arcsec is {float(scale[i])!r}; arcsec need a positive pixel scale "
            "(add a 'pixel_scale_arcsec' column to the dataset, or pass --pixel-scale)"
        )
    return length * scale


def kpc_per_arcsec(
    redshift: np.ndarray | Sequence[float] | float, *, cosmology: str = DEFAULT_COSMOLOGY
) -> np.ndarray:
    """Proper kpc per arcsec at ``redshift`` from the angular-diameter distance.

    Non-finite or non-positive redshifts give NaN (the distance is unknown).
    """
    z = np.atleast_1d(np.asarray(redshift, dtype=np.float64))
    out = np.full(z.shape, np.nan)
    good = np.isfinite(z) & (z > 0)
    if good.any():
        d_a_kpc = _cosmology(cosmology).angular_diameter_distance(z[good]).to_value("kpc")
        out[good] = d_a_kpc / _ARCSEC_PER_RADIAN
    return out if np.ndim(redshift) else out[:1].reshape(())


def arcsec_to_kpc(
    length_arcsec: np.ndarray | Sequence[float],
    redshift: np.ndarray | Sequence[float] | float,
    *,
    cosmology: str = DEFAULT_COSMOLOGY,
) -> np.ndarray:
    """Convert angular lengths (arcsec) to proper kpc; NaN where the redshift is unknown."""
    length = np.asarray(length_arcsec, dtype=np.float64)
    scale = np.broadcast_to(kpc_per_arcsec(redshift, cosmology=cosmology), length.shape)
    return length * scale
