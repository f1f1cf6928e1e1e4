"""Configuration of the simulation suite: frozen dataclasses, loadable from YAML/TOML.

Every drawn quantity is a :class:`Distribution`. In a config file a distribution is
written as a number (fixed), a two-element list ``[low, high]`` (uniform) or a mapping
(``{kind: lognormal, mean: 3.0, sigma: 0.4, low: 1.0, high: 10.0}``). Unknown keys are
rejected by :func:`galaxy_xai.config.load_config`.

The survey block (pixel scale, PSF, noise, zero point, magnitude and size
distributions) starts from the named preset (:mod:`galaxy_xai.simulate.presets`);
keys given under ``survey:`` override the preset's values one by one.

Example YAML::

    preset: sdss
    size: 128
    bar_fraction: 0.5
    survey: {psf_fwhm_arcsec: 1.2}
    bulge: {sersic_n: 4}
    arms: {probability: 1.0, pitch_angle_deg: [10, 20]}
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import statistics
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from galaxy_xai.errors import ConfigError, ParameterError

__all__ = [
    "FRAME_RADII",
    "FRAMINGS",
    "RENDERINGS",
    "ArmsConfig",
    "BarConfig",
    "BulgeConfig",
    "ContaminantsConfig",
    "DiskConfig",
    "Distribution",
    "JpegConfig",
    "KnotsConfig",
    "SimulationConfig",
    "SurveyConfig",
    "load_simulation_config",
]

#: Rendering modes: linear counts (like FITS cutouts), or Galaxy Zoo-like 8-bit images.
Rendering = Literal["jpeg-gray", "jpeg-rgb", "counts", "asinh"]
RENDERINGS: tuple[str, ...] = typing.get_args(Rendering)
#: Stamp framing: the survey pixel scale, or a stamp scaled to the galaxy's R90.
Framing = Literal["fixed", "relative"]
FRAMINGS: tuple[str, ...] = typing.get_args(Framing)
#: What relative framing scales by: the radius holding 90% of the light, or SDSS's
#: Petrosian R90 (``petroR90_r``, by which Galaxy Zoo cutouts were scaled).
FrameRadius = Literal["true_r90", "petrosian_r90"]
FRAME_RADII: tuple[str, ...] = typing.get_args(FrameRadius)

DistLike = Any  # a Distribution, a number (fixed) or a [low, high] pair (uniform)


# --------------------------------------------------------------------------- distribution
@dataclass(frozen=True)
class Distribution:
    """A one-dimensional distribution, sampled by inverse CDF from one uniform number.

    Parameters
    ----------
    kind
        ``"fixed"`` (always ``value``), ``"uniform"`` / ``"loguniform"`` on
        ``[low, high]``, ``"normal"`` (``mean``, ``sigma``) or ``"lognormal"`` (median
        ``mean``, ``sigma`` of the natural log), both truncated to ``[low, high]``.
    low, high
        Bounds (inclusive) of the support.
    mean, sigma
        Location and width of the normal and lognormal kinds.
    value
        The value of the fixed kind.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite.
    ConfigError
        If ``low`` > ``high``; ``low`` <= 0 for the log kinds; ``sigma`` <= 0 for the
        normal kinds; or ``mean`` (the median) <= 0 for ``lognormal``. A ``fixed``
        distribution checks only that ``value`` is finite.
    """

    kind: Literal["fixed", "uniform", "loguniform", "normal", "lognormal"] = "uniform"
    low: float = 0.0
    high: float = 1.0
    mean: float = 0.0
    sigma: float = 1.0
    value: float = 0.0

    def __post_init__(self) -> None:
        _check_finite(self, "")
        if self.kind == "fixed":
            return
        if not self.low <= self.high:
            raise ConfigError(
                f"distribution bounds need low <= high, found [{self.low}, {self.high}]"
            )
        if self.kind in ("loguniform", "lognormal") and self.low <= 0:
            raise ConfigError(f"a {self.kind} distribution needs low > 0, found {self.low}")
        if self.kind in ("normal", "lognormal") and self.sigma <= 0:
            raise ConfigError(f"a {self.kind} distribution needs sigma > 0, found {self.sigma}")
        if self.kind == "lognormal" and self.mean <= 0:
            raise ConfigError(
                f"a lognormal distribution needs a median mean > 0, found {self.mean}"
            )

    @property
    def support(self) -> tuple[float, float]:
        """The smallest and largest value this distribution can return."""
        if self.kind == "fixed":
            return (self.value, self.value)
        return (self.low, self.high)

    def sample(self, u: float, *, upper: float | None = None) -> float:
        """The value at quantile ``u`` in [0, 1), optionally truncated at ``upper``.

        One uniform number per draw keeps every parameter on its own fixed random
        stream, whatever other options are switched on.
        """
        if self.kind == "fixed":
            return self.value
        low, high = self.low, self.high if upper is None else min(self.high, upper)
        if high < low:
            high = low
        if self.kind == "uniform":
            return low + u * (high - low)
        if self.kind == "loguniform":
            return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        if self.kind == "normal":
            dist = statistics.NormalDist(self.mean, self.sigma)
            lo_p, hi_p = dist.cdf(low), dist.cdf(high)
            p = lo_p + u * (hi_p - lo_p)
            return min(max(dist.inv_cdf(min(max(p, 1e-15), 1 - 1e-15)), low), high)
        dist = statistics.NormalDist(math.log(self.mean), self.sigma)  # lognormal
        lo_p, hi_p = dist.cdf(math.log(low)), dist.cdf(math.log(high))
        p = lo_p + u * (hi_p - lo_p)
        return min(max(math.exp(dist.inv_cdf(min(max(p, 1e-15), 1 - 1e-15))), low), high)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _not_finite(value: Any) -> bool:
    """True for a NaN or infinite real number (or an integer too large for a float)."""
    if not _is_number(value):
        return False
    try:
        return not math.isfinite(value)
    except OverflowError:
        return True


def _check_finite(obj: Any, prefix: str) -> None:
    """Raise :class:`ParameterError` for a NaN or infinite number in any field of ``obj``.

    Walks every dataclass field: numbers and tuples/lists of numbers are checked here;
    distributions and nested config blocks check themselves when they are built.
    """
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        items = value if isinstance(value, list | tuple) else (value,)
        if any(_not_finite(v) for v in items):
            name = f"{prefix}.{f.name}" if prefix else f.name
            raise ParameterError(name, value, "must be finite")


def as_distribution(value: DistLike, name: str) -> Distribution:
    """Turn a number, a ``[low, high]`` pair or a mapping into a :class:`Distribution`.

    Raises
    ------
    ParameterError
        On a NaN or infinite number, or impossible bounds, naming ``name`` (and the
        key of a mapping, e.g. ``survey.psf_fwhm_arcsec.mean``).
    ConfigError
        On a value of the wrong type or an unknown key.
    """
    if isinstance(value, Distribution):
        return value
    shape_error = f"{name}: expected a number, [low, high] or a mapping, found {value!r}"
    if _is_number(value):
        if _not_finite(value):
            raise ParameterError(name, value, "must be finite")
        return _named_distribution(name, {"kind": "fixed", "value": float(value)})
    if isinstance(value, list | tuple) and len(value) == 2:
        if not all(_is_number(v) for v in value):
            raise ConfigError(shape_error)
        if any(_not_finite(v) for v in value):
            raise ParameterError(name, list(value), "must be finite")
        low, high = (float(v) for v in value)
        return _named_distribution(name, {"kind": "uniform", "low": low, "high": high})
    if isinstance(value, Mapping):
        return _named_distribution(name, value)
    raise ConfigError(shape_error)


def _named_distribution(name: str, mapping: Mapping[str, Any]) -> Distribution:
    """Build a :class:`Distribution` from a mapping; errors name the field ``name``."""
    from galaxy_xai.config import load_config

    try:
        return load_config(Distribution, mapping)
    except ConfigError as exc:
        cause = exc.__cause__
        if isinstance(cause, ParameterError):  # e.g. mean=nan -> <name>.mean=nan
            raise ParameterError(f"{name}.{cause.name}", cause.value, cause.reason) from None
        message = str(cause if isinstance(cause, ConfigError) else exc)
        raise ConfigError(f"{name}: {message.removeprefix('Distribution: ')}") from None


def _uniform(low: float, high: float) -> Distribution:
    return Distribution(kind="uniform", low=low, high=high)


def _fixed(value: float) -> Distribution:
    return Distribution(kind="fixed", value=value)


def _normalise_distributions(obj: Any, prefix: str) -> None:
    """Convert every field annotated as a distribution into a :class:`Distribution`,
    then refuse NaN or infinite numbers in any field (see :func:`_check_finite`)."""
    for f in dataclasses.fields(obj):
        if f.metadata.get("distribution"):
            object.__setattr__(
                obj, f.name, as_distribution(getattr(obj, f.name), f"{prefix}.{f.name}")
            )
    _check_finite(obj, prefix)


_DIST = {"distribution": True}  # marks fields that take a Distribution (or shorthand)


def _check(
    name: str,
    dist: Distribution,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    what: str = "",
) -> None:
    """Raise :class:`ParameterError` if the support of ``dist`` leaves [low, high]."""
    lo, hi = dist.support
    for value in (lo, hi):
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            bound = f"{'>' if low_open else '>='} {low}" if too_low else f"<= {high}"
            raise ParameterError(name, value, f"must be {bound}{f' ({what})' if what else ''}")


def _check_scatter(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ParameterError(name, value, "must lie in [0, 1] mag")


def _check_colour(name: str, colour: tuple[float, float]) -> None:
    if len(colour) != 2 or not all(math.isfinite(c) for c in colour):
        raise ParameterError(name, colour, "must be two finite colours (g-r, r-i) in mag")


def _check_per_band(name: str, values: tuple[float, ...], high: float) -> None:
    if len(values) != 3 or not all(0 <= v <= high for v in values):
        raise ParameterError(name, values, f"must be three numbers in [0, {high:g}]")


# --------------------------------------------------------------------------- survey
@dataclass(frozen=True)
class SurveyConfig:
    """Instrument, noise and population of one survey (defaults: the ``sdss`` preset).

    Parameters
    ----------
    name
        Survey name recorded in the catalogue (``preset`` column).
    band
        Reference band of the counts images and of ``magnitude``.
    pixel_scale_arcsec
        Detector pixel scale (arcsec/pixel), used with ``framing="fixed"``.
    psf_fwhm_arcsec
        Distribution of the Moffat PSF FWHM (arcsec), drawn per galaxy.
    psf_moffat_beta
        Moffat beta of the PSF.
    zero_point_mag
        Magnitude of a source giving 1 count (ADU) in the whole exposure.
    gain_e_per_adu
        Electrons per count (sets the Poisson noise).
    read_noise_e
        Read noise per pixel (electrons).
    sky_mag_per_arcsec2
        Sky surface brightness in the reference band (mag/arcsec^2).
    colour_sky_mag_per_arcsec2
        Sky surface brightness in the three colour bands (blue, green, red) of
        ``rendering="jpeg-rgb"`` (for sdss: g, r, i).
    magnitude
        Distribution of the galaxy's total magnitude in ``band``.
    disk_half_light_radius_arcsec
        Distribution of the disk half-light radius (arcsec), which sets the galaxy size.
    psf_library
        Path of a PSF library file (:mod:`galaxy_xai.simulate.psf_library`): each
        galaxy gets one of its real PSF images, drawn at random, instead of the Moffat
        of ``psf_fwhm_arcsec`` / ``psf_moffat_beta``. None (default): the Moffat.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``pixel_scale_arcsec`` or ``gain_e_per_adu``
        <= 0, ``psf_moffat_beta`` <= 1.1, ``read_noise_e`` < 0,
        ``colour_sky_mag_per_arcsec2`` does not hold three values, the PSF FWHM or
        disk radius distribution reaches 0 or below, or ``psf_library`` is not a
        non-empty path.
    DataMissingError, DataFormatError
        If the ``psf_library`` file is missing or malformed (one line naming it).
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    name: str = "sdss"
    band: str = "r"
    pixel_scale_arcsec: float = 0.396
    psf_fwhm_arcsec: DistLike = field(default=_fixed(1.4), metadata=_DIST)
    psf_moffat_beta: float = 3.5
    zero_point_mag: float = 28.43
    gain_e_per_adu: float = 4.7
    read_noise_e: float = 5.0
    sky_mag_per_arcsec2: float = 20.9
    colour_sky_mag_per_arcsec2: tuple[float, float, float] = (21.9, 20.9, 20.2)
    magnitude: DistLike = field(default=_uniform(14.0, 17.77), metadata=_DIST)
    disk_half_light_radius_arcsec: DistLike = field(default=_uniform(1.5, 8.0), metadata=_DIST)
    psf_library: str | None = None

    def __post_init__(self) -> None:
        _normalise_distributions(self, "survey")
        if self.psf_library is not None:
            if isinstance(self.psf_library, os.PathLike):
                object.__setattr__(self, "psf_library", os.fspath(self.psf_library))
            if not isinstance(self.psf_library, str) or not self.psf_library.strip():
                raise ParameterError(
                    "survey.psf_library", self.psf_library, "must be the path of a PSF library file"
                )
            from galaxy_xai.data.psf_library import read_psf_library

            read_psf_library(self.psf_library)
        if not self.pixel_scale_arcsec > 0:
            raise ParameterError(
                "survey.pixel_scale_arcsec", self.pixel_scale_arcsec, "must be > 0"
            )
        _check("survey.psf_fwhm_arcsec", self.psf_fwhm_arcsec, low=0, low_open=True)
        if not self.psf_moffat_beta > 1.1:
            raise ParameterError(
                "survey.psf_moffat_beta", self.psf_moffat_beta, "must be > 1.1 (GalSim Moffat)"
            )
        if not self.gain_e_per_adu > 0:
            raise ParameterError("survey.gain_e_per_adu", self.gain_e_per_adu, "must be > 0")
        if not self.read_noise_e >= 0:
            raise ParameterError("survey.read_noise_e", self.read_noise_e, "must be >= 0")
        if len(self.colour_sky_mag_per_arcsec2) != 3:
            raise ParameterError(
                "survey.colour_sky_mag_per_arcsec2",
                self.colour_sky_mag_per_arcsec2,
                "needs three values (blue, green, red band)",
            )
        _check(
            "survey.disk_half_light_radius_arcsec",
            self.disk_half_light_radius_arcsec,
            low=0,
            low_open=True,
            what="a radius",
        )


