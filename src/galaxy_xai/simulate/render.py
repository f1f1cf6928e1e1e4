"""Rendering one galaxy: noiseless component images, noise, and Galaxy Zoo-like JPEGs.

Linear images are sky-subtracted counts (ADU for sdss, electrons for candels/decals)
in the survey's reference band. ``jpeg-gray`` and ``jpeg-rgb`` apply the asinh stretch
of Lupton et al. (2004, PASP 116, 133) through
:func:`astropy.visualization.make_lupton_rgb`, quantise to 8 bits and (optionally) pass
through a JPEG encoder, as Galaxy Zoo's SDSS cutouts were made.
"""

from __future__ import annotations

import dataclasses
import io
import math
from typing import cast

import galsim
import numpy as np

from galaxy_xai.simulate import components as comp
from galaxy_xai.simulate.config import SimulationConfig
from galaxy_xai.simulate.truth import GalaxyParameters, galaxy_stream

__all__ = [
    "COMPONENT_NAMES",
    "band_factors",
    "correlate_noise",
    "draw_components",
    "native_size_px",
    "render_galaxy",
    "snr_of",
    "to_jpeg",
]

#: Keys of :func:`draw_components`; their sum is the galaxy (plus contaminants).
COMPONENT_NAMES = ("bulge", "disk", "arms", "knots", "bar", "lens", "contaminants")


def _draw(profile: galsim.GSObject, params: GalaxyParameters, *, psf: bool) -> np.ndarray:
    n = params.size_px
    if psf:
        image = galsim.Convolve(profile, comp.psf_profile(params)).drawImage(
            nx=n, ny=n, scale=params.pixel_scale_arcsec, dtype=np.float64
        )
    else:  # the bare profile sampled at pixel centres (exact support, for tests)
        image = profile.drawImage(
            nx=n, ny=n, scale=params.pixel_scale_arcsec, method="no_pixel", dtype=np.float64
        )
    return image.array


def _profiles(params: GalaxyParameters, config: SimulationConfig) -> dict[str, galsim.GSObject]:
    """GalSim profiles of the components GalSim draws (absent ones left out)."""
    smooth_flux, _ = comp.disk_flux(params)
    profiles = {
        "bulge": comp.bulge_profile(params),
        "disk": comp.disk_profile(params, smooth_flux),
        "bar": comp.bar_profile(params, half_light_fraction=config.bar.half_light_fraction),
        "lens": comp.lens_profile(params, half_light_fraction=config.bar.half_light_fraction),
        "contaminants": comp.contaminant_profiles(params),
    }
    return {k: v for k, v in profiles.items() if v is not None}


def _arms_and_knots(
    params: GalaxyParameters,
    config: SimulationConfig,
    *,
    psf: bool,
    knots_rng: np.random.Generator | None,
    combine: bool = False,
) -> dict[str, np.ndarray]:
    """Arm (zero-flux redistribution) and knot images, convolved with the PSF in numpy.

    With ``combine`` the two are summed before one convolution (key ``"arms+knots"``).
    """
    out: dict[str, np.ndarray] = {}
    smooth_flux, knot_flux = comp.disk_flux(params)
    if (params.n_arms == 0 and params.n_knots == 0) or smooth_flux + knot_flux <= 0:
        return out
    light = comp.disk_light(params, smooth_flux)
    if params.n_arms and smooth_flux > 0:
        modulated = light * comp.arm_modulation(params, sharpness=config.arms.sharpness)
        modulated *= light.sum() / modulated.sum()
        out["arms"] = modulated - light
        light = modulated
    if params.n_knots:
        rng = (
            knots_rng
            if knots_rng is not None
            else galaxy_stream(params.seed, params.index, "knots")
        )
        out["knots"] = comp.knot_image(light, params.n_knots, knot_flux, rng)
    if combine:
        out = {"arms+knots": sum(out.values())}  # type: ignore[dict-item]
    if psf:
        out = {k: comp.convolve_psf(v, params) for k, v in out.items()}
    return out


