"""Galaxy components as GalSim profiles, plus spiral-arm and knot images in numpy.

Bulge, disk, bar and contaminants are GalSim profiles convolved with the PSF by GalSim.
Spiral arms multiply the (pixel-convolved) disk light by a logarithmic-spiral pattern
normalised to keep the disk flux; knots are point sources placed on that light. Both
are a small correction image convolved with the PSF in numpy (one FFT), which keeps
the suite within a few times the cost of a plain bulge + disk stamp.
"""

from __future__ import annotations

import functools
import math

import galsim
import numpy as np
from scipy import fft as sp_fft
from scipy import special

from galaxy_xai.simulate.truth import GalaxyParameters

__all__ = [
    "BULGE_TRUNCATION_HLR",
    "arm_modulation",
    "bar_profile",
    "bulge_profile",
    "contaminant_profiles",
    "convolve_psf",
    "disk_light",
    "disk_plane_coordinates",
    "disk_profile",
    "knot_image",
    "lens_profile",
    "psf_kernel",
    "psf_profile",
]

#: Bulges are truncated at this many half-light radii (flux and half-light radius are
#: kept exact): real bulges do not have infinite n ~ 6 wings, and untruncated ones
#: need FFTs ~50 times larger.
BULGE_TRUNCATION_HLR = 8.0
# PSF kernel of the numpy convolution: radius in FWHM (>99.5% of a beta 3.5 Moffat).
_KERNEL_RADIUS_FWHM = 3.0


@functools.lru_cache(maxsize=256)
def _moffat(beta: float, fwhm: float) -> galsim.GSObject:
    return galsim.Moffat(beta=beta, fwhm=fwhm)


def psf_profile(params: GalaxyParameters) -> galsim.GSObject:
    """The galaxy's PSF: its ``survey.psf_library`` image, or its Moffat (cached)."""
    if params.psf_library_index >= 0:
        from galaxy_xai.simulate.psf_library import library_profile

        return library_profile(params.psf_library, int(params.psf_library_index))
    return _moffat(float(params.psf_moffat_beta), float(params.psf_fwhm_arcsec))


def _psf_key(params: GalaxyParameters) -> tuple[str, float, float, int]:
    """What identifies the galaxy's PSF: (library, beta, FWHM, library row)."""
    return (
        params.psf_library if params.psf_library_index >= 0 else "",
        float(params.psf_moffat_beta),
        float(params.psf_fwhm_arcsec),
        int(params.psf_library_index),
    )


def _beta(deg: float) -> galsim.Angle:
    return deg * galsim.degrees


def bulge_profile(params: GalaxyParameters) -> galsim.GSObject | None:
    """Truncated Sersic bulge with flux ``B/T x flux_total`` (None if B/T = 0)."""
    flux = params.bulge_to_total * params.flux_total
    if flux <= 0:
        return None
    hlr = params.bulge_half_light_radius_arcsec
    prof = galsim.Sersic(
        n=params.bulge_sersic_n,
        half_light_radius=hlr,
        trunc=BULGE_TRUNCATION_HLR * hlr,
        flux_untruncated=False,
        flux=flux,
    )
    return prof.shear(q=params.bulge_axis_ratio, beta=_beta(params.disk_position_angle_deg))


def disk_flux(params: GalaxyParameters) -> tuple[float, float]:
    """(smooth disk flux, knot flux) in counts; together ``(1 - B/T - Bar/T - Lens/T) F``."""
    inner = params.bar_to_total + params.lens_to_total
    total = max(1.0 - params.bulge_to_total - inner, 0.0) * params.flux_total
    knots = params.knot_fraction * total
    return total - knots, knots


def disk_profile(params: GalaxyParameters, flux: float | None = None) -> galsim.GSObject | None:
    """Inclined exponential disk with its smooth flux (None if there is no disk light)."""
    flux = disk_flux(params)[0] if flux is None else flux
    if flux <= 0:
        return None
    prof = galsim.Exponential(half_light_radius=params.disk_half_light_radius_arcsec, flux=flux)
    return prof.shear(q=params.disk_axis_ratio, beta=_beta(params.disk_position_angle_deg))


def bar_profile(params: GalaxyParameters, *, half_light_fraction: float) -> galsim.GSObject | None:
    """The bar: a flat Sersic truncated on an ellipse of the catalogued length.

    The truncation radius of the round profile is ``sqrt(a b)``; shearing it to axis
    ratio ``b/a`` puts the truncation at semi-major axis ``a``, so the end-to-end extent
    is exactly ``bar_length_arcsec``.
    """
    if not params.barred:
        return None
    return _flat_profile(params, "bar", half_light_fraction)


