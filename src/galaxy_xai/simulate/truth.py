"""Drawing one galaxy's parameters, and the truth catalogue built from them.

Seed scheme: galaxy ``index`` of a run with ``seed`` draws its parameters, knot
positions and noise from three generators seeded with
``numpy.random.SeedSequence([seed, index, k])``, k = 0, 1, 2. Each parameter takes its own fixed slot of uniform numbers, so
a galaxy depends only on ``(seed, index)``, whatever the worker count, shard or order,
and switching a component on or off does not change the other parameters.

Angles: position angles are degrees counter-clockwise from the +x axis of the image
array towards +y, where x is the column index (axis 1) and y the row index (axis 0) of
``image[y, x]``; i.e. a major axis at angle ``pa`` points along
``(dx, dy) = (cos pa, sin pa)`` in array indices. Displayed with ``origin="lower"``
(y up) this is counter-clockwise; with ``origin="upper"`` (y down, as JPEGs are shown)
it is clockwise. Position angles are in [0, 180). The galaxy centre is the array
centre ``((W - 1) / 2, (H - 1) / 2)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.errors import ParameterError
from galaxy_xai.simulate import radii
from galaxy_xai.simulate.config import SimulationConfig, SurveyConfig

__all__ = [
    "CATALOG_COLUMNS",
    "GalaxyParameters",
    "bar_fit_limit_arcsec",
    "catalog_from_parameters",
    "check_seed",
    "draw_parameters",
    "galaxy_stream",
]

# Exponential profile: half-light radius = 1.6783 scale lengths.
HLR_PER_SCALE_LENGTH = 1.678346990016661
# Margin (pixels) kept between a bar end and the stamp edge, plus one PSF FWHM.
_BAR_EDGE_MARGIN_PX = 1.0
# In relative framing the stamp spans at least this many times the longest possible bar.
_RELATIVE_BAR_FRAME = 1.25
_N_SLOTS = 40


@dataclass(frozen=True)
class Contaminant:
    """A foreground star or a neighbour galaxy: offset (arcsec) and profile."""

    kind: str  # "star" or "neighbour"
    dx_arcsec: float
    dy_arcsec: float
    flux: float
    half_light_radius_arcsec: float = 0.0
    axis_ratio: float = 1.0
    position_angle_deg: float = 0.0
    colour: tuple[float, float] = (0.6, 0.3)  # (g-r, r-i), for jpeg-rgb


@dataclass(frozen=True)
class GalaxyParameters:
    """Every drawn parameter of one galaxy, in the frame of the final image.

    Fields are the catalogue columns (units in the names), except ``sky_transform``
    (the 2x2 matrix, row-major, taking disk-plane arcsec to sky arcsec, flip and
    rotation included) and ``contaminants``, which are used for rendering only.
    ``psf_library_index`` is the row of the PSF drawn from ``survey.psf_library``
    (-1 for the Moffat PSF; ``psf_library`` holds the library's path then).
    ``arm_chirality`` is +1 when the arms, going outwards, turn counter-clockwise in
    the angle convention of the module (0 without arms); bar columns are 0 for
    unbarred galaxies (see ``barred``), lens columns 0 for galaxies without a lens
    (``bar.lens_probability``; ``lens_length_arcsec`` is its end-to-end extent along
    the projected major axis, as for the bar).
    """

    id: str
    index: int
    seed: int
    preset: str
    band: str
    size_px: int
    framing: str
    pixel_scale_arcsec: float
    psf_fwhm_arcsec: float
    psf_moffat_beta: float
    magnitude: float
    flux_total: float
    bulge_to_total: float
    bulge_sersic_n: float
    bulge_half_light_radius_arcsec: float
    bulge_axis_ratio: float
    disk_half_light_radius_arcsec: float
    disk_scale_length_arcsec: float
    disk_axis_ratio: float
    inclination_deg: float
    disk_position_angle_deg: float
    barred: int
    bar_to_total: float
    bar_length_arcsec: float
    bar_length_px: float
    bar_axis_ratio: float
    bar_position_angle_deg: float
    bar_sersic_n: float
    bar_length_to_disk_scale: float
    bar_angle_to_disk_deg: float
    bar_intrinsic_axis_ratio: float
    n_arms: int
    pitch_angle_deg: float
    arm_strength: float
    arm_chirality: int
    arm_phase_deg: float
    knot_fraction: float
    n_knots: int
    rotation_deg: float
    flipped: int
    n_foreground_stars: int
    n_neighbours: int
    r90_arcsec: float
    sky_level_counts: float
    sky_sigma_counts: float
    bulge_colour_offset_mag: float = 0.0
    disk_colour_offset_mag: float = 0.0
    psf_library_index: int = -1
    lens_to_total: float = 0.0
    lens_length_arcsec: float = 0.0
    lens_axis_ratio: float = 0.0
    lens_position_angle_deg: float = 0.0
    lens_sersic_n: float = 0.0
    # rendering-only geometry (not catalogue columns)
    sky_transform: tuple[float, float, float, float] = field(default=(1.0, 0.0, 0.0, 1.0))
    contaminants: tuple[Contaminant, ...] = ()
    psf_library: str = ""

    def to_row(self) -> dict[str, Any]:
        """The catalogue row (every field except the rendering-only ones)."""
        return {name: getattr(self, name) for name in CATALOG_COLUMNS if hasattr(self, name)}


_PRIVATE = {"sky_transform", "contaminants", "psf_library"}
#: Catalogue columns in order (``snr``, ``morph_label``, ``label`` and ``source_file``
#: are added after rendering).
CATALOG_COLUMNS = (
    *(f.name for f in dataclasses.fields(GalaxyParameters) if f.name not in _PRIVATE),
    "snr",
    "morph_label",
    "label",
    "source_file",
)


#: Random streams of one galaxy: parameters, knot positions, noise, field sources,
#: colour offsets, the PSF drawn from ``survey.psf_library``, the colour bands' offsets,
#: the lens of an unbarred galaxy (so that configs without lenses draw as before).
STREAMS = ("parameters", "knots", "noise", "field", "colour", "psf", "band_offset", "lens")


def psf_fwhm_max_arcsec(survey: SurveyConfig) -> float:
    """The widest PSF FWHM a galaxy of ``survey`` can get (arcsec)."""
    if survey.psf_library is not None:
        from galaxy_xai.data.psf_library import read_psf_library

        return float(read_psf_library(survey.psf_library).fwhm_arcsec.max())
    return float(survey.psf_fwhm_arcsec.support[1])


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, or raise :class:`ParameterError` if it is not >= 0.

    Raises
    ------
    ParameterError
        If ``seed`` is not an integer (a bool is refused) or is negative.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError("seed", seed, "must be an integer >= 0")
    return int(seed)


def galaxy_stream(seed: int, index: int, stream: str) -> np.random.Generator:
    """The generator of one of the :data:`STREAMS` of galaxy ``index`` of run ``seed``.

    It is seeded with ``SeedSequence([seed, index, k])``, k the stream's position.
    """
    k = STREAMS.index(stream)
    return np.random.default_rng(np.random.SeedSequence([check_seed(seed), int(index), k]))


def _phase_at_bar_ends(
    bar_angle_deg: float, length_to_disk_scale: float, pitch_deg: float, handedness: int
) -> float:
    """Arm phase (deg) putting an arm crest on the bar's major axis at the bar's end.

    The crests of :func:`galaxy_xai.simulate.components.arm_modulation` lie at disk-plane
    azimuth ``phi = c ln(r / h) / tan(pitch) + phase`` (plus multiples of 360/n); at
    ``r = a_bar`` this is the bar's angle when ``phase = angle - c ln(a_bar / h) /
    tan(pitch)``, so two arms start at the two ends of the bar.
    """
    winding = handedness * math.log(length_to_disk_scale) / math.tan(math.radians(pitch_deg))
    return (bar_angle_deg - math.degrees(winding)) % 360.0


def _quantise(value: float, step: float, low: float, high: float) -> float:
    if step <= 0:
        return value
    q = round(value / step) * step
    q = min(max(q, math.ceil(low / step - 1e-9) * step), math.floor(high / step + 1e-9) * step)
    return round(q, 6)


def bar_fit_limit_arcsec(
    config: SimulationConfig, pixel_scale_arcsec: float, fwhm_arcsec: float
) -> float:
    """Largest disk half-light radius (arcsec) whose longest possible bar fits the stamp.

    Used with ``framing="fixed"``: disk sizes are drawn from their distribution
    truncated at this radius (for every galaxy, barred or not, so that size says
    nothing about the bar).
    """
    half_px = config.size / 2 - _BAR_EDGE_MARGIN_PX - fwhm_arcsec / pixel_scale_arcsec
    ratio_max = config.bar.length_to_disk_scale.support[1]
    return half_px * pixel_scale_arcsec * HLR_PER_SCALE_LENGTH / ratio_max


def check_bars_fit(config: SimulationConfig) -> None:
    """Raise if no galaxy of ``config`` could hold its longest bar inside the stamp.

    Raises
    ------
    ParameterError
        Naming ``bar.length_to_disk_scale`` when even the smallest disk of the size
        distribution gets bars longer than the stamp.
    """
    survey = config.survey_config
    if config.bar_fraction == 0 or config.framing == "relative":
        return
    fwhm_max = psf_fwhm_max_arcsec(survey)
    limit = bar_fit_limit_arcsec(config, survey.pixel_scale_arcsec, fwhm_max)
    smallest = survey.disk_half_light_radius_arcsec.support[0]
    if limit < smallest:
        ratio = config.bar.length_to_disk_scale.support[1]
        longest_px = 2 * ratio * smallest / HLR_PER_SCALE_LENGTH / survey.pixel_scale_arcsec
        raise ParameterError(
            "bar.length_to_disk_scale",
            ratio,
            f"bars up to {longest_px:.1f} px long (disks from {smallest} arcsec) do not fit "
            f"the {config.size}-px stamp at {survey.pixel_scale_arcsec} arcsec/px; use a "
            "larger --size, smaller disks or bars, or framing: relative",
        )


def _rotation(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _ellipse(matrix: np.ndarray) -> tuple[float, float, float]:
    """Semi-axes (major, minor) and major-axis angle (deg, [0, 180)) of M(unit circle)."""
    u, s, _ = np.linalg.svd(matrix)
    angle = math.degrees(math.atan2(u[1, 0], u[0, 0])) % 180.0
    return float(s[0]), float(s[1]), angle


#: Most field sources drawn into one stamp (a guard against absurd densities).
_MAX_FIELD_SOURCES = 200


def _field_magnitudes(u: np.ndarray, bright: float, faint: float, slope: float) -> np.ndarray:
    """Magnitudes at quantiles ``u`` of N(m) ~ 10 ** (slope m) on [bright, faint]."""
    if slope == 0:
        return bright + (faint - bright) * u
    lo, hi = 10.0 ** (slope * (bright - faint)), 1.0  # relative to the faint end
    return faint + np.log10(lo + u * (hi - lo)) / slope


def _field_sources(
    config: SimulationConfig, seed: int, index: int, half_arcsec: float, zero_point: float
) -> list[Contaminant]:
    """The field of one stamp: Poisson-many stars and compact galaxies, uniform on it.

    Drawn from the galaxy's own ``field`` stream, so that adding a field leaves every
    other parameter (and the noise) of the galaxy unchanged.
    """
    cont = config.contaminants
    rng = galaxy_stream(seed, index, "field")
    area_arcmin2 = (2 * half_arcsec / 60.0) ** 2
    n = min(int(rng.poisson(cont.field_sources_per_arcmin2 * area_arcmin2)), _MAX_FIELD_SOURCES)
    if n == 0:
        return []
    u = rng.random((n, 7))
    bright, faint = cont.field_magnitude
    mags = _field_magnitudes(u[:, 0], bright, faint, cont.field_count_slope)
    out = []
    for k in range(n):
        star = bool(u[k, 1] < cont.field_star_fraction)
        out.append(
            Contaminant(
                kind="star" if star else "neighbour",
                dx_arcsec=half_arcsec * (2 * u[k, 2] - 1),
                dy_arcsec=half_arcsec * (2 * u[k, 3] - 1),
                flux=10.0 ** (-0.4 * (mags[k] - zero_point)),
                half_light_radius_arcsec=0.0
                if star
                else cont.field_galaxy_half_light_radius_arcsec.sample(u[k, 4]),
                axis_ratio=1.0 if star else 0.3 + 0.7 * u[k, 5],
                position_angle_deg=0.0 if star else 180.0 * u[k, 4],
                colour=_field_colour(star, u[k, 6]),
            )
        )
    return out


#: g-r ranges of field sources: high-latitude stars from the blue turn-off of the halo
#: to M dwarfs (Juric et al. 2008, ApJ 673, 864: g-r 0.2-1.4), faint galaxies from
#: the blue cloud to the red sequence (Strateva et al. 2001, AJ 122, 1861).
_FIELD_G_R = {"star": (0.2, 1.4), "galaxy": (0.3, 1.1)}


def _field_colour(star: bool, u: float) -> tuple[float, float]:
    lo, hi = _FIELD_G_R["star" if star else "galaxy"]
    g_r = lo + (hi - lo) * u
    # r-i along the stellar locus: ~0.4 (g-r) for g-r < 1.2, redder for M dwarfs
    r_i = 0.4 * g_r + (max(g_r - 1.2, 0.0) * 2.0 if star else 0.0)
    return (g_r, r_i)


def _draw_lens(
    config: SimulationConfig,
    seed: int,
    index: int,
    *,
    barred: int,
    bt: float,
    sky: np.ndarray,
    a_lens: float,
    psi: float,
    light_fraction: float,
) -> tuple[float, float, float, float]:
    """(lens_to_total, lens_length_arcsec, lens_axis_ratio, lens_position_angle_deg).

    An unbarred disk galaxy holds a lens with chance ``bar.lens_probability``: the bar
    it would have had (semi-axis ``a_lens``, ``light_fraction`` of the disk light, angle
    ``psi`` in the disk plane) with the intrinsic axis ratio ``bar.lens_axis_ratio``.
    Its chance and axis ratio come from the galaxy's own ``lens`` stream, so configs
    without lenses draw exactly as before. All zero without a lens.
    """
    bar = config.bar
    if barred or bar.lens_probability == 0 or not config.disk.enabled or bt >= 1.0:
        return 0.0, 0.0, 0.0, 0.0
    chance, shape = galaxy_stream(seed, index, "lens").random(2)
    if chance >= bar.lens_probability or light_fraction <= 0:
        return 0.0, 0.0, 0.0, 0.0
    q_intrinsic = bar.lens_axis_ratio.sample(shape)
    return _inner_component(sky, psi, a_lens, q_intrinsic, light_fraction, bt)


def _inner_component(
    sky: np.ndarray, psi: float, a: float, q_intrinsic: float, light_fraction: float, bt: float
) -> tuple[float, float, float, float]:
    """(share of the total light, end-to-end length, apparent axis ratio, position angle)
    of a bar or lens: semi-axes ``a`` and ``a q_intrinsic`` at ``psi`` in the disk plane,
    projected by ``sky``, holding ``light_fraction`` of the non-bulge light."""
    s1, s2, pa = _ellipse(sky @ _rotation(psi) @ np.diag([a, a * q_intrinsic]))
    return light_fraction * (1.0 - bt), 2 * s1, s2 / s1, pa


def draw_parameters(config: SimulationConfig, seed: int, index: int) -> GalaxyParameters:
    """Draw galaxy ``index`` of a run with ``seed`` (see the module doc for the scheme).

    Raises
    ------
    ParameterError
        If ``seed`` or ``index`` is negative.
    """
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
        raise ParameterError("index", index, "must be an integer >= 0")
    survey = config.survey_config
    rng = galaxy_stream(seed, index, "parameters")
    u = rng.random(_N_SLOTS)

    # a drawn PSF FWHM is rounded to 0.01 arcsec so that PSF kernels are reused
    fwhm_lo, fwhm_hi = survey.psf_fwhm_arcsec.support
    fwhm = survey.psf_fwhm_arcsec.sample(u[2])
    if fwhm_hi - fwhm_lo >= 0.01:
        fwhm = _quantise(fwhm, 0.01, fwhm_lo, fwhm_hi)
    psf_index = -1
    if survey.psf_library is not None:  # its own stream: the other draws stay the same
        from galaxy_xai.data.psf_library import read_psf_library

        library = read_psf_library(survey.psf_library)
        psf_index = int(galaxy_stream(seed, index, "psf").integers(len(library)))
        fwhm = float(library.fwhm_arcsec[psf_index])
    magnitude = survey.magnitude.sample(u[0])
    flux = 10.0 ** (-0.4 * (magnitude - survey.zero_point_mag))

    # sizes: in fixed framing truncate the disk sizes so that the longest bar fits
    upper = None
    if config.framing == "fixed" and config.bar_fraction > 0:
        upper = bar_fit_limit_arcsec(config, survey.pixel_scale_arcsec, fwhm)
    re_disk = survey.disk_half_light_radius_arcsec.sample(u[1], upper=upper)
    h_disk = re_disk / HLR_PER_SCALE_LENGTH

    # bulge
    bulge = config.bulge
    if not bulge.enabled:
        bt = 0.0
    elif not config.disk.enabled:
        bt = 1.0
    else:
        bt = bulge.bulge_to_total.sample(u[3])
    n_lo, n_hi = bulge.sersic_n.support
    n_bulge = _quantise(bulge.sersic_n.sample(u[4]), bulge.sersic_n_step, n_lo, n_hi)
    re_bulge = bulge.half_light_radius_ratio.sample(u[5]) * re_disk
    q_bulge = bulge.axis_ratio.sample(u[6])

    # disk inclination: Hubble (1926) apparent axis ratio of a disk of thickness q0
    cos_i = config.disk.cos_inclination.sample(u[7])
    q0 = config.disk.intrinsic_axis_ratio
    q_disk = math.sqrt(cos_i**2 * (1 - q0**2) + q0**2)
    inclination = math.degrees(math.acos(min(max(cos_i, 0.0), 1.0)))

    # orientation: disk major axis along +x, then a mirror (x -> -x) and a rotation
    flipped = int(config.flip and u[25] < 0.5)
    rotation = 360.0 * u[24] if config.rotate else 0.0
    g = _rotation(rotation) @ np.diag([-1.0 if flipped else 1.0, 1.0])
    sky = g @ np.diag([1.0, q_disk])  # disk plane (u, v) -> sky (x, y), arcsec
    disk_pa = rotation % 180.0

    # bar (in the disk plane, projected like the disk)
    barred = int(config.disk.enabled and u[9] < config.bar_fraction)
    bar = config.bar
    ratio = bar.length_to_disk_scale.sample(u[10])
    q_bar_intr = bar.axis_ratio.sample(u[11])
    nb_lo, nb_hi = bar.sersic_n.support
    n_bar = _quantise(bar.sersic_n.sample(u[12]), bar.sersic_n_step, nb_lo, nb_hi)
    psi = bar.angle_to_disk_deg.sample(u[14])
    a_inner = ratio * h_disk  # semi-major axis of the bar, or of the lens in its place
    light_fraction = bar.disk_light_fraction.sample(u[13])
    if barred:
        bar_tt, bar_len, bar_q, bar_pa = _inner_component(
            sky, psi, a_inner, q_bar_intr, light_fraction, bt
        )
    else:
        bar_pa = bar_len = bar_q = bar_tt = 0.0
    lens = _draw_lens(config, seed, index, barred=barred, bt=bt, sky=sky, a_lens=a_inner,
                      psi=psi, light_fraction=light_fraction)  # fmt: skip

    # arms and knots
    has_disk = config.disk.enabled and bt < 1.0
    arms = config.arms
    if has_disk and u[15] < arms.probability:
        weights = np.asarray(arms.n_arms_weights, dtype=float)
        k = int(np.searchsorted(np.cumsum(weights / weights.sum()), u[16], side="right"))
        n_arms = int(arms.n_arms[min(k, len(arms.n_arms) - 1)])
        pitch = arms.pitch_angle_deg.sample(u[17])
        strength = arms.strength.sample(u[18])
        handedness = 1 if u[19] < 0.5 else -1  # in the disk plane, before the flip
        chirality = handedness * (-1 if flipped else 1)
        phase = (
            _phase_at_bar_ends(psi, ratio, pitch, handedness)
            if arms.start_at_bar
            else 360.0 * u[20]
        )
    else:
        n_arms, pitch, strength, chirality, phase = 0, 0.0, 0.0, 0, 0.0
    knots = config.knots
    if has_disk and u[21] < knots.probability:
        knot_fraction = knots.knot_fraction.sample(u[22])
        lo, hi = knots.number
        n_knots = lo + min(int(u[23] * (hi - lo + 1)), hi - lo)
    else:
        knot_fraction, n_knots = 0.0, 0
    if knot_fraction == 0.0:
        n_knots = 0

    # framing
    profile = (bt, n_bulge, max(re_bulge, 1e-6), re_disk)
    r90 = radii.true_r90(*profile)
    if config.framing == "relative":
        frame = config.frame_r90 * (
            radii.petrosian_r90(*profile) if config.frame_radius == "petrosian_r90" else r90
        )
        if config.bar_fraction > 0:
            longest = 2 * bar.length_to_disk_scale.support[1] * h_disk
            frame = max(frame, _RELATIVE_BAR_FRAME * longest + 2 * fwhm)
        scale = frame / config.size
    else:
        scale = survey.pixel_scale_arcsec

    bar_len_px = bar_len / scale
    if barred and bar_len_px / 2 > config.size / 2 - _BAR_EDGE_MARGIN_PX:
        raise ParameterError(
            "bar_length_px",
            round(bar_len_px, 2),
            f"galaxy {index}: the bar is longer than the {config.size}-px stamp; use a "
            "larger size, shorter bars (bar.length_to_disk_scale) or framing: relative",
        )

    # contaminants (offsets in arcsec from the centre)
    cont = config.contaminants
    contaminants: list[Contaminant] = []
    half = config.size / 2 * scale
    for kind, p_slot, prob in (
        ("star", 26, cont.star_probability),
        ("neighbour", 30, cont.neighbour_probability),
    ):
        if u[p_slot] < prob:
            mag = magnitude + cont.magnitude_offset.sample(u[p_slot + 1])
            radius = half * (cont.min_distance + (0.95 - cont.min_distance) * u[p_slot + 2])
            angle = 2 * math.pi * u[p_slot + 3]
            contaminants.append(
                Contaminant(
                    kind=kind,
                    dx_arcsec=radius * math.cos(angle),
                    dy_arcsec=radius * math.sin(angle),
                    flux=10.0 ** (-0.4 * (mag - survey.zero_point_mag)),
                    half_light_radius_arcsec=cont.neighbour_size_ratio.sample(u[34]) * re_disk
                    if kind == "neighbour"
                    else 0.0,
                    axis_ratio=0.3 + 0.7 * u[35] if kind == "neighbour" else 1.0,
                    position_angle_deg=180.0 * u[36] if kind == "neighbour" else 0.0,
                )
            )
    if cont.field_sources_per_arcmin2 > 0:
        contaminants.extend(_field_sources(config, seed, index, half, survey.zero_point_mag))
    colour_offsets = (0.0, 0.0)
    if config.bulge.colour_scatter_mag > 0 or config.disk.colour_scatter_mag > 0:
        z = galaxy_stream(seed, index, "colour").standard_normal(2)
        colour_offsets = (
            float(config.bulge.colour_scatter_mag * z[0]),
            float(config.disk.colour_scatter_mag * z[1]),
        )

    sky_level = 10.0 ** (-0.4 * (survey.sky_mag_per_arcsec2 - survey.zero_point_mag)) * scale**2
    gain = survey.gain_e_per_adu
    sky_sigma = math.sqrt(sky_level / gain + (survey.read_noise_e / gain) ** 2)

    return GalaxyParameters(
        id=f"sim-{seed}-{index}",
        index=int(index),
        seed=int(seed),
        preset=config.preset,
        band=survey.band,
        size_px=config.size,
        framing=config.framing,
        pixel_scale_arcsec=scale,
        psf_fwhm_arcsec=fwhm,
        psf_moffat_beta=survey.psf_moffat_beta,
        magnitude=magnitude,
        flux_total=flux,
        bulge_to_total=bt,
        bulge_sersic_n=n_bulge if bt > 0 else 0.0,
        bulge_half_light_radius_arcsec=re_bulge if bt > 0 else 0.0,
        bulge_axis_ratio=q_bulge if bt > 0 else 0.0,
        disk_half_light_radius_arcsec=re_disk,
        disk_scale_length_arcsec=h_disk,
        disk_axis_ratio=q_disk,
        inclination_deg=inclination,
        disk_position_angle_deg=disk_pa,
        barred=barred,
        bar_to_total=bar_tt,
        bar_length_arcsec=bar_len,
        bar_length_px=bar_len_px,
        bar_axis_ratio=bar_q,
        bar_position_angle_deg=bar_pa,
        bar_sersic_n=n_bar if barred else 0.0,
        bar_length_to_disk_scale=ratio if barred else 0.0,
        bar_angle_to_disk_deg=psi if barred else 0.0,
        bar_intrinsic_axis_ratio=q_bar_intr if barred else 0.0,
        n_arms=n_arms,
        pitch_angle_deg=pitch,
        arm_strength=strength,
        arm_chirality=chirality,
        arm_phase_deg=phase,
        knot_fraction=knot_fraction,
        n_knots=n_knots,
        rotation_deg=rotation,
        flipped=flipped,
        n_foreground_stars=sum(c.kind == "star" for c in contaminants),
        n_neighbours=sum(c.kind == "neighbour" for c in contaminants),
        r90_arcsec=r90,
        sky_level_counts=sky_level,
        sky_sigma_counts=sky_sigma,
        bulge_colour_offset_mag=colour_offsets[0],
        disk_colour_offset_mag=colour_offsets[1],
        psf_library_index=psf_index,
        lens_to_total=lens[0],
        lens_length_arcsec=lens[1],
        lens_axis_ratio=lens[2],
        lens_position_angle_deg=lens[3],
        lens_sersic_n=n_bar if lens[0] > 0 else 0.0,
        sky_transform=(float(sky[0, 0]), float(sky[0, 1]), float(sky[1, 0]), float(sky[1, 1])),
        contaminants=tuple(contaminants),
        psf_library="" if survey.psf_library is None else survey.psf_library,
    )


def catalog_from_parameters(
    params: list[GalaxyParameters], snr: np.ndarray | list[float]
) -> pd.DataFrame:
    """The truth catalogue: one row per galaxy, labels from B/T (GaMorNet) and the bar.

    Columns are :data:`CATALOG_COLUMNS`; ``morph_label`` is 0 disk-dominated,
    1 indeterminate, 2 bulge-dominated (:func:`galaxy_xai.data.curation.gamornet_labels`)
    and ``label`` equals it.
    """
    from galaxy_xai.data.curation import gamornet_labels

    rows = [p.to_row() for p in params]
    frame = pd.DataFrame(
        rows, columns=[c for c in CATALOG_COLUMNS if c in (rows[0] if rows else {})]
    )
    frame["snr"] = np.asarray(snr, dtype=np.float64)
    labels: np.ndarray | list[int] = (
        gamornet_labels(frame["bulge_to_total"].to_numpy(dtype=float)) if rows else []
    )
    frame["morph_label"] = np.asarray(labels, dtype=np.int64)
    frame["label"] = frame["morph_label"]
    frame["source_file"] = "simulation"
    return frame[list(CATALOG_COLUMNS)]