def draw_components(
    params: GalaxyParameters,
    config: SimulationConfig,
    *,
    psf: bool = True,
    knots_rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Noiseless ``(H, W)`` float64 images (counts) of every component of a galaxy.

    Parameters
    ----------
    params
        The galaxy (from :func:`galaxy_xai.simulate.truth.draw_parameters`).
    config
        The configuration it was drawn with (bar profile, arm sharpness).
    psf
        Convolve with the PSF (True) or sample the bare profiles at pixel centres
        (False: exact supports, e.g. to measure the bar's end-to-end extent).
    knots_rng
        Generator of the knot positions; default the galaxy's own knot stream.

    Returns
    -------
    dict
        :data:`COMPONENT_NAMES` -> image. ``bulge``, ``disk`` (smooth), ``knots`` and
        ``bar`` carry B/T, the smooth-disk, knot and bar fluxes (less what falls off
        the stamp); ``arms`` has zero total flux (it redistributes disk light).
    """
    shape = (params.size_px, params.size_px)
    out = {name: np.zeros(shape) for name in COMPONENT_NAMES}
    for name, profile in _profiles(params, config).items():
        out[name] = _draw(profile, params, psf=psf)
    out.update(_arms_and_knots(params, config, psf=psf, knots_rng=knots_rng))
    return out


def _galaxy_and_contaminants(
    params: GalaxyParameters, config: SimulationConfig, knots_rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """The galaxy drawn in one GalSim FFT (plus numpy arms/knots), and contaminants."""
    profiles = _profiles(params, config)
    contaminants = profiles.pop("contaminants", None)
    parts = list(profiles.values())
    galaxy = _draw(parts[0] if len(parts) == 1 else galsim.Add(parts), params, psf=True)
    extra = _arms_and_knots(params, config, psf=True, knots_rng=knots_rng, combine=True)
    for image in extra.values():
        galaxy += image
    other = None if contaminants is None else _draw(contaminants, params, psf=True)
    return galaxy, other


def band_factors(colour: tuple[float, float]) -> np.ndarray:
    """Flux in the (blue, green, red) bands relative to green for (g-r, r-i) colours."""
    g_r, r_i = colour
    return np.array([10 ** (-0.4 * g_r), 1.0, 10 ** (0.4 * r_i)])


#: Change of r-i per magnitude of g-r in the colour scatter of galaxies. Calibrated on
#: the calibration half of the GZ1 colour cutouts: their centre B/G (g) varies 2.5x more
#: from galaxy to galaxy than R/G (i); the galaxy locus alone would give ~0.4-0.5.
R_I_PER_G_R = 0.2


def _shifted(colour: tuple[float, float], offset_mag: float) -> tuple[float, float]:
    """(g-r, r-i) moved by ``offset_mag`` in g-r and :data:`R_I_PER_G_R` of it in r-i."""
    return (colour[0] + offset_mag, colour[1] + R_I_PER_G_R * offset_mag)


def _colours(config: SimulationConfig, params: GalaxyParameters) -> dict[str, np.ndarray]:
    """Band factors of each galaxy component (its drawn colour offsets applied)."""
    bulge, disk = params.bulge_colour_offset_mag, params.disk_colour_offset_mag
    return {
        "bulge": band_factors(_shifted(config.bulge.colour, bulge)),
        "disk": band_factors(_shifted(config.disk.colour, disk)),
        "arms": band_factors(_shifted(config.arms.colour, disk)),
        "knots": band_factors(_shifted(config.knots.colour, disk)),
        "bar": band_factors(_shifted(config.bar.colour, disk)),
        "lens": band_factors(_shifted(config.bar.colour, disk)),
    }


def _contaminant_bands(params: GalaxyParameters) -> np.ndarray | None:
    """``(3, H, W)`` PSF-convolved contaminants in (blue, green, red), each its colour."""
    if not params.contaminants:
        return None
    profiles = [comp.contaminant_profiles(params, band=k) for k in range(3)]
    return np.stack([_draw(prof, params, psf=True) for prof in profiles if prof is not None])


def _band_noise(
    bands: np.ndarray, sky: np.ndarray, config: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    """The three bands with noise: independent per band, then a shared part mixed in.

    A share ``jpeg.band_noise_correlation`` of each band's noise variance is a field
    common to the bands (drawn after the three, so that files without it are
    unchanged), then each band's noise is scaled by ``jpeg.band_noise_scales``.
    """
    noisy = np.stack([_add_noise(bands[k], sky[k], config, rng) for k in range(3)])
    jpeg = config.jpeg
    if jpeg.band_noise_correlation == 0 and jpeg.band_noise_scales == (1.0, 1.0, 1.0):
        return noisy
    noise = noisy - bands
    rho = jpeg.band_noise_correlation
    if rho > 0:
        survey = config.survey_config
        gain = survey.gain_e_per_adu
        sigma = np.sqrt(sky / gain + (survey.read_noise_e / gain) ** 2)  # counts, per band
        common = rng.standard_normal(bands.shape[1:])
        if config.noise_correlation_px > 0:
            common = correlate_noise(common, config.noise_correlation_px)
        noise = math.sqrt(1 - rho) * noise + math.sqrt(rho) * sigma[:, None, None] * common
    return bands + noise * np.asarray(jpeg.band_noise_scales)[:, None, None]


def offset_bands(bands: np.ndarray, params: GalaxyParameters, rms_arcsec: float) -> np.ndarray:
    """The (blue, green, red) noiseless ``bands`` with blue and red moved off the green.

    Each of the two bands moves by a Gaussian offset of ``rms_arcsec`` per axis, drawn
    from the galaxy's own ``band_offset`` stream (so other draws are unchanged), with
    a cubic spline (the light is band-limited by the PSF); edges repeat the last pixel.
    """
    from scipy.ndimage import shift

    rng = galaxy_stream(params.seed, params.index, "band_offset")
    offsets_px = rng.normal(0.0, rms_arcsec / params.pixel_scale_arcsec, size=(2, 2))
    out = bands.copy()
    for band, offset in zip((0, 2), offsets_px, strict=True):
        out[band] = shift(bands[band], offset, order=3, mode="nearest")
    return out


def snr_of(galaxy: np.ndarray, params: GalaxyParameters, config: SimulationConfig) -> float:
    """Matched-filter S/N of a noiseless counts image: sqrt(sum(I^2 / variance))."""
    survey = config.survey_config
    gain = survey.gain_e_per_adu
    variance = (np.clip(galaxy, 0, None) + params.sky_level_counts) / gain + (
        survey.read_noise_e / gain
    ) ** 2
    return float(np.sqrt(np.sum(galaxy**2 / variance)))


def _add_noise(
    image: np.ndarray, sky_level: float, config: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    """Poisson (galaxy + sky) and Gaussian read noise, in counts, sky subtracted.

    Pixels expecting more than 50 electrons use the Gaussian limit of the Poisson
    distribution (the sky alone gives ~300-800 e- per pixel in every preset).
    """
    survey = config.survey_config
    gain = survey.gain_e_per_adu
    expected = np.clip(image + sky_level, 0, None) * gain  # electrons
    electrons = expected + np.sqrt(expected) * rng.standard_normal(image.shape)
    low = expected < 50.0
    if low.any():
        electrons[low] = rng.poisson(expected[low])
    if survey.read_noise_e > 0:
        electrons += rng.normal(0.0, survey.read_noise_e, image.shape)
    noisy = electrons / gain - sky_level
    if config.noise_correlation_px > 0:
        noisy = image + correlate_noise(noisy - image, config.noise_correlation_px)
    return noisy


def correlate_noise(noise: np.ndarray, sigma_px: float) -> np.ndarray:
    """``noise`` smoothed by a Gaussian of ``sigma_px`` at the same per-pixel variance.

    White noise of unit variance filtered by a kernel ``k`` has variance ``sum(k**2)``;
    dividing by its square root keeps the noise level and widens only its grain
    (neighbour correlation ``exp(-1 / (4 sigma**2))`` for a wide Gaussian).
    """
    from scipy.ndimage import gaussian_filter

    half = int(np.ceil(4 * sigma_px))  # gaussian_filter truncates at 4 sigma
    delta = np.zeros((2 * half + 1, 2 * half + 1))
    delta[half, half] = 1.0
    norm = float(np.sqrt(np.sum(gaussian_filter(delta, sigma_px, mode="constant") ** 2)))
    return gaussian_filter(noise, sigma_px, mode="reflect") / norm


def to_jpeg(
    bands: np.ndarray,
    *,
    stretch: float,
    q: float,
    quality: int | None,
    minimum: float | np.ndarray = 0.0,
    compress_size_px: int | None = None,
) -> np.ndarray:
    """Galaxy Zoo-like 8-bit image of ``(C, H, W)`` counts, returned ``(C, H, W)`` uint8.

    ``C`` is 1 (gray) or 3 (blue, green, red bands, returned as R, G, B channels).
    The Lupton et al. (2004) asinh mapping of
    :func:`astropy.visualization.make_lupton_rgb` (``minimum`` counts map to black, 0 by
    default; one number, or one per band in the bands' order; ``stretch`` in counts is
    its linear stretch, Q its softening) is followed, if ``quality`` is given, by a JPEG
    encode/decode round trip at that quality: at ``compress_size_px`` if given
    (resampled there bilinearly and back with Lanczos), else at the image's own size.
    """
    from astropy.visualization import make_lupton_rgb
    from PIL import Image

    red, green, blue = (bands[0], bands[0], bands[0]) if bands.shape[0] == 1 else bands[::-1]
    low = np.broadcast_to(np.asarray(minimum, dtype=float), (3,))[::-1]  # as R, G, B
    rgb = make_lupton_rgb(red, green, blue, minimum=list(low), stretch=stretch, Q=q)  # (H, W, 3)
    out = np.moveaxis(rgb[..., :1] if bands.shape[0] == 1 else rgb, -1, 0)
    if quality is None:
        return out
    mode = "L" if out.shape[0] == 1 else "RGB"
    buffer = io.BytesIO()
    pixels = out[0] if mode == "L" else np.ascontiguousarray(np.moveaxis(out, 0, -1))
    image = Image.fromarray(pixels, mode=mode)
    size = image.size
    if compress_size_px is not None and compress_size_px != size[0]:
        image = image.resize((compress_size_px, compress_size_px), Image.Resampling.BILINEAR)
    image.save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        back = decoded.convert(mode)
        if back.size != size:
            back = back.resize(size, Image.Resampling.LANCZOS)
        array = np.asarray(back, dtype=np.uint8)
    return array[None] if mode == "L" else np.moveaxis(array, -1, 0)


def _importer_stretch(counts: np.ndarray) -> np.ndarray:
    """Counts through the asinh stretch of ``data import`` (its default settings)."""
    from galaxy_xai.data.preprocess import Preprocess, asinh_stretch

    prep = Preprocess()
    return asinh_stretch(counts, a=prep.asinh_a, percentile=prep.percentile)


def native_size_px(params: GalaxyParameters, config: SimulationConfig) -> int | None:
    """Side of the stamp at ``jpeg.native_pixel_scale_arcsec`` (None when unset).

    At least 8 px and at most 8x the stamp, so that a tiny native scale cannot make the
    compressed image huge.
    """
    native = config.jpeg.native_pixel_scale_arcsec
    if native is None:
        return None
    side = round(params.size_px * params.pixel_scale_arcsec / native)
    return int(min(max(side, 8), 8 * params.size_px))


def render_galaxy(params: GalaxyParameters, config: SimulationConfig) -> tuple[np.ndarray, float]:
    """The final image of one galaxy and its S/N.

    Returns
    -------
    image : numpy.ndarray
        ``(C, H, W)``: float32 counts for ``rendering="counts"``, float32 in [0, 1]
        for ``"asinh"``, uint8 otherwise.
    snr : float
        Matched-filter S/N of the galaxy (contaminants excluded) in the reference band.
    """
    knots_rng = galaxy_stream(params.seed, params.index, "knots")
    noise_rng = galaxy_stream(params.seed, params.index, "noise")
    survey = config.survey_config
    if config.rendering == "jpeg-rgb":
        # contaminants are drawn per band below, each in its own colour
        without = dataclasses.replace(params, contaminants=())
        parts = draw_components(without, config, knots_rng=knots_rng)
        # draw_components returns every component, so the sum is an array, never ``0``.
        galaxy = cast(np.ndarray, sum(parts.values()))
        snr = snr_of(galaxy, params, config)
        colours = _colours(config, params)
        sky = (
            10.0 ** (-0.4 * (np.asarray(survey.colour_sky_mag_per_arcsec2) - survey.zero_point_mag))
            * params.pixel_scale_arcsec**2
        )
        bands = np.zeros((3, *galaxy.shape))
        for name, image in parts.items():
            if image.any():
                bands += colours[name][:, None, None] * image[None]
        contaminants = _contaminant_bands(params)
        if contaminants is not None:
            bands += contaminants
        if config.jpeg.band_offset_arcsec > 0:
            bands = offset_bands(bands, params, config.jpeg.band_offset_arcsec)
        bands = np.clip(bands, 0, None)
        if config.noise:
            bands = _band_noise(bands, sky, config, noise_rng)
        scales = np.asarray(config.jpeg.colour_scales)[:, None, None]
        return to_jpeg(
            bands * scales,
            stretch=config.jpeg.stretch_sigma * params.sky_sigma_counts,
            q=config.jpeg.q,
            quality=config.jpeg.quality,
            minimum=-config.jpeg.sky_offset_sigma
            * params.sky_sigma_counts
            * np.asarray(config.jpeg.band_sky_offset_scales),
            compress_size_px=native_size_px(params, config),
        ), snr
    galaxy, contaminants = _galaxy_and_contaminants(params, config, knots_rng)
    snr = snr_of(galaxy, params, config)
    image = galaxy if contaminants is None else galaxy + contaminants
    if config.noise:
        image = _add_noise(image, params.sky_level_counts, config, noise_rng)
    if config.rendering == "counts":
        return image[None].astype(np.float32), snr
    if config.rendering == "asinh":
        return _importer_stretch(image[None]), snr
    return to_jpeg(
        image[None],
        stretch=config.jpeg.stretch_sigma * params.sky_sigma_counts,
        q=config.jpeg.q,
        quality=config.jpeg.quality,
        minimum=-config.jpeg.sky_offset_sigma * params.sky_sigma_counts,
    ), snr