def lens_profile(params: GalaxyParameters, *, half_light_fraction: float) -> galsim.GSObject | None:
    """The lens of an unbarred galaxy: the bar's flat truncated Sersic, nearly round."""
    return _flat_profile(params, "lens", half_light_fraction)


def _flat_profile(
    params: GalaxyParameters, component: str, half_light_fraction: float
) -> galsim.GSObject | None:
    """The flat Sersic of ``component`` (``bar`` or ``lens``: its catalogue columns),
    truncated on an ellipse of end-to-end major axis ``<component>_length_arcsec``."""
    flux = getattr(params, f"{component}_to_total") * params.flux_total
    if flux <= 0:
        return None
    q = getattr(params, f"{component}_axis_ratio")
    trunc = getattr(params, f"{component}_length_arcsec") / 2 * math.sqrt(q)
    prof = galsim.Sersic(
        n=getattr(params, f"{component}_sersic_n"),
        half_light_radius=half_light_fraction * trunc,
        trunc=trunc,
        flux_untruncated=False,
        flux=flux,
    )
    return prof.shear(q=q, beta=_beta(getattr(params, f"{component}_position_angle_deg")))


def contaminant_profiles(
    params: GalaxyParameters, band: int | None = None
) -> galsim.GSObject | None:
    """Foreground stars (points) and neighbours (exponentials) at their offsets.

    ``band`` (0, 1, 2: blue, green, red) scales each flux by the source's own colour
    relative to the green band, for ``jpeg-rgb``; None gives the reference-band fluxes.
    """
    from galaxy_xai.simulate.render import band_factors

    profiles = []
    for c in params.contaminants:
        flux = c.flux if band is None else c.flux * float(band_factors(c.colour)[band])
        if c.kind == "star":
            prof = galsim.DeltaFunction(flux=flux)
        else:
            prof = galsim.Exponential(half_light_radius=c.half_light_radius_arcsec, flux=flux)
            prof = prof.shear(q=c.axis_ratio, beta=_beta(c.position_angle_deg))
        profiles.append(prof.shift(c.dx_arcsec, c.dy_arcsec))
    if not profiles:
        return None
    return profiles[0] if len(profiles) == 1 else galsim.Add(profiles)


@functools.lru_cache(maxsize=8)
def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    coords = np.arange(n) - (n - 1) / 2
    x, y = np.meshgrid(coords, coords)  # x varies along axis 1, y along axis 0
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def pixel_grid(params: GalaxyParameters) -> tuple[np.ndarray, np.ndarray]:
    """Sky offsets (x, y) in arcsec of every pixel centre from the galaxy centre."""
    x, y = _grid(int(params.size_px))
    return x * params.pixel_scale_arcsec, y * params.pixel_scale_arcsec


def disk_plane_coordinates(params: GalaxyParameters) -> tuple[np.ndarray, np.ndarray]:
    """Disk-plane radius (in disk scale lengths) and azimuth (rad) of every pixel."""
    x, y = pixel_grid(params)
    a, b, c, d = params.sky_transform
    det = a * d - b * c
    h = params.disk_scale_length_arcsec
    u = (d * x - b * y) / det / h
    v = (-c * x + a * y) / det / h
    return np.hypot(u, v), np.arctan2(v, u)


def disk_light(params: GalaxyParameters, flux: float) -> np.ndarray:
    """The inclined exponential disk of total ``flux`` sampled at pixel centres (no PSF).

    Used as the light that the arm pattern modulates and the knots follow; the smooth
    disk itself is drawn by GalSim.
    """
    r, _ = disk_plane_coordinates(params)
    h = params.disk_scale_length_arcsec
    peak = flux / (2 * math.pi * h**2 * params.disk_axis_ratio) * params.pixel_scale_arcsec**2
    return peak * np.exp(-r)


