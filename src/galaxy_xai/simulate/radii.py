"""Radii of a face-on Sersic bulge plus exponential disk: true and SDSS Petrosian R90.

Galaxy Zoo cutouts are scaled by the SDSS Petrosian R90 (``petroR90_r``), not by the
radius that holds 90% of the total light. The two differ by the profile: SDSS's
Petrosian radius ``R_P`` is where the surface brightness in the annulus 0.8-1.25 ``r``
falls to 0.2 of the mean within ``r``, the Petrosian flux is the light within
``2 R_P`` and R90 holds 90% of that flux (Blanton et al. 2001, AJ 121, 2358; Strauss
et al. 2002, AJ 124, 1810). For an exponential disk the Petrosian flux is 99% of the
total and its R90 0.98 of the true one; for a de Vaucouleurs profile 82% and 0.43
(Graham et al. 2005, PASA 22, 118), so a simulated elliptical framed by its true R90
fills half as much of the stamp as a Galaxy Zoo elliptical does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scipy import optimize, special

__all__ = [
    "PETROSIAN_RATIO",
    "PetrosianRadii",
    "enclosed_fraction",
    "petrosian",
    "petrosian_r90",
    "true_r90",
]

#: SDSS's Petrosian ratio at the Petrosian radius, its annulus and aperture (in R_P).
PETROSIAN_RATIO = 0.2
_ANNULUS = (0.8, 1.25)
_PETROSIAN_APERTURE = 2.0


def _light_within(
    bulge_to_total: float, sersic_n: float, re_bulge: float, re_disk: float
) -> Callable[[float], float]:
    """Share of the total light within a radius, its profile constants computed once."""
    bn = special.gammaincinv(2 * sersic_n, 0.5) if bulge_to_total > 0 else 0.0
    b1 = special.gammaincinv(2.0, 0.5)

    def share(r: float) -> float:
        bulge = (
            special.gammainc(2 * sersic_n, bn * (r / re_bulge) ** (1 / sersic_n))
            if bulge_to_total > 0
            else 0.0
        )
        disk = special.gammainc(2.0, b1 * r / re_disk) if bulge_to_total < 1 else 0.0
        return float(bulge_to_total * bulge + (1 - bulge_to_total) * disk)

    return share


def enclosed_fraction(
    r: float, bulge_to_total: float, sersic_n: float, re_bulge: float, re_disk: float
) -> float:
    """Share of the total light within radius ``r`` (same unit as the radii)."""
    return _light_within(bulge_to_total, sersic_n, re_bulge, re_disk)(r)


def _radius_enclosing(
    fraction: float, share: Callable[[float], float], re_bulge: float, re_disk: float
) -> float:
    hi = 100.0 * max(re_bulge, re_disk)
    return float(optimize.brentq(lambda r: share(r) - fraction, 1e-6 * hi, hi, xtol=1e-6 * hi))


def true_r90(bulge_to_total: float, sersic_n: float, re_bulge: float, re_disk: float) -> float:
    """Radius enclosing 90% of the total light of face-on bulge + disk."""
    share = _light_within(bulge_to_total, sersic_n, re_bulge, re_disk)
    return _radius_enclosing(0.9, share, re_bulge, re_disk)


@dataclass(frozen=True)
class PetrosianRadii:
    """SDSS Petrosian quantities of a profile (radii in the unit of its radii)."""

    radius: float  # the Petrosian radius R_P
    flux_fraction: float  # Petrosian flux (within 2 R_P) over the total
    r50: float  # holds 50% of the Petrosian flux
    r90: float  # holds 90% of the Petrosian flux


def petrosian(
    bulge_to_total: float, sersic_n: float, re_bulge: float, re_disk: float
) -> PetrosianRadii:
    """SDSS Petrosian radius, flux, R50 and R90 of face-on bulge + disk.

    Circular apertures on the circular profiles, without a PSF.

    Raises
    ------
    ValueError
        If a radius is not > 0 or ``bulge_to_total`` is outside [0, 1].
    """
    if not (re_bulge > 0 and re_disk > 0 and 0 <= bulge_to_total <= 1):
        raise ValueError(
            f"radii must be > 0 and bulge_to_total in [0, 1], found {re_bulge}, {re_disk}, "
            f"{bulge_to_total}"
        )
    share = _light_within(bulge_to_total, sersic_n, re_bulge, re_disk)
    lo_a, hi_a = _ANNULUS

    def ratio(r: float) -> float:
        return (share(hi_a * r) - share(lo_a * r)) / ((hi_a**2 - lo_a**2) * share(r))

    # the ratio falls from 1 at the centre; it reaches 0.2 within a few half-light radii
    present = [r for r, on in ((re_bulge, bulge_to_total > 0), (re_disk, bulge_to_total < 1)) if on]
    small, large = min(present), max(present)
    r_p = float(
        optimize.brentq(
            lambda r: ratio(r) - PETROSIAN_RATIO, 1e-3 * small, 50.0 * large, xtol=1e-7 * large
        )
    )
    flux = share(_PETROSIAN_APERTURE * r_p)
    return PetrosianRadii(
        radius=r_p,
        flux_fraction=flux,
        r50=_radius_enclosing(0.5 * flux, share, re_bulge, re_disk),
        r90=_radius_enclosing(0.9 * flux, share, re_bulge, re_disk),
    )


def petrosian_r90(bulge_to_total: float, sersic_n: float, re_bulge: float, re_disk: float) -> float:
    """SDSS Petrosian R90 of face-on bulge + disk (see :func:`petrosian`)."""
    return petrosian(bulge_to_total, sersic_n, re_bulge, re_disk).r90
