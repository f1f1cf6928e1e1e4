"""Bar length from a saliency map: the Bhambra et al. (2022) algorithm and robust variants.

The published algorithm (Bhambra, Joachimi & Lahav 2022, MNRAS 511, 5032, sect. 4):

1. optionally multiply the saliency map by the image;
2. scale the map to [0, 1];
3. raise a threshold ``t`` from 0.5 towards 1 in fine steps; at each ``t`` take the
   pixels above ``t`` and compute the absolute Pearson correlation of their x and y
   coordinates;
4. stop when that exceeds a correlation threshold, or when fewer than a minimum number
   of pixels remain;
5. the bar is the set of pixels above that ``t``; its length is the largest distance
   between two of its pixels (pixel centres; the convex hull makes this fast).

**Orientation.** The Pearson correlation of x and y is ~0 for a bar lying along either
image axis, however elongated it is, so the published stop rule fails at position
angles near 0 and 90 degrees. The default ``criterion="eigen"`` is rotation invariant:
from the eigenvalues ``l1 >= l2`` of the coordinate covariance it uses
``(l1 - l2) / (l1 + l2)``, which is exactly the largest ``|r|`` that the same pixels
reach under any rotation (the published value for a bar at 45 degrees), so the same
threshold range (0.70-0.90) means the same elongation. ``criterion="ellipticity"``
uses ``1 - sqrt(l2 / l1)``; ``criterion="pearson"`` is the published rule.

**Variants** (beyond the paper; pick one by validation with
:func:`galaxy_xai.bars.calibrate.calibrate`, never on the test set):

``"published"``
    all pixels above ``t``; length = largest pixel-centre distance.
``"central"``
    only the 8-connected component containing (or nearest to) the image centre, at
    every step, so a bright spiral-arm or star blob elsewhere cannot stretch the bar.
``"moments"``
    the central component, length from its second moments: ``sqrt(12 l1)`` (exact for
    a uniform thin bar), robust to a single stray pixel at the end.

A galaxy with no measurable bar is never dropped: each result carries a quality flag
(:data:`QUALITY_FLAGS`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import numbers
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = [
    "CRITERIA",
    "QUALITY_FLAGS",
    "SCAN_SETTINGS",
    "VARIANTS",
    "BarMeasurement",
    "BarParams",
    "BarTrace",
    "Search",
    "Setting",
    "bar_settings",
    "bar_trace",
    "max_pixel_distance",
    "measure_bar",
    "measure_bars",
    "prepare_map",
    "scan_settings",
    "searched_settings",
    "validate_params",
]

log = logging.getLogger(__name__)

Criterion = Literal["eigen", "ellipticity", "pearson"]
Variant = Literal["published", "central", "moments"]
CRITERIA: tuple[Criterion, ...] = ("eigen", "ellipticity", "pearson")
VARIANTS: tuple[Variant, ...] = ("published", "central", "moments")
#: Quality flags, best first. ``ok``: stopped on the elongation criterion;
#: ``touches_edge``: as ok, but the bar reaches the image border (length may be cut);
#: ``too_few_pixels``: the pixel count fell below ``min_pixels`` before the criterion
#: was met (length measured on the last set with enough pixels);
#: ``no_bar_found``: nothing to measure (flat map, or too few pixels even at t_start);
#: ``nan_map``: the map (or image) holds NaN or infinite values.
QUALITY_FLAGS = ("ok", "touches_edge", "too_few_pixels", "no_bar_found", "nan_map")

_STRUCTURE_8 = np.ones((3, 3), dtype=bool)


@dataclasses.dataclass(frozen=True)
class Search:
    """How calibration searches one :class:`BarParams` field.

    Attributes
    ----------
    grid
        Its field in :class:`~galaxy_xai.bars.calibrate.CalibrationGrid`, which is also
        its key in the ``grid`` of a calibration file (a file format: never rename).
    values
        The values searched by default (the grid field's default).
    column
        Position of the grid field in ``CalibrationGrid`` and in a calibration file's
        ``grid`` (0 first; part of the file format).
    nesting
        Position of the field in the search's nested loops, outermost first: the fields
        the threshold scan depends on (keywords of :func:`bar_trace`) are searched
        outside the others, each group in this order. It fixes which of two tied
        settings ranks first, so it is part of the result.
    paper
        The values of Bhambra et al. (2022)
        (:data:`~galaxy_xai.bars.calibrate.PAPER_GRID`); None: they kept the
        ``BarParams`` default.
    """

    grid: str
    values: tuple[Any, ...]
    column: int
    nesting: int
    paper: tuple[Any, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Setting:
    """What one :class:`BarParams` field is and which values it takes.

    The one declaration of a field, held in its ``metadata["setting"]``: the settings
    check (:func:`validate_params`), the calibration grid
    (:class:`~galaxy_xai.bars.calibrate.CalibrationGrid`, its checks, size and search)
    and the options of ``galaxy-xai bars calibrate`` and ``bars measure`` are made
    from it. The field's type is that of its default (``str``, ``float``, ``int``,
    ``bool``).

    Attributes
    ----------
    help
        What the setting is (the command-line help).
    rule
        What a valid value is, completing "must ...": ``"lie in [0, 1)"``; with
        ``choices`` it is made from them; empty: not checked.
    choices
        The valid values of a ``str`` setting.
    low, high, low_open, high_open
        The bounds of a number (``low_open``: ``> low`` instead of ``>= low``); numbers
        must be finite.
    cli_high
        A tighter upper bound on the command line (a value a user would type only by
        mistake), or None.
    search
        How calibration searches it, or None if it is not searched.
    flag
        Its option name in both commands, without ``--``; None: ``--<field>`` in
        ``bars measure`` and ``--<grid field>`` in ``bars calibrate`` (``_`` -> ``-``).
    """

    help: str
    rule: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    cli_high: float | None = None
    search: Search | None = None
    flag: str | None = None

    def reason(self) -> str:
        """What a valid value is, as a :class:`ParameterError` says it (``"must ..."``)."""
        return f"must be one of {self.choices}" if self.choices else f"must {self.rule}"

    def accepts(self, value: object, kind: type) -> bool:
        """Whether ``value`` is a valid setting of type ``kind`` (always, when unchecked)."""
        if self.choices:
            return value in self.choices
        if not self.rule:
            return True
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if kind is int and not isinstance(value, int | np.integer):
            return False
        number = float(value)
        if not np.isfinite(number):
            return False
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        return self.high is None or not (
            number > self.high or (self.high_open and number == self.high)
        )


def _setting(**declaration: Any) -> dict[str, Setting]:
    """The ``metadata`` of a :class:`BarParams` field: its :class:`Setting`."""
    return {"setting": Setting(**declaration)}


@dataclasses.dataclass(frozen=True)
class BarParams:
    """Settings of the bar measurement (frozen by calibration).

    Each field declares, in its ``metadata["setting"]`` (a :class:`Setting`), its help,
    its valid values and whether calibration searches it (:func:`bar_settings`); the
    checks, the calibration grid and the command-line options are made from that.

    Attributes
    ----------
    criterion
        Elongation measure of the stop rule: ``"eigen"`` (rotation invariant,
        default), ``"ellipticity"`` or ``"pearson"`` (published; orientation dependent).
    corr_threshold
        Stop when the elongation measure exceeds this (0 < value < 1; paper: 0.70-0.90).
    min_pixels
        Stop when fewer pixels than this remain above the threshold (>= 3).
    multiply
        Multiply the map by the image (channel mean) before scaling.
    variant
        ``"published"``, ``"central"`` or ``"moments"`` (see module docstring).
    smooth_sigma_px
        Gaussian smoothing of the map before scaling, pixels (0: none; paper: none).
    absolute
        Use ``|map|`` (signed gradient maps hold the bar in both signs).
    t_start, t_step
        First threshold and step of the threshold scan (fractions of the scaled map).
    length_scale
        Factor applied to every measured length (fitted on the calibration split by
        :func:`galaxy_xai.bars.calibrate.calibrate`; 1 = raw algorithm).
    """

    criterion: Criterion = dataclasses.field(
        default="eigen",
        metadata=_setting(
            help="elongation measure of the stop rule",
            choices=CRITERIA,
            search=Search("criteria", CRITERIA, column=3, nesting=0, paper=("pearson",)),
        ),
    )
    corr_threshold: float = dataclasses.field(
        default=0.8,
        metadata=_setting(
            help="stop when the elongation measure exceeds this",
            rule="lie strictly between 0 and 1 (paper: 0.70-0.90)",
            low=0.0, high=1.0, low_open=True, high_open=True,
            # below the paper's range too: a SmoothGrad map is blurred by the PSF and the
            # noise it averages over, so a bar of axis ratio ~0.25 shows as ~0.5 in it
            # and never reaches 0.70 (the demo's maps: every galaxy stopped on
            # too_few_pixels)
            search=Search("corr_thresholds",
                          (0.30, 0.40, 0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90), column=0,
                          nesting=1, paper=(0.70, 0.75, 0.80, 0.85, 0.90)),
        ),
    )  # fmt: skip
    min_pixels: int = dataclasses.field(
        default=20,  # paper's grid 10-50
        metadata=_setting(
            help="stop when fewer pixels than this remain above the threshold",
            rule="be an integer >= 3 (paper: 10-50)",
            low=3,
            search=Search("min_pixels", (10, 20, 30, 40, 50), column=1, nesting=2,
                          paper=(10, 20, 30, 40, 50)),
        ),
    )  # fmt: skip
    multiply: bool = dataclasses.field(
        default=False,
        metadata=_setting(
            help="multiply map by image",
            search=Search("multiply", (False, True), column=2, nesting=0, paper=(False, True)),
        ),
    )
    variant: Variant = dataclasses.field(
        default="published",
        metadata=_setting(
            help="measurement variant (see galaxy_xai.bars.measure)",
            choices=VARIANTS,
            search=Search("variants", VARIANTS, column=4, nesting=2),
        ),
    )
    smooth_sigma_px: float = dataclasses.field(
        default=0.0,
        metadata=_setting(
            help="Gaussian smoothing sigma of the map, px",
            rule="be >= 0 pixels",
            low=0.0,
            # wider kernels erase every bar on maps of a few hundred pixels and cost
            # time (and memory) for nothing
            cli_high=100.0,
            search=Search("smooth_sigma_px", (0.0, 1.0, 2.0), column=5, nesting=1),
            flag="smooth",
        ),
    )
    absolute: bool = dataclasses.field(
        default=True, metadata=_setting(help="use |map| (signed maps hold the bar in both signs)")
    )
    t_start: float = dataclasses.field(
        default=0.5,  # published starting threshold
        metadata=_setting(
            help="first threshold of the scan", rule="lie in [0, 1)", low=0.0, high=1.0,
            high_open=True,
        ),
    )  # fmt: skip
    t_step: float = dataclasses.field(
        default=0.005,  # "fine steps": 100 thresholds between 0.5 and 1
        metadata=_setting(
            help="step of the threshold scan", rule="lie in (0, 0.1]", low=0.0, high=0.1,
            low_open=True,
        ),
    )  # fmt: skip
    length_scale: float = dataclasses.field(
        default=1.0,
        metadata=_setting(
            help="factor applied to every measured length (fitted by calibration)",
            rule="be a positive number", low=0.0, low_open=True,
        ),
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate_params(**{name: getattr(self, name) for name in bar_settings()})


@functools.cache
def bar_settings() -> Mapping[str, tuple[type, Setting]]:
    """Every :class:`BarParams` field, in order: name -> (its type, its :class:`Setting`)."""
    return types.MappingProxyType(
        {f.name: (type(f.default), f.metadata["setting"]) for f in dataclasses.fields(BarParams)}
    )


def search_of(name: str) -> Search:
    """How calibration searches the ``BarParams`` field ``name`` (one that it searches)."""
    return cast(Search, bar_settings()[name][1].search)


def searched_settings(order: Literal["field", "column", "nesting"] = "field") -> list[str]:
    """The :class:`BarParams` fields calibration searches, in the order asked.

    ``"field"``: as declared (the columns of a calibration table); ``"column"``: as the
    fields of ``CalibrationGrid``; ``"nesting"``: as the search's loops, outermost
    first, the threshold scan's fields (:data:`SCAN_SETTINGS`) before the others.
    """
    found = {name: s.search for name, (_, s) in bar_settings().items() if s.search is not None}
    if order == "column":
        return sorted(found, key=lambda name: found[name].column)
    if order == "nesting":
        return sorted(found, key=lambda name: (name not in SCAN_SETTINGS, found[name].nesting))
    return list(found)


def validate_params(**settings: object) -> None:
    """Check measurement settings (:class:`BarParams` fields, by name).

    Raises
    ------
    ParameterError
        Naming the first bad setting, or a name that is no ``BarParams`` field.
    """
    table = bar_settings()
    for name, value in settings.items():
        if name not in table:
            raise ParameterError(name, value, f"is not a setting (one of {', '.join(table)})")
        kind, setting = table[name]
        if not setting.accepts(value, kind):
            raise ParameterError(name, value, setting.reason())


@dataclasses.dataclass(frozen=True)
class BarMeasurement:
    """One galaxy's bar.

    Attributes
    ----------
    length_px
        Bar length (end to end), pixels, after ``length_scale``; NaN when flagged
        ``no_bar_found`` or ``nan_map``.
    flag
        One of :data:`QUALITY_FLAGS`.
    threshold
        The stopping threshold ``t`` (fraction of the scaled map); NaN if none.
    n_pixels
        Pixels in the bar set.
    elongation
        Value of the stop criterion for the bar set.
    angle_deg
        Position angle of the bar's major axis in [0, 180) degrees, in the package's
        one convention (that of the simulation truth): counter-clockwise from the +x
        (column) axis towards +y (row index) of ``image[y, x]``, i.e. as seen with
        ``imshow(..., origin="lower")``.
    """

    length_px: float
    flag: str
    threshold: float = float("nan")
    n_pixels: int = 0
    elongation: float = float("nan")
    angle_deg: float = float("nan")


# ---------------------------------------------------------------------------- helpers
def prepare_map(
    saliency: np.ndarray,
    image: np.ndarray | None = None,
    *,
    multiply: bool = False,
    absolute: bool = True,
    smooth_sigma_px: float = 0.0,
) -> np.ndarray | None:
    """Return the map scaled to [0, 1] (after |.|, smoothing and image product), or None.

    None means the map cannot be scaled (all values equal). Non-finite input is the
    caller's to flag (see :func:`measure_bar`).

    Parameters
    ----------
    saliency
        ``(H, W)`` map.
    image
        ``(H, W)`` or ``(C, H, W)`` image (channels averaged); needed when ``multiply``.

    Raises
    ------
    ParameterError
        If ``saliency`` is not 2-D, or ``multiply`` is set and ``image`` is None or
        (channels averaged) not of the map's shape.
    """
    m = np.asarray(saliency, dtype=np.float64)
    if m.ndim != 2:
        raise ParameterError("saliency", m.shape, "must be a 2-D (H, W) map")
    if absolute:
        m = np.abs(m)
    if smooth_sigma_px > 0:
        m = ndimage.gaussian_filter(m, smooth_sigma_px, mode="nearest")
    if multiply:
        if image is None:
            raise ParameterError("image", None, "multiply=True needs the galaxy image")
        img = np.asarray(image, dtype=np.float64)
        if img.ndim == 3:
            img = img.mean(axis=0)
        if img.shape != m.shape:
            raise ParameterError("image", img.shape, f"must have the map's shape {m.shape}")
        m = m * img
    lo, hi = float(m.min()), float(m.max())
    if not hi > lo:
        return None
    return (m - lo) / (hi - lo)


def max_pixel_distance(rows: np.ndarray, cols: np.ndarray) -> float:
    """Largest distance between two pixel centres (pixels), via the convex hull.

    Only hull vertices can realise the maximum, so the pairwise search runs over a
    few dozen points even for bars of thousands of pixels.
    """
    pts = np.column_stack([cols, rows]).astype(np.float64)
    if len(pts) < 2:
        return 0.0
    if len(pts) > 8:
        try:
            pts = pts[ConvexHull(pts).vertices]
        except QhullError:  # collinear pixels: the extremes along the line
            centred = pts - pts.mean(axis=0)
            proj = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
            return float(proj.max() - proj.min())
    diff = pts[:, None, :] - pts[None, :, :]
    return float(np.sqrt((diff**2).sum(-1)).max())


def _elongations(
    n: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray
) -> dict[str, np.ndarray]:
    """The three elongation criteria (and the major-axis angle) from raw moment sums."""
    with np.errstate(invalid="ignore", divide="ignore"):
        nn = np.maximum(n, 1)
        vxx = sxx / nn - (sx / nn) ** 2
        vyy = syy / nn - (sy / nn) ** 2
        vxy = sxy / nn - (sx / nn) * (sy / nn)
        vxx, vyy = np.maximum(vxx, 0.0), np.maximum(vyy, 0.0)
        half_trace = 0.5 * (vxx + vyy)
        root = np.sqrt((0.5 * (vxx - vyy)) ** 2 + vxy**2)
        l1, l2 = half_trace + root, np.maximum(half_trace - root, 0.0)
        pearson = np.abs(vxy) / np.sqrt(vxx * vyy)
        eigen = (l1 - l2) / (l1 + l2)
        ellipticity = 1.0 - np.sqrt(l2 / l1)
        # x = column, y = row index: the simulation truth's convention
        angle = np.degrees(0.5 * np.arctan2(2.0 * vxy, vxx - vyy)) % 180.0
    few = n < 2
    out = {"pearson": pearson, "eigen": eigen, "ellipticity": ellipticity}
    for key in out:
        out[key] = np.where(few | ~np.isfinite(out[key]), 0.0, out[key])
    out["angle"] = np.where(few, np.nan, angle)
    out["l1"] = np.where(few, 0.0, l1)
    return out


# ---------------------------------------------------------------------------- traces
@dataclasses.dataclass
class BarTrace:
    """Everything the stop rule needs, for every threshold of one prepared map.

    Built once per (map, preprocessing, variant), so that a calibration grid over
    criterion, correlation threshold and minimum pixels costs almost nothing more.
    """

    thresholds: np.ndarray  # (T,)
    n_pixels: np.ndarray  # (T,) int
    crit: dict[str, np.ndarray]  # criterion -> (T,)
    angle: np.ndarray  # (T,) degrees
    l1: np.ndarray  # (T,) major-axis variance, px^2
    variant: str
    shape: tuple[int, int]
    _masks: dict[int, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)
    _scaled: np.ndarray | None = None
    _lengths: dict[int, float] = dataclasses.field(default_factory=dict)

    def pixels(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the bar set at threshold index ``k``."""
        if k not in self._masks:
            mask = self._scaled > self.thresholds[k]
            if self.variant != "published":
                mask = _central_component(mask)
            rows, cols = np.nonzero(mask)
            self._masks[k] = (rows, cols)
        return self._masks[k]

    def length(self, k: int) -> float:
        """Raw length (pixels) of the bar set at threshold index ``k``."""
        if k not in self._lengths:
            if self.variant == "moments":
                self._lengths[k] = float(np.sqrt(12.0 * self.l1[k]))
            else:
                rows, cols = self.pixels(k)
                self._lengths[k] = max_pixel_distance(rows, cols)
        return self._lengths[k]

    def touches_edge(self, k: int) -> bool:
        rows, cols = self.pixels(k)
        h, w = self.shape
        return bool(
            len(rows)
            and (rows.min() == 0 or cols.min() == 0 or rows.max() == h - 1 or cols.max() == w - 1)
        )

    def stop_index(self, criterion: str, corr_threshold: float, min_pixels: int) -> tuple[int, str]:
        """Index of the bar set and its flag, for one setting of the stop rule.

        Returns ``(k, flag)``; ``k = -1`` when there is nothing to measure.
        """
        enough = self.n_pixels >= min_pixels
        elongated = self.crit[criterion] > corr_threshold
        # first index where the pixel count has dropped below the minimum
        below = np.flatnonzero(~enough)
        first_below = int(below[0]) if len(below) else len(self.thresholds)
        hits = np.flatnonzero(elongated[:first_below])
        if len(hits):
            k = int(hits[0])
            return k, "touches_edge" if self.touches_edge(k) else "ok"
        if first_below == 0:
            return -1, "no_bar_found"
        return first_below - 1, "too_few_pixels"