# --------------------------------------------------------------------------- components
@dataclass(frozen=True)
class BulgeConfig:
    """The Sersic bulge.

    Parameters
    ----------
    enabled
        Draw a bulge at all (False: B/T = 0 for every galaxy).
    bulge_to_total
        B/T flux ratio. GaMorNet's simulations drew B/T uniformly in [0, 1]
        (Ghosh et al. 2020, ApJ 895, 112).
    sersic_n
        Sersic index (GaMorNet used n = 4; classical bulges ~2-6, pseudo-bulges ~1-2,
        Fisher & Drory 2008, AJ 136, 773).
    sersic_n_step
        The drawn index is rounded to this grid so that GalSim's per-index Sersic
        tables are reused (each new index costs ~0.1 s once per process); 0 disables.
    half_light_radius_ratio
        Bulge half-light radius over the disk half-light radius (bulge r_e ~0.1-0.5 of
        the disk's, e.g. Gadotti 2009, MNRAS 393, 1531).
    axis_ratio
        Apparent axis ratio b/a of the bulge, in (0, 1].
    colour
        (g-r, r-i) colour in mag, used by ``rendering="jpeg-rgb"`` (red, old stars).
    colour_scatter_mag
        Galaxy-to-galaxy scatter (Gaussian sigma, mag) of the bulge's g-r; r-i moves by
        half as much, along the stellar locus. 0 (default): every bulge has ``colour``.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``bulge_to_total`` leaves [0, 1], ``sersic_n``
        leaves GalSim's [0.3, 6.2], ``sersic_n_step`` < 0, ``half_light_radius_ratio``
        reaches 0, ``axis_ratio`` leaves (0, 1], ``colour`` is not two finite numbers,
        or ``colour_scatter_mag`` is not in [0, 1].
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    enabled: bool = True
    bulge_to_total: DistLike = field(default=_uniform(0.0, 1.0), metadata=_DIST)
    sersic_n: DistLike = field(default=_uniform(1.5, 6.0), metadata=_DIST)
    sersic_n_step: float = 0.25
    half_light_radius_ratio: DistLike = field(default=_uniform(0.1, 0.5), metadata=_DIST)
    axis_ratio: DistLike = field(default=_uniform(0.6, 1.0), metadata=_DIST)
    colour: tuple[float, float] = (0.75, 0.40)
    colour_scatter_mag: float = 0.0

    def __post_init__(self) -> None:
        _normalise_distributions(self, "bulge")
        _check_scatter("bulge.colour_scatter_mag", self.colour_scatter_mag)
        _check("bulge.bulge_to_total", self.bulge_to_total, low=0.0, high=1.0)
        _check("bulge.sersic_n", self.sersic_n, low=0.3, high=6.2, what="GalSim's Sersic range")
        if self.sersic_n_step < 0:
            raise ParameterError("bulge.sersic_n_step", self.sersic_n_step, "must be >= 0")
        _check(
            "bulge.half_light_radius_ratio",
            self.half_light_radius_ratio,
            low=0,
            low_open=True,
            what="a radius",
        )
        _check("bulge.axis_ratio", self.axis_ratio, low=0, high=1, low_open=True)
        _check_colour("bulge.colour", self.colour)


@dataclass(frozen=True)
class DiskConfig:
    """The exponential disk (its size distribution is in the survey block).

    Parameters
    ----------
    enabled
        Draw a disk at all (False: pure bulges, B/T = 1, no bar, arms or knots).
    cos_inclination
        cos(i); uniform in cos(i) is an isotropic orientation. The default stops at
        i ~ 78 deg, beyond which bars and arms cannot be seen.
    intrinsic_axis_ratio
        Intrinsic thickness q0 of the disk; the apparent axis ratio is
        q^2 = cos^2 i (1 - q0^2) + q0^2 (Hubble 1926, ApJ 64, 321; q0 ~ 0.2,
        e.g. Unterborn & Ryden 2008, ApJ 687, 976).
    colour
        (g-r, r-i) colour in mag (bluer than bulges).
    colour_scatter_mag
        Galaxy-to-galaxy scatter (Gaussian sigma, mag) of the g-r of the disk and of
        what lies in it (bar, arms, knots); r-i moves by half as much. 0: none.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``cos_inclination`` leaves [0, 1],
        ``intrinsic_axis_ratio`` is not in (0, 1], ``colour`` is not two finite
        numbers, or ``colour_scatter_mag`` is not in [0, 1].
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    enabled: bool = True
    cos_inclination: DistLike = field(default=_uniform(0.2, 1.0), metadata=_DIST)
    intrinsic_axis_ratio: float = 0.2
    colour: tuple[float, float] = (0.45, 0.25)
    colour_scatter_mag: float = 0.0

    def __post_init__(self) -> None:
        _normalise_distributions(self, "disk")
        _check_scatter("disk.colour_scatter_mag", self.colour_scatter_mag)
        _check("disk.cos_inclination", self.cos_inclination, low=0.0, high=1.0)
        if not 0 < self.intrinsic_axis_ratio <= 1:
            raise ParameterError(
                "disk.intrinsic_axis_ratio", self.intrinsic_axis_ratio, "must lie in (0, 1]"
            )
        _check_colour("disk.colour", self.colour)


