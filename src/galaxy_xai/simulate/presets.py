"""Survey presets: pixel scale, PSF, noise model, zero point, magnitude and size ranges.

Counts are ADU for sdss and electrons (gain 1) for candels and decals. The zero point
is the magnitude of a source giving one count in the whole exposure, so a galaxy of
magnitude m has ``10 ** (-0.4 * (m - zero_point_mag))`` counts. Values are typical,
rounded survey numbers (sources beside each), not a model of any particular field;
override any of them under ``survey:`` in a config file.
"""

from __future__ import annotations

from galaxy_xai.errors import ParameterError
from galaxy_xai.simulate.config import Distribution, SurveyConfig

__all__ = ["PRESET_NAMES", "get_preset"]


def _sdss() -> SurveyConfig:
    return SurveyConfig(
        name="sdss",
        band="r",
        # Pixel scale of the SDSS camera (Gunn et al. 1998, AJ 116, 3040).
        pixel_scale_arcsec=0.396,
        # Median r-band seeing ~1.3-1.4 arcsec (Stoughton et al. 2002, AJ 123, 485;
        # Abazajian et al. 2009, ApJS 182, 543); spread 0.2 arcsec, 1.0-2.0 kept.
        psf_fwhm_arcsec=Distribution(kind="normal", mean=1.4, sigma=0.2, low=1.0, high=2.0),
        # Atmospheric PSFs are Moffats with beta ~3-5 (Trujillo et al. 2001, MNRAS 328, 977).
        psf_moffat_beta=3.5,
        # r: m = -2.5 log10(counts / 53.907 s) + 24.1 (aa ~ -24.1, Stoughton et al. 2002)
        # -> zero point for total counts 24.1 + 2.5 log10(53.907) = 28.43.
        zero_point_mag=28.43,
        # CCD gain ~4.6-4.9 e-/ADU in r and read noise (dark variance) of a few e-
        # (Stoughton et al. 2002, table of camera properties).
        gain_e_per_adu=4.7,
        read_noise_e=5.0,
        # Dark-sky surface brightness g 21.8, r 20.8, i 20.3 mag/arcsec^2 (SDSS
        # imaging quality summaries; Stoughton et al. 2002).
        sky_mag_per_arcsec2=20.8,
        colour_sky_mag_per_arcsec2=(21.8, 20.8, 20.3),
        # Main galaxy sample: Petrosian r <= 17.77 (Strauss et al. 2002, AJ 124, 1810);
        # Galaxy Zoo's brightest galaxies are r ~ 14.
        magnitude=Distribution(kind="uniform", low=14.0, high=17.77),
        # Half-light radii of main-sample disks ~2-4 arcsec (R50 ~ 3-5 kpc at z ~ 0.1,
        # Shen et al. 2003, MNRAS 343, 978).
        disk_half_light_radius_arcsec=Distribution(
            kind="lognormal", mean=3.0, sigma=0.4, low=1.0, high=10.0
        ),
    )


def _candels() -> SurveyConfig:
    return SurveyConfig(
        name="candels",
        band="F160W",
        # Drizzled CANDELS mosaics (Koekemoer et al. 2011, ApJS 197, 36).
        pixel_scale_arcsec=0.06,
        # WFC3/IR F160W PSF FWHM ~0.18 arcsec (van der Wel et al. 2012, ApJS 203, 24).
        psf_fwhm_arcsec=Distribution(kind="uniform", low=0.17, high=0.19),
        psf_moffat_beta=2.5,
        # F160W AB zero point 25.94 for 1 e-/s (WFC3 Instrument Handbook) and ~3 ks, the
        # CANDELS-wide depth (Grogin et al. 2011, ApJS 197, 35): 25.94 + 2.5 log10(3000).
        zero_point_mag=34.63,
        gain_e_per_adu=1.0,
        # Effective read noise of a few combined WFC3/IR exposures.
        read_noise_e=20.0,
        # Zodiacal background ~22.3 mag/arcsec^2 in F160W (WFC3 Instrument Handbook);
        # colour bands F606W, F125W, F160W.
        sky_mag_per_arcsec2=22.3,
        colour_sky_mag_per_arcsec2=(22.9, 22.5, 22.3),
        # Sizes are reliable to H ~ 24.5 (van der Wel et al. 2012).
        magnitude=Distribution(kind="uniform", low=20.0, high=24.5),
        # Disks at z ~ 1 have R_e ~ 3-5 kpc, ~0.4-0.6 arcsec (van der Wel et al. 2014,
        # ApJ 788, 28).
        disk_half_light_radius_arcsec=Distribution(
            kind="lognormal", mean=0.45, sigma=0.5, low=0.15, high=2.5
        ),
    )


def _decals() -> SurveyConfig:
    return SurveyConfig(
        name="decals",
        band="r",
        # DECam pixel scale (Dey et al. 2019, AJ 157, 168).
        pixel_scale_arcsec=0.262,
        # DECaLS r-band seeing ~1.2-1.3 arcsec (Dey et al. 2019).
        psf_fwhm_arcsec=Distribution(kind="normal", mean=1.25, sigma=0.2, low=0.9, high=2.0),
        psf_moffat_beta=3.5,
        # DECam r zero point ~25.2 AB for 1 e-/s and ~90 s exposures (Dey et al. 2019):
        # 25.2 + 2.5 log10(90) = 30.09.
        zero_point_mag=30.09,
        gain_e_per_adu=1.0,
        read_noise_e=7.0,
        # Dark sky at CTIO: g 22.0, r 21.0, z 19.9 mag/arcsec^2 (DECam exposure-time
        # calculator values quoted in Dey et al. 2019); colour bands g, r, z.
        sky_mag_per_arcsec2=21.0,
        colour_sky_mag_per_arcsec2=(22.0, 21.0, 19.9),
        # Galaxy Zoo DECaLS selection extends to r ~ 19 (Walmsley et al. 2022, MNRAS 509, 3966).
        magnitude=Distribution(kind="uniform", low=14.0, high=19.0),
        disk_half_light_radius_arcsec=Distribution(
            kind="lognormal", mean=2.5, sigma=0.45, low=0.8, high=10.0
        ),
    )


_PRESETS = {"sdss": _sdss, "candels": _candels, "decals": _decals}
#: Names of the built-in survey presets.
PRESET_NAMES = tuple(_PRESETS)


def get_preset(name: str) -> SurveyConfig:
    """The :class:`SurveyConfig` of a preset.

    Raises
    ------
    ParameterError
        If ``name`` is not one of :data:`PRESET_NAMES`.
    """
    try:
        return _PRESETS[name]()
    except (KeyError, TypeError):
        raise ParameterError(
            "preset", name, f"unknown survey preset; choose one of {', '.join(PRESET_NAMES)}"
        ) from None