def _central_component(mask: np.ndarray) -> np.ndarray:
    """The 8-connected component of ``mask`` containing, or nearest to, the centre."""
    labels, count = ndimage.label(mask, structure=_STRUCTURE_8)
    if count <= 1:
        return mask
    h, w = mask.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    centre_label = labels[round(cy), round(cx)]
    if centre_label == 0:
        rows, cols = np.nonzero(labels)
        nearest = np.argmin((rows - cy) ** 2 + (cols - cx) ** 2)
        centre_label = labels[rows[nearest], cols[nearest]]
    return labels == centre_label


def bar_trace(
    saliency: np.ndarray,
    image: np.ndarray | None = None,
    *,
    multiply: bool = False,
    variant: str = "published",
    smooth_sigma_px: float = 0.0,
    absolute: bool = True,
    t_start: float = 0.5,
    t_step: float = 0.005,
) -> BarTrace | None:
    """Scan the thresholds of one map; None if the map is flat (nothing to measure).

    The map must be finite (see :func:`measure_bar` for the flagging wrapper).

    Raises
    ------
    ParameterError
        If ``variant`` is not one of :data:`VARIANTS`, or the map or image is refused
        by :func:`prepare_map`.
    """
    if variant not in VARIANTS:
        raise ParameterError("variant", variant, f"must be one of {VARIANTS}")
    scaled = prepare_map(
        saliency, image, multiply=multiply, absolute=absolute, smooth_sigma_px=smooth_sigma_px
    )
    if scaled is None:
        return None
    h, w = scaled.shape
    thresholds = np.arange(t_start, 1.0, t_step)
    rows, cols = np.mgrid[:h, :w]
    if variant == "published":
        # all thresholds at once: cumulative moment sums over pixels sorted by value
        vals = scaled.ravel()
        order = np.argsort(-vals, kind="stable")
        desc = vals[order]
        x = cols.ravel()[order].astype(np.float64)
        y = rows.ravel()[order].astype(np.float64)
        cums = [np.concatenate([[0.0], np.cumsum(a)]) for a in (x, y, x * x, y * y, x * y)]
        # number of pixels strictly above t (desc is descending)
        n = np.searchsorted(-desc, -thresholds, side="left")
        moments = [c[n] for c in cums]
        n_pix = n.astype(np.int64)
    else:
        stats = np.zeros((len(thresholds), 6))
        for k, t in enumerate(thresholds):
            comp = _central_component(scaled > t)
            rr, cc = np.nonzero(comp)
            xf, yf = cc.astype(np.float64), rr.astype(np.float64)
            stats[k] = (
                len(rr),
                xf.sum(),
                yf.sum(),
                (xf * xf).sum(),
                (yf * yf).sum(),
                (xf * yf).sum(),
            )
        n_pix = stats[:, 0].astype(np.int64)
        moments = [stats[:, i] for i in range(1, 6)]
    el = _elongations(n_pix.astype(np.float64), *moments)
    return BarTrace(
        thresholds=thresholds,
        n_pixels=n_pix,
        crit={c: el[c] for c in CRITERIA},
        angle=el["angle"],
        l1=el["l1"],
        variant=variant,
        shape=(h, w),
        _scaled=scaled,
    )