@dataclass(frozen=True)
class BarConfig:
    """The bar: a truncated, flat Sersic profile in the disk plane.

    Its end-to-end length is exactly twice the truncation radius, so ``bar_length_px``
    is the true extent of its light before PSF blurring.

    Parameters
    ----------
    length_to_disk_scale
        Bar semi-major axis over the disk exponential scale length h. Observed bars
        have a_bar/h ~ 0.5-2.5 (Erwin 2005, MNRAS 364, 283), a median near 1
        (Gadotti 2011, MNRAS 415, 3308); we draw 0.5-1.5.
    axis_ratio
        Intrinsic (face-on) axis ratio of the bar, ~0.15-0.4 (Gadotti 2011).
    sersic_n
        Sersic index of the (truncated) bar profile; n < 1 is flat. Gadotti (2009,
        MNRAS 393, 1531) fits bars with n ~ 0.5-1 *untruncated*; a truncated profile
        needs a flatter index (0.3-0.6 here) so that its light stays visible out to the
        truncation radius, like the sharp-ended Ferrers bars of N-body models. With
        n ~ 1 and a half-light fraction of 0.45 the bar's ends are only 2-3% of its
        central brightness and the visible bar is ~0.4 of ``bar_length_px``.
    sersic_n_step
        Rounding grid of the index (GalSim table reuse, see the bulge); 0 disables.
    half_light_fraction
        Half-light radius over truncation radius of the bar profile (fixed so that
        GalSim's truncated-Sersic tables are reused). 0.65 with n <= 0.6 keeps the
        surface brightness at the bar's ends at ~50% of its centre, so the
        catalogued length is the visible length.
    disk_light_fraction
        Share of the non-bulge light in the bar: bar_to_total = this x (1 - B/T).
        Bar/T ~ 0.1 with D/T ~ 0.6 (Gadotti 2011) is ~0.15.
    angle_to_disk_deg
        Angle in the disk plane between the bar and the disk's major axis (deg).
    colour
        (g-r, r-i) colour in mag.
    lens_probability
        Chance that an unbarred disk galaxy holds a lens instead: the bar it would have
        had (same length, light, profile and angle, the same draws) made round in the
        disk plane. Lenses are inner components with a flat profile and a sharp edge
        (Kormendy 1979, ApJ 227, 714), in about half of S0-Sa galaxies (Laurikainen et
        al. 2009, ApJ 692, L34). With lenses in every unbarred galaxy of a bar
        network's training set, the classes have the same radial light distribution
        and only the bar's elongation tells them apart (the ``bar-sdss`` recipe,
        :mod:`galaxy_xai.zoo.recipe_bars`). 0 (default): none.
    lens_axis_ratio
        Intrinsic (face-on) axis ratio of a lens; lenses are nearly round, 0.85-1.0
        (Kormendy 1979: intrinsic axis ratios ~0.9).

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``length_to_disk_scale`` reaches 0,
        ``axis_ratio`` or ``lens_axis_ratio`` leaves (0, 1], ``sersic_n`` leaves [0.3,
        6.2], ``sersic_n_step`` < 0, ``half_light_fraction`` is not in [0.05, 0.7],
        ``disk_light_fraction`` leaves [0, 0.9], ``lens_probability`` leaves [0, 1], or
        ``colour`` is not two finite numbers.
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    length_to_disk_scale: DistLike = field(default=_uniform(0.5, 1.5), metadata=_DIST)
    axis_ratio: DistLike = field(default=_uniform(0.15, 0.4), metadata=_DIST)
    sersic_n: DistLike = field(default=_uniform(0.3, 0.6), metadata=_DIST)
    sersic_n_step: float = 0.1
    half_light_fraction: float = 0.65
    disk_light_fraction: DistLike = field(default=_uniform(0.05, 0.3), metadata=_DIST)
    angle_to_disk_deg: DistLike = field(default=_uniform(0.0, 180.0), metadata=_DIST)
    colour: tuple[float, float] = (0.65, 0.35)
    lens_probability: float = 0.0
    lens_axis_ratio: DistLike = field(default=_uniform(0.85, 1.0), metadata=_DIST)

    def __post_init__(self) -> None:
        _normalise_distributions(self, "bar")
        _check("bar.length_to_disk_scale", self.length_to_disk_scale, low=0, low_open=True)
        _check("bar.axis_ratio", self.axis_ratio, low=0, high=1, low_open=True)
        _check("bar.sersic_n", self.sersic_n, low=0.3, high=6.2, what="GalSim's Sersic range")
        if self.sersic_n_step < 0:
            raise ParameterError("bar.sersic_n_step", self.sersic_n_step, "must be >= 0")
        if not 0.05 <= self.half_light_fraction <= 0.7:
            raise ParameterError(
                "bar.half_light_fraction", self.half_light_fraction, "must lie in [0.05, 0.7]"
            )
        _check("bar.disk_light_fraction", self.disk_light_fraction, low=0.0, high=0.9)
        _check_colour("bar.colour", self.colour)
        if not 0 <= self.lens_probability <= 1:
            raise ParameterError(
                "bar.lens_probability", self.lens_probability, "must lie in [0, 1]"
            )
        _check("bar.lens_axis_ratio", self.lens_axis_ratio, low=0, high=1, low_open=True)


@dataclass(frozen=True)
class ArmsConfig:
    """Logarithmic spiral arms modulating the disk light (disk flux is kept).

    Parameters
    ----------
    probability
        Chance that a disk galaxy has arms.
    n_arms
        Possible arm numbers and ``n_arms_weights`` their relative frequencies
        (two-armed spirals are the most common, Hart et al. 2016, MNRAS 461, 3663).
    pitch_angle_deg
        Pitch angle (deg); observed ~5-40, typically 10-25 (Kennicutt 1981, AJ 86,
        1847; Hart et al. 2017, MNRAS 472, 2263).
    strength
        Modulation amplitude: 0 no arms, 1 all disk light in the arms.
    sharpness
        Exponent making arms narrower than a sinusoid (1 = sinusoid).
    colour
        (g-r, r-i) of the arm light excess (young stars, blue).
    start_at_bar
        Phase the arms so that, at the bar's radius, arm crests lie on the bar's major
        axis: in barred spirals the arms start at the bar's ends (Elmegreen & Elmegreen
        1982, MNRAS 201, 1021; Buta et al. 2015, ApJS 217, 32). The phase follows the
        drawn bar angle and length whether or not the galaxy got a bar, so that a barred
        galaxy and its unbarred twin differ only in the bar. False: a random phase.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``probability`` is not in [0, 1], ``n_arms`` is
        empty or has a number < 1, ``n_arms_weights`` is not one weight >= 0 per
        ``n_arms`` (not all 0), ``pitch_angle_deg`` leaves (0, 90], ``strength`` leaves
        [0, 1], ``sharpness`` < 1, or ``colour`` is not two finite numbers.
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    probability: float = 0.8
    n_arms: tuple[int, ...] = (2, 3, 4)
    n_arms_weights: tuple[float, ...] = (0.6, 0.25, 0.15)
    pitch_angle_deg: DistLike = field(default=_uniform(10.0, 30.0), metadata=_DIST)
    strength: DistLike = field(default=_uniform(0.3, 0.9), metadata=_DIST)
    sharpness: float = 2.0
    colour: tuple[float, float] = (0.3, 0.15)
    start_at_bar: bool = True

    def __post_init__(self) -> None:
        _normalise_distributions(self, "arms")
        if not 0 <= self.probability <= 1:
            raise ParameterError("arms.probability", self.probability, "must lie in [0, 1]")
        if not self.n_arms or any(n < 1 for n in self.n_arms):
            raise ParameterError("arms.n_arms", self.n_arms, "must be one or more integers >= 1")
        if (
            len(self.n_arms_weights) != len(self.n_arms)
            or any(w < 0 for w in self.n_arms_weights)
            or sum(self.n_arms_weights) <= 0
        ):
            raise ParameterError(
                "arms.n_arms_weights",
                self.n_arms_weights,
                f"needs {len(self.n_arms)} non-negative weights (one per n_arms), not all 0",
            )
        _check("arms.pitch_angle_deg", self.pitch_angle_deg, low=0, high=90, low_open=True)
        _check("arms.strength", self.strength, low=0.0, high=1.0)
        if not self.sharpness >= 1:
            raise ParameterError("arms.sharpness", self.sharpness, "must be >= 1")
        _check_colour("arms.colour", self.colour)