def arm_modulation(params: GalaxyParameters, *, sharpness: float) -> np.ndarray:
    """Multiplicative logarithmic-spiral pattern on the pixel grid (mean ~1 on the disk).

    In the disk plane (radius r, azimuth phi) the arms are
    ``phi = c * ln(r / h) / tan(pitch) + phase + 2 pi k / n_arms`` with ``c`` the
    handedness before the flip (``arm_chirality`` is that of the final image: +1 when
    the arms turn counter-clockwise, in the angle convention, going outwards); the pattern is
    ``1 + strength * envelope(r) * (s / <s> - 1)`` with ``s = ((1 + cos psi) / 2) ** sharpness``,
    which is >= 0 and averages to 1 around every circle. The envelope fades the arms
    inside the bar (or 0.5 disk scale lengths).
    """
    r, phi = disk_plane_coordinates(params)
    r = r + 1e-9
    tan_pitch = math.tan(math.radians(params.pitch_angle_deg))
    # disk-plane coordinates are those before the flip, so use the unflipped handedness
    chirality = -params.arm_chirality if params.flipped else params.arm_chirality
    psi = params.n_arms * (
        phi - chirality * np.log(r) / tan_pitch - math.radians(params.arm_phase_deg)
    )
    s = ((1.0 + np.cos(psi)) / 2.0) ** sharpness
    s_mean = special.gamma(sharpness + 0.5) / (math.sqrt(math.pi) * special.gamma(sharpness + 1))
    r_in = max(params.bar_length_to_disk_scale if params.barred else 0.0, 0.5)
    envelope = 1.0 - np.exp(-((r / r_in) ** 2))
    return 1.0 + params.arm_strength * envelope * (s / s_mean - 1.0)


def knot_image(
    light: np.ndarray, n_knots: int, flux: float, rng: np.random.Generator
) -> np.ndarray:
    """Point sources placed at random on ``light`` (probability per pixel), total ``flux``.

    Positions get a uniform sub-pixel offset and are spread bilinearly over four pixels;
    knot fluxes follow an exponential distribution (a few bright HII regions).
    """
    out = np.zeros_like(light, dtype=np.float64)
    weights = np.clip(light, 0, None).ravel()
    total = weights.sum()
    if n_knots <= 0 or flux <= 0 or total <= 0:
        return out
    cdf = np.cumsum(weights)
    pix = np.minimum(
        np.searchsorted(cdf, rng.random(n_knots) * cdf[-1], side="right"), weights.size - 1
    )
    ny, nx = light.shape
    y = pix // nx + rng.uniform(-0.5, 0.5, n_knots)
    x = pix % nx + rng.uniform(-0.5, 0.5, n_knots)
    f = rng.exponential(1.0, n_knots)
    f *= flux / f.sum()
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, w in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < nx) & (yi >= 0) & (yi < ny)
        np.add.at(out, (yi[ok], xi[ok]), (f * w)[ok])
    return out


@functools.lru_cache(maxsize=512)
def _kernel(beta: float, fwhm: float, scale: float) -> np.ndarray:
    """Moffat PSF averaged over each pixel (4 x 4 sub-samples), normalised to unit sum."""
    radius = max(1, math.ceil(_KERNEL_RADIUS_FWHM * fwhm / scale))
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))  # Moffat scale radius
    sub = (np.arange(4) - 1.5) / 4.0
    grid = (np.arange(-radius, radius + 1)[:, None] + sub[None, :]).ravel() * scale
    r2 = grid[:, None] ** 2 + grid[None, :] ** 2
    fine = (1.0 + r2 / alpha**2) ** (-beta)
    n = 2 * radius + 1
    kernel = fine.reshape(n, 4, n, 4).sum(axis=(1, 3))
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel


def _kernel_of(key: tuple[str, float, float, int], scale: float) -> np.ndarray:
    library, beta, fwhm, row = key
    if row >= 0:
        from galaxy_xai.simulate.psf_library import library_kernel

        return library_kernel(library, row, scale)
    return _kernel(beta, fwhm, scale)


def psf_kernel(params: GalaxyParameters) -> np.ndarray:
    """Odd-sized, unit-sum image of the PSF (with pixel) at the galaxy's pixel scale."""
    return _kernel_of(_psf_key(params), float(params.pixel_scale_arcsec))


@functools.lru_cache(maxsize=512)
def _kernel_fft(
    key: tuple[str, float, float, int], scale: float, ny: int, nx: int
) -> tuple[np.ndarray, tuple[int, int], int]:
    kernel = _kernel_of(key, scale)
    radius = kernel.shape[0] // 2
    shape = (
        sp_fft.next_fast_len(ny + 2 * radius, real=True),
        sp_fft.next_fast_len(nx + 2 * radius, real=True),
    )
    spectrum = sp_fft.rfft2(kernel, shape)
    spectrum.setflags(write=False)
    return spectrum, shape, radius


def convolve_psf(image: np.ndarray, params: GalaxyParameters) -> np.ndarray:
    """``image`` convolved with :func:`psf_kernel` (same shape; light off the edge is lost)."""
    ny, nx = image.shape
    spectrum, shape, radius = _kernel_fft(
        _psf_key(params), float(params.pixel_scale_arcsec), ny, nx
    )
    full = sp_fft.irfft2(sp_fft.rfft2(image, shape) * spectrum, shape)
    return full[radius : radius + ny, radius : radius + nx]