#: The :class:`BarParams` fields the threshold scan depends on: the keywords of
#: :func:`bar_trace`. Calibration computes one scan per setting of these and applies
#: every setting of the other fields to it.
SCAN_SETTINGS = tuple(
    name
    for name, parameter in inspect.signature(bar_trace).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
)


def scan_settings(params: BarParams) -> dict[str, Any]:
    """The keywords of :func:`bar_trace` under ``params``."""
    return {name: getattr(params, name) for name in SCAN_SETTINGS}


def measure_from_trace(trace: BarTrace | None, params: BarParams) -> BarMeasurement:
    """Apply the stop rule of ``params`` to a precomputed trace."""
    if trace is None:
        return BarMeasurement(float("nan"), "no_bar_found")
    k, flag = trace.stop_index(params.criterion, params.corr_threshold, params.min_pixels)
    if k < 0:
        return BarMeasurement(float("nan"), flag)
    return BarMeasurement(
        length_px=trace.length(k) * params.length_scale,
        flag=flag,
        threshold=float(trace.thresholds[k]),
        n_pixels=int(trace.n_pixels[k]),
        elongation=float(trace.crit[params.criterion][k]),
        angle_deg=float(trace.angle[k]),
    )


# ---------------------------------------------------------------------------- public
def measure_bar(
    saliency: np.ndarray,
    image: np.ndarray | None = None,
    *,
    params: BarParams | None = None,
    **overrides: object,
) -> BarMeasurement:
    """Measure the bar in one saliency map.

    Parameters
    ----------
    saliency
        ``(H, W)`` saliency map (e.g. SmoothGrad of the ``bar`` output).
    image
        ``(H, W)`` or ``(C, H, W)`` galaxy image; needed only when ``multiply=True``.
    params
        Measurement settings (default :class:`BarParams`); ``overrides`` replace fields,
        e.g. ``measure_bar(m, criterion="pearson")``.

    Returns
    -------
    BarMeasurement
        Length in pixels and a quality flag; a map with NaNs gives ``flag="nan_map"``
        and a NaN length, never an exception.

    Raises
    ------
    ParameterError
        On a bad setting (criterion, corr_threshold, min_pixels...).
    """
    params = dataclasses.replace(params or BarParams(), **overrides)  # type: ignore[arg-type]
    m = np.asarray(saliency)
    if m.ndim != 2:
        raise ParameterError("saliency", m.shape, "must be a 2-D (H, W) map")
    if not np.all(np.isfinite(m)) or (
        params.multiply and image is not None and not np.all(np.isfinite(image))
    ):
        return BarMeasurement(float("nan"), "nan_map")
    return measure_from_trace(bar_trace(m, image, **scan_settings(params)), params)