@dataclass(frozen=True)
class KnotsConfig:
    """Star-forming knots: point sources that follow the (arm-modulated) disk light.

    Parameters
    ----------
    probability
        Chance that a disk galaxy has knots.
    knot_fraction
        Share of the disk light in knots (the disk keeps the rest).
    number
        Inclusive range of the number of knots.
    colour
        (g-r, r-i) of the knots (HII regions, blue).

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``probability`` is not in [0, 1],
        ``knot_fraction`` leaves [0, 1], ``number`` is not ``(low, high)`` with
        1 <= low <= high, or ``colour`` is not two finite numbers.
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    probability: float = 0.5
    knot_fraction: DistLike = field(default=_uniform(0.02, 0.15), metadata=_DIST)
    number: tuple[int, int] = (10, 60)
    colour: tuple[float, float] = (0.1, -0.1)

    def __post_init__(self) -> None:
        _normalise_distributions(self, "knots")
        if not 0 <= self.probability <= 1:
            raise ParameterError("knots.probability", self.probability, "must lie in [0, 1]")
        _check("knots.knot_fraction", self.knot_fraction, low=0.0, high=1.0)
        if not 1 <= self.number[0] <= self.number[1]:
            raise ParameterError("knots.number", self.number, "needs 1 <= low <= high")
        _check_colour("knots.colour", self.colour)


@dataclass(frozen=True)
class ContaminantsConfig:
    """Foreground stars and neighbouring galaxies away from the centre (off by default).

    Parameters
    ----------
    star_probability, neighbour_probability
        Chance of one foreground star / one neighbour galaxy in a stamp.
    magnitude_offset
        Contaminant magnitude minus the galaxy's magnitude.
    min_distance
        Smallest distance from the centre, as a fraction of the stamp half-width.
    neighbour_size_ratio
        Neighbour half-light radius over the galaxy's disk half-light radius.
    field_sources_per_arcmin2
        Surface density of the field: faint stars and compact galaxies scattered
        uniformly over the whole stamp, their number per stamp Poisson with mean this
        times the stamp's area (so a stamp of a large galaxy holds more of them, as on
        the sky). 0 (the default) draws none. Independent of the single star and
        neighbour above (their own random stream: files without a field are unchanged).
    field_star_fraction
        Share of the field sources that are stars (points); the rest are galaxies.
    field_magnitude
        ``(bright, faint)`` magnitude limits of the field sources, in the survey band.
    field_count_slope
        Slope of the differential number counts, d log10 N / dm: magnitudes are drawn
        from N(m) proportional to 10 ** (slope * m) between the limits (0: uniform).
        About 0.4 for faint galaxies in SDSS r (Yasuda et al. 2001, AJ 122, 1104).
    field_galaxy_half_light_radius_arcsec
        Half-light radius of the field galaxies (exponentials), in arcsec.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, a probability or ``field_star_fraction`` is
        not in [0, 1], ``min_distance`` is not in [0, 1), ``neighbour_size_ratio`` or
        ``field_galaxy_half_light_radius_arcsec`` reaches 0,
        ``field_sources_per_arcmin2`` is not in [0, 1000], ``field_magnitude`` is not
        two magnitudes with bright < faint, or ``field_count_slope`` is not in [0, 1].
    ConfigError
        If a distribution field is not a number, a ``[low, high]`` pair or a mapping of
        :class:`Distribution` fields (or the mapping has an unknown key), or its bounds
        are impossible.
    """

    star_probability: float = 0.0
    neighbour_probability: float = 0.0
    magnitude_offset: DistLike = field(default=_uniform(0.0, 3.0), metadata=_DIST)
    min_distance: float = 0.6
    neighbour_size_ratio: DistLike = field(default=_uniform(0.2, 0.6), metadata=_DIST)
    field_sources_per_arcmin2: float = 0.0
    field_star_fraction: float = 0.3
    field_magnitude: tuple[float, float] = (17.0, 22.5)
    field_count_slope: float = 0.4
    field_galaxy_half_light_radius_arcsec: DistLike = field(
        default=_uniform(0.3, 1.2), metadata=_DIST
    )

    def __post_init__(self) -> None:
        _normalise_distributions(self, "contaminants")
        _check_finite(self, "contaminants")
        if not 0 <= self.field_sources_per_arcmin2 <= 1000:
            raise ParameterError(
                "contaminants.field_sources_per_arcmin2",
                self.field_sources_per_arcmin2,
                "must lie in [0, 1000] sources per arcmin^2",
            )
        if not 0 <= self.field_star_fraction <= 1:
            raise ParameterError(
                "contaminants.field_star_fraction", self.field_star_fraction, "must lie in [0, 1]"
            )
        mags = self.field_magnitude
        if len(mags) != 2 or not mags[0] < mags[1]:
            raise ParameterError(
                "contaminants.field_magnitude", mags, "must be [bright, faint] with bright < faint"
            )
        if not 0 <= self.field_count_slope <= 1:
            raise ParameterError(
                "contaminants.field_count_slope",
                self.field_count_slope,
                "must lie in [0, 1] (d log10 N / dm)",
            )
        _check(
            "contaminants.field_galaxy_half_light_radius_arcsec",
            self.field_galaxy_half_light_radius_arcsec,
            low=0,
            low_open=True,
            what="a radius",
        )
        for name in ("star_probability", "neighbour_probability"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ParameterError(f"contaminants.{name}", value, "must lie in [0, 1]")
        if not 0 <= self.min_distance < 1:
            raise ParameterError(
                "contaminants.min_distance", self.min_distance, "must lie in [0, 1)"
            )
        _check(
            "contaminants.neighbour_size_ratio",
            self.neighbour_size_ratio,
            low=0,
            low_open=True,
            what="a radius",
        )


@dataclass(frozen=True)
class JpegConfig:
    """Galaxy Zoo-like rendering: Lupton et al. (2004, PASP 116, 133) asinh stretch.

    Parameters
    ----------
    q
        Asinh softening Q of :func:`astropy.visualization.make_lupton_rgb`.
    stretch_sigma
        Linear stretch in units of the sky noise sigma: a pixel this bright saturates.
    quality
        JPEG quality of an encode/decode round trip (compression artefacts like
        Galaxy Zoo's cutouts); None keeps the 8-bit image as is.
    colour_scales
        Multipliers of the (blue, green, red) bands before the stretch: a white balance
        under which a typical disk (g-r 0.45, r-i 0.25) looks neutral and bulges
        yellow, as in the SDSS colour images Galaxy Zoo showed.
    sky_offset_sigma
        Black point of the stretch below the sky level, in sky sigma: the SDSS colour
        images show their sky as dark grey noise, not black with the lower half of the
        noise clipped. Calibrated on the calibration half of the GZ1 images
        (``sim-realism``: median border level and noise of the real cutouts).
    band_noise_scales
        Multipliers of the noise (not the light) of the (blue, green, red) bands of
        ``jpeg-rgb``: each band's noise in SDSS colour images is well above what one
        sky level in the reference band gives.
    band_noise_correlation
        Share of the noise variance common to the three bands of ``jpeg-rgb`` (0:
        independent bands, chromatic speckle; 1: grey noise). Resampled and
        JPEG-compressed SDSS cutouts show mostly grey noise grain.
    native_pixel_scale_arcsec
        For ``jpeg-rgb``: compress at this pixel scale (arcsec), the survey's own, as
        SDSS's colour frames were JPEG-compressed (chroma at half resolution) before
        cutouts were cut and resampled from them. The 8-bit image is resampled to the
        size it has at that scale (bilinear; at most 8x the stamp), compressed at
        ``quality`` (needed), decoded and resampled back (Lanczos). None (default):
        compressed at the stamp's own size. Grey renderings stay compressed at the
        stamp's size: on the GZ1 grey images it changed nothing but the noise grain.
    band_sky_offset_scales
        For ``jpeg-rgb``: multipliers of ``sky_offset_sigma`` for the (blue, green, red)
        bands, so each band has its own black point: the SDSS colour images' sky is
        darker in blue than in green and red.
    band_offset_arcsec
        For ``jpeg-rgb``: rms offset (arcsec, per axis) of the blue and red bands from
        the green (reference) one, drawn per galaxy and band from the galaxy's own
        ``band_offset`` stream and applied to the noiseless light (cubic spline). SDSS
        observes g, r and i about 72 s apart in drift scan through different
        atmospheric refraction, and its colour images are registered to a fraction of a
        pixel: galaxy centres differ between the colour channels. 0 (default): aligned.

    Raises
    ------
    ParameterError
        If a number is NaN or infinite, ``q`` or ``stretch_sigma`` <= 0,
        ``sky_offset_sigma`` is not in [0, 10], ``quality`` is neither None nor in
        1..100, ``band_noise_scales`` is not three numbers in [0, 20],
        ``band_noise_correlation`` is not in [0, 1], or ``native_pixel_scale_arcsec``
        is neither None nor in (0, 10] (or is set without a ``quality``), or
        ``band_offset_arcsec`` is not in [0, 2], or ``band_sky_offset_scales`` is not
        three numbers in [0, 5].
    """

    q: float = 8.0
    stretch_sigma: float = 40.0
    quality: int | None = 90
    colour_scales: tuple[float, float, float] = (1.5, 1.0, 0.8)
    sky_offset_sigma: float = 0.0
    band_noise_scales: tuple[float, float, float] = (1.0, 1.0, 1.0)
    band_noise_correlation: float = 0.0
    native_pixel_scale_arcsec: float | None = None
    band_offset_arcsec: float = 0.0
    band_sky_offset_scales: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        _check_finite(self, "jpeg")
        _check_per_band("jpeg.band_sky_offset_scales", self.band_sky_offset_scales, 5)
        if not 0 <= self.band_offset_arcsec <= 2:
            raise ParameterError(
                "jpeg.band_offset_arcsec", self.band_offset_arcsec, "must lie in [0, 2] arcsec"
            )
        native = self.native_pixel_scale_arcsec
        if native is not None:
            if not 0 < native <= 10:
                raise ParameterError(
                    "jpeg.native_pixel_scale_arcsec", native, "must lie in (0, 10] arcsec (or null)"
                )
            if self.quality is None:
                raise ParameterError(
                    "jpeg.native_pixel_scale_arcsec", native, "needs a jpeg.quality to compress at"
                )
        _check_per_band("jpeg.band_noise_scales", self.band_noise_scales, 20)
        if not 0 <= self.band_noise_correlation <= 1:
            raise ParameterError(
                "jpeg.band_noise_correlation", self.band_noise_correlation, "must lie in [0, 1]"
            )
        if not self.q > 0:
            raise ParameterError("jpeg.q", self.q, "must be > 0")
        if not self.stretch_sigma > 0:
            raise ParameterError("jpeg.stretch_sigma", self.stretch_sigma, "must be > 0")
        if not 0.0 <= self.sky_offset_sigma <= 10.0:
            raise ParameterError(
                "jpeg.sky_offset_sigma", self.sky_offset_sigma, "must lie in [0, 10] sky sigma"
            )
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise ParameterError("jpeg.quality", self.quality, "must lie in 1..100 (or null)")


# --------------------------------------------------------------------------- top level
@dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a simulated galaxy population and its rendering.

    Parameters
    ----------
    preset
        Survey preset name (one of :data:`galaxy_xai.simulate.presets.PRESET_NAMES`);
        fills ``survey``.
    size
        Stamp width and height in pixels.
    bar_fraction
        Chance that a disk galaxy has a bar.
    rendering
        ``"jpeg-gray"`` / ``"jpeg-rgb"`` (8-bit, asinh stretched, stored uint8) or
        ``"counts"`` (linear, sky-subtracted counts, float32), or ``"asinh"``: the
        counts through the same asinh stretch that ``galaxy-xai data import`` gives
        real counts cutouts (Galaxy Builder, FITS; importer defaults), float32 in
        [0, 1], so that simulations and imported real images share one preprocessing.
    framing
        ``"fixed"``: the survey pixel scale. ``"relative"``: the stamp spans
        ``frame_r90`` times the galaxy's R90 (like Galaxy Zoo cutouts).
    frame_r90
        Stamp width in units of R90 for relative framing. Galaxy Zoo used
        0.024 R90 per pixel over 424 pixels (Willett et al. 2013, MNRAS 435, 2835),
        i.e. 10.18 R90.
    frame_radius
        The R90 of relative framing: ``"true_r90"`` (default), the radius holding 90%
        of the galaxy's light, or ``"petrosian_r90"``, SDSS's Petrosian R90 (the one
        Galaxy Zoo's 0.024 R90 per pixel means; :mod:`galaxy_xai.simulate.radii`):
        0.98 of the true R90 for an exponential disk but 0.43 for a de Vaucouleurs
        bulge, whose Petrosian flux misses 18% of its light in the wings.
    noise
        Add sky, Poisson and read noise (False: noiseless images).
    noise_correlation_px
        Width (sigma, stamp pixels) of a Gaussian that correlates the noise of
        neighbouring pixels, at the same per-pixel variance: survey cutouts are
        resampled (and Galaxy Zoo's JPEGs shrunk again on import), so their noise
        comes in grains wider than one pixel. 0 (default): white noise.
    rotate, flip
        Random rotation / mirror of the whole galaxy (applied analytically, so the
        catalogued angles describe the final image).
    survey
        Survey block; None means the preset's values.
    bulge, disk, bar, arms, knots, contaminants, jpeg
        Component and rendering blocks.

    Raises
    ------
    ParameterError
        If ``preset`` is not a known survey preset, a number is NaN or infinite,
        ``size`` is not an integer >= 16, ``bar_fraction`` is not in [0, 1] (or not 0
        with the disk disabled), ``rendering`` is not one of :data:`RENDERINGS`,
        ``framing`` is not ``"fixed"`` or ``"relative"``, ``frame_r90`` <= 0,
        ``frame_radius`` is not one of :data:`FRAME_RADII`,
        ``noise_correlation_px`` is not in [0, 5], or both the bulge and the disk are
        disabled.
    """

    preset: str = "sdss"
    size: int = 128
    bar_fraction: float = 0.5
    rendering: Rendering = "jpeg-gray"
    framing: Framing = "fixed"
    frame_r90: float = 10.18
    frame_radius: FrameRadius = "true_r90"
    noise: bool = True
    noise_correlation_px: float = 0.0
    rotate: bool = True
    flip: bool = True
    survey: SurveyConfig | None = None
    bulge: BulgeConfig = field(default_factory=BulgeConfig)
    disk: DiskConfig = field(default_factory=DiskConfig)
    bar: BarConfig = field(default_factory=BarConfig)
    arms: ArmsConfig = field(default_factory=ArmsConfig)
    knots: KnotsConfig = field(default_factory=KnotsConfig)
    contaminants: ContaminantsConfig = field(default_factory=ContaminantsConfig)
    jpeg: JpegConfig = field(default_factory=JpegConfig)

    def __post_init__(self) -> None:
        from galaxy_xai.simulate.presets import get_preset

        if self.survey is None:
            object.__setattr__(self, "survey", get_preset(self.preset))
        else:
            get_preset(self.preset)  # validates the name
        _check_finite(self, "")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 16:
            raise ParameterError("size", self.size, "must be an integer >= 16 (pixels)")
        if not 0 <= self.bar_fraction <= 1:
            raise ParameterError("bar_fraction", self.bar_fraction, "must lie in [0, 1]")
        if self.rendering not in RENDERINGS:
            raise ParameterError("rendering", self.rendering, f"must be one of {RENDERINGS}")
        if self.framing not in ("fixed", "relative"):
            raise ParameterError("framing", self.framing, "must be 'fixed' or 'relative'")
        if not self.frame_r90 > 0:
            raise ParameterError("frame_r90", self.frame_r90, "must be > 0")
        if self.frame_radius not in FRAME_RADII:
            raise ParameterError("frame_radius", self.frame_radius, f"must be one of {FRAME_RADII}")
        if not 0 <= self.noise_correlation_px <= 5:
            raise ParameterError(
                "noise_correlation_px", self.noise_correlation_px, "must lie in [0, 5] pixels"
            )
        if not self.disk.enabled and self.bar_fraction > 0:
            raise ParameterError(
                "bar_fraction", self.bar_fraction, "must be 0 when disk.enabled is false"
            )
        if not (self.disk.enabled or self.bulge.enabled):
            raise ParameterError("bulge.enabled", False, "a galaxy needs a bulge or a disk")

    @property
    def survey_config(self) -> SurveyConfig:
        """The resolved survey block (never None after construction).

        Raises
        ------
        ConfigError
            Never after construction (``__post_init__`` fills the survey block); only if
            ``survey`` was set to None on a built config by force.
        """
        if self.survey is None:  # pragma: no cover - filled by __post_init__
            raise ConfigError("survey block was not resolved")
        return self.survey

    @property
    def channels(self) -> int:
        """Number of image channels (3 for ``jpeg-rgb``, else 1)."""
        return 3 if self.rendering == "jpeg-rgb" else 1

    @property
    def storage_dtype(self) -> str:
        """``"uint8"`` for the JPEG-like renderings, ``"float32"`` for counts."""
        return "float32" if self.rendering in ("counts", "asinh") else "uint8"

    def replace(self, **changes: Any) -> SimulationConfig:
        """A copy with top-level fields changed (a new preset also resets ``survey``)."""
        if "preset" in changes and "survey" not in changes:
            changes["survey"] = None
        return dataclasses.replace(self, **changes)


def load_simulation_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | SimulationConfig | None = None,
    **overrides: Any,
) -> SimulationConfig:
    """Build a :class:`SimulationConfig` from a YAML/TOML file or mapping plus overrides.

    Parameters
    ----------
    source
        Path to a YAML (``.yaml``/``.yml``) or TOML file, a mapping, a config (returned
        with ``overrides`` applied), or None for the defaults.
    **overrides
        Top-level keys (``preset``, ``size``, ``bar_fraction``, ``rendering``...) that
        win over ``source``; None values are ignored.

    Returns
    -------
    SimulationConfig
        With ``survey`` filled from the preset and then the ``survey:`` keys given.

    Raises
    ------
    ConfigError
        On an unknown key (anywhere) or a value of the wrong type.
    ParameterError
        On an unknown preset or an impossible value (negative radius, axis ratio
        outside (0, 1], ...); the message names the parameter and value.
    """
    from galaxy_xai.config import config_to_dict, load_config, read_config_file
    from galaxy_xai.simulate.presets import get_preset

    overrides = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(source, SimulationConfig):
        resolved = source
        source = config_to_dict(resolved)
        if overrides.get("preset", resolved.preset) != resolved.preset:
            source.pop("survey")  # the resolved survey belongs to the old preset
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        data = read_config_file(source)
    data.update(overrides)
    preset = data.get("preset", "sdss")
    survey = data.get("survey") or {}
    if not isinstance(survey, Mapping | SurveyConfig):
        raise ConfigError(f"survey: expected a mapping, found {survey!r}")
    if isinstance(survey, SurveyConfig):
        survey = config_to_dict(survey)
    base = config_to_dict(get_preset(str(preset)))
    base.update(survey)
    try:
        data["survey"] = load_config(SurveyConfig, base)
        return load_config(SimulationConfig, data)
    except ConfigError as exc:
        cause = exc.__cause__
        if isinstance(cause, ParameterError):
            raise ParameterError(cause.name, cause.value, cause.reason) from exc
        raise