def measure_bars(
    maps: np.ndarray,
    images: np.ndarray | None = None,
    *,
    ids: Sequence[object] | None = None,
    params: BarParams | None = None,
) -> pd.DataFrame:
    """Measure the bar in every map of a stack.

    Parameters
    ----------
    maps
        ``(N, H, W)`` saliency maps.
    images
        ``(N, H, W)`` or ``(N, C, H, W)`` images (needed when ``params.multiply``).
    ids
        One id per map (default ``0..N-1``).
    params
        Measurement settings (default :class:`BarParams`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, bar_length_px, quality_flag, threshold, n_pixels, elongation,
        bar_angle_deg``, one row per map in input order; no row is dropped.

    Raises
    ------
    ParameterError
        If ``maps`` is not 3-D ``(N, H, W)``, ``params.multiply`` is set but ``images``
        is None, or ``images`` or ``ids`` does not hold one entry per map.
    """
    params = params or BarParams()
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ParameterError("maps", maps.shape, "must be (N, H, W)")
    if params.multiply and images is None:
        raise ParameterError("images", None, "multiply=True needs the galaxy images")
    if images is not None and len(images) != len(maps):
        raise ParameterError("images", len(images), f"need one image per map ({len(maps)})")
    ids = list(range(len(maps))) if ids is None else list(ids)
    if len(ids) != len(maps):
        raise ParameterError("ids", len(ids), f"need one id per map ({len(maps)})")
    rows = []
    for i in range(len(maps)):
        res = measure_bar(maps[i], None if images is None else images[i], params=params)
        if res.flag == "nan_map":
            log.warning("map of id %r holds NaN or infinite values; flagged nan_map", ids[i])
        rows.append(
            {
                "id": str(ids[i]),
                "bar_length_px": res.length_px,
                "quality_flag": res.flag,
                "threshold": res.threshold,
                "n_pixels": res.n_pixels,
                "elongation": res.elongation,
                "bar_angle_deg": res.angle_deg,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "bar_length_px",
            "quality_flag",
            "threshold",
            "n_pixels",
            "elongation",
            "bar_angle_deg",
        ],
    )


def check_finite_map(saliency: np.ndarray, *, ident: object) -> None:
    """Raise :class:`DataFormatError` naming ``ident`` if the map holds NaN/inf values.

    Raises
    ------
    DataFormatError
        If ``saliency`` holds a NaN or infinite value.
    """
    if not np.all(np.isfinite(saliency)):
        raise DataFormatError(f"saliency map of id {ident!r} holds NaN or infinite values")
