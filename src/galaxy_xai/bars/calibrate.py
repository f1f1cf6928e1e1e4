"""Calibrating the bar measurement by grid search on a calibration split, then freezing it.

Bhambra et al. (2022) chose the correlation threshold (0.70-0.90), the minimum number
of pixels (10-50) and whether to multiply the map by the image by comparing with human
measurements. Here that choice is a grid search on a *calibration* split only, extended
to the stop criterion, the measurement variant and a light smoothing of the map, with a
length scale fitted on the same split; the winner is written to a JSON file and used
unchanged on every other galaxy (:func:`load_calibration`). The test split must never
be passed here.

Cost: the threshold scan of a map depends only on the preprocessing (multiply,
smoothing) and the variant, so it is computed once per combination
(:func:`galaxy_xai.bars.measure.bar_trace`) and every (criterion, threshold, minimum
pixels) setting reuses it.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import numpy as np
import pandas as pd

from galaxy_xai.bars.measure import (
    SCAN_SETTINGS,
    BarParams,
    Setting,
    bar_settings,
    bar_trace,
    measure_from_trace,
    scan_settings,
    search_of,
    searched_settings,
)
from galaxy_xai.errors import ConfigError, DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import write_json
from galaxy_xai.progress import progress
from galaxy_xai.stats import rmse

__all__ = [
    "PAPER_GRID",
    "CalibrationGrid",
    "CalibrationResult",
    "calibrate",
    "load_calibration",
    "save_calibration",
]

log = logging.getLogger(__name__)
CALIBRATION_FORMAT = "galaxy-xai-bar-calibration"
T = TypeVar("T")


def _grid_fields(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass with one tuple field per searched ``BarParams`` field.

    The fields come first, in the order of their ``Search.column`` (a calibration
    file's ``grid`` keys), each a ``tuple`` of the setting's type defaulting to
    ``Search.values``; then the fields declared in ``cls``. Their descriptions are
    added to the docstring.
    """
    table = bar_settings()
    axes: dict[str, Any] = {}
    docs = []
    for name in searched_settings("column"):
        kind, setting = table[name]
        search = search_of(name)
        axes[search.grid] = tuple[kind, ...]  # type: ignore[valid-type]
        setattr(cls, search.grid, search.values)
        docs.append((search.grid, f"Values of ``{name}`` searched: {setting.help}."))
    cls.__annotations__ = {**axes, **inspect.get_annotations(cls)}
    indent = re.search(r"^( *)\{searched\}", cls.__doc__ or "", re.MULTILINE)
    if indent:  # the docstring's indentation, whether or not Python removed it
        pad = indent.group(1)
        text = "\n".join(f"{pad}{grid}\n{pad}    {doc}" for grid, doc in docs)
        cls.__doc__ = (cls.__doc__ or "").replace(f"{pad}{{searched}}", text)
    return dataclasses.dataclass(frozen=True)(cls)


@_grid_fields
class CalibrationGrid:
    """The settings searched by :func:`calibrate` (defaults: the paper's grid and more).

    One tuple field per :class:`~galaxy_xai.bars.measure.BarParams` field with a
    ``Search`` (its ``grid`` name; default ``Search.values``), then ``fit_scale``.

    Attributes
    ----------
    {searched}
    fit_scale
        Fit one multiplicative length scale per setting (least squares through the
        origin) on the calibration split; otherwise the raw length is used.

    Raises
    ------
    ParameterError
        If a searched field holds no value, or a value that its ``BarParams`` setting
        refuses or that changes when read as the setting's type (e.g. a
        ``corr_thresholds`` value not strictly between 0 and 1, a ``min_pixels`` value
        of 2.5 or < 3, an unknown criterion or variant).
    """

    if TYPE_CHECKING:  # the searched fields, made by _grid_fields
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

        def __init__(self, **fields: Any) -> None: ...

        def __getattr__(self, grid_field: str) -> tuple[Any, ...]: ...

    fit_scale: bool = True

    def __post_init__(self) -> None:
        axes = _axes(self)
        for name, values in axes.items():
            if len(values) == 0:
                raise ParameterError(name, values, "the grid needs at least one value")
        table, fields = bar_settings(), _grid_to_field()
        for name, values in axes.items():
            kind, setting = table[fields[name]]
            for value in values:
                if not _lossless_setting(value, kind, setting):
                    raise ParameterError(name, value, f"each {setting.reason()}")

    @property
    def size(self) -> int:
        """Number of settings in the grid."""
        return int(np.prod([len(values) for values in _axes(self).values()]))


def _grid_to_field() -> dict[str, str]:
    """Grid field -> the ``BarParams`` field whose values it holds."""
    return {search_of(name).grid: name for name in searched_settings()}


def _axes(grid: CalibrationGrid) -> dict[str, tuple[Any, ...]]:
    """The grid's searched fields, in their order: grid field -> values."""
    fields = _grid_to_field()
    return {f.name: getattr(grid, f.name) for f in dataclasses.fields(grid) if f.name in fields}


def _lossless_setting(value: object, kind: type, setting: Setting) -> bool:
    """Whether a grid value, read as ``kind`` (as the search reads it), is unchanged and valid."""
    if not setting.rule and not setting.choices:
        return True
    try:
        read = kind(value)
    except (TypeError, ValueError):
        return False
    return bool(read == value) and setting.accepts(read, kind)


def _paper_grid() -> CalibrationGrid:
    """Bhambra et al.'s values of each searched field (``Search.paper``, else the default)."""
    defaults = BarParams()
    axes: dict[str, tuple[Any, ...]] = {}
    for name in searched_settings():
        search = search_of(name)
        axes[search.grid] = search.paper if search.paper is not None else (getattr(defaults, name),)
    return CalibrationGrid(**axes)


#: The grid of Bhambra et al. (2022): their thresholds, minimum pixels and multiply
#: option, with the Pearson stop criterion, all pixels above the threshold
#: (``published``) and no smoothing.
PAPER_GRID = _paper_grid()


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """The frozen calibration: the chosen settings, their score, and the whole table."""

    params: BarParams
    score: float
    objective: str
    n_calibration: int
    table: pd.DataFrame  # one row per grid setting, best first
    ids: tuple[str, ...] = ()
    #: The cross-validated choice of grid that preceded it, if any
    #: (:class:`galaxy_xai.bars.crossval.GridChoice`).
    grid_choice: Any = None


def _fit_scale(raw: np.ndarray, truth: np.ndarray) -> float:
    good = np.isfinite(raw) & (raw > 0)
    if not good.any():
        return 1.0
    return float((raw[good] * truth[good]).sum() / (raw[good] ** 2).sum())


def _score(pred: np.ndarray, truth: np.ndarray, objective: str) -> float:
    """Lower is better. Unmeasured galaxies count as a length of 0 (a full miss)."""
    filled = np.where(np.isfinite(pred), pred, 0.0)
    if objective == "rmse":
        return rmse(filled, truth)
    if np.std(filled) == 0:
        return 1.0
    return float(1.0 - np.corrcoef(filled, truth)[0, 1])


def calibrate(
    maps: np.ndarray,
    truth_px: np.ndarray | Sequence[float],
    *,
    images: np.ndarray | None = None,
    ids: Sequence[object] | None = None,
    grid: CalibrationGrid | None = None,
    objective: Literal["rmse", "pearson"] = "rmse",
    base: BarParams | None = None,
) -> CalibrationResult:
    """Choose the bar-measurement settings that best reproduce known lengths.

    Parameters
    ----------
    maps
        ``(N, H, W)`` saliency maps of the calibration galaxies (barred ones only).
    truth_px
        True full bar lengths, pixels, one per map (finite and > 0).
    images
        ``(N, H, W)`` or ``(N, C, H, W)`` images; without them only ``multiply=False``
        is searched.
    ids
        Galaxy ids (recorded in the result; used in error messages).
    grid
        Settings to search (default :class:`CalibrationGrid`).
    objective
        ``"rmse"`` (after the fitted length scale; default) or ``"pearson"`` (1 - r).
    base
        Settings not searched (``t_start``, ``t_step``, ``absolute``).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ParameterError
        On a bad grid, objective, or inputs of different lengths.
    DataFormatError
        If a map holds NaNs or a true length is missing (naming the id).
    """
    grid = grid or CalibrationGrid()
    base = base or BarParams()
    if objective not in ("rmse", "pearson"):
        raise ParameterError("objective", objective, "must be 'rmse' or 'pearson'")
    maps = np.asarray(maps)
    truth = np.asarray(truth_px, dtype=np.float64)
    id_list = _check_inputs(maps, truth, ids)
    multiply_options = _multiply_options(grid, images, len(maps))
    table = _search(maps, images, truth, grid, multiply_options, base=base, objective=objective)
    best = table.iloc[0]
    params = _params_of(best, base)
    log.info("calibration: best %s (%s = %.4g)", params, objective, best["score"])
    return CalibrationResult(
        params=params,
        score=float(best["score"]),
        objective=objective,
        n_calibration=len(maps),
        table=table,
        ids=tuple(id_list),
    )


def _check_inputs(maps: np.ndarray, truth: np.ndarray, ids: Sequence[object] | None) -> list[str]:
    """The ids as text, after checking shapes, counts, true lengths and finite maps."""
    if maps.ndim != 3:
        raise ParameterError("maps", maps.shape, "must be (N, H, W)")
    if len(truth) != len(maps):
        raise ParameterError("truth_px", len(truth), f"needs one true length per map ({len(maps)})")
    id_list = [str(i) for i in (range(len(maps)) if ids is None else ids)]
    if len(id_list) != len(maps):
        raise ParameterError("ids", len(id_list), f"needs one id per map ({len(maps)})")
    if len(maps) < 3:
        raise ParameterError("maps", len(maps), "calibration needs at least 3 barred galaxies")
    bad_truth = ~(np.isfinite(truth) & (truth > 0))
    if bad_truth.any():
        i = int(np.flatnonzero(bad_truth)[0])
        raise DataFormatError(
            f"id {id_list[i]!r}: true bar length {float(truth[i])!r} px; calibration needs barred "
            "galaxies with a positive length"
        )
    finite = np.isfinite(maps.reshape(len(maps), -1)).all(1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise DataFormatError(f"saliency map of id {id_list[i]!r} holds NaN or infinite values")
    return id_list


def _multiply_options(
    grid: CalibrationGrid, images: np.ndarray | None, n_maps: int
) -> tuple[bool, ...]:
    """The grid's ``multiply`` values that can be searched with (or without) images."""
    if images is not None:
        if len(images) != n_maps:
            raise ParameterError("images", len(images), f"needs one image per map ({n_maps})")
        return tuple(grid.multiply)
    if tuple(grid.multiply) == (True,):
        raise ParameterError("images", None, "the grid has only multiply=True; pass images")
    if True in grid.multiply:
        log.info("no images given: searching multiply=False only")
    return tuple(m for m in grid.multiply if not m)


def _search(
    maps: np.ndarray,
    images: np.ndarray | None,
    truth: np.ndarray,
    grid: CalibrationGrid,
    multiply_options: tuple[bool, ...],
    *,
    base: BarParams,
    objective: str,
) -> pd.DataFrame:
    """Score every setting of the grid: one row per setting, best first.

    The threshold scan depends only on the fields of ``SCAN_SETTINGS`` (multiply,
    smoothing, variant), so it is computed once per combination of theirs, and every
    setting of the others (criterion, threshold, minimum pixels) reuses it. The loops
    nest in the order of ``Search.nesting``, which fixes the order of tied settings.
    """
    values = {name: getattr(grid, search_of(name).grid) for name in searched_settings()}
    values["multiply"] = multiply_options
    order = searched_settings("nesting")
    scan_names = [name for name in order if name in SCAN_SETTINGS]
    stop_names = [name for name in order if name not in SCAN_SETTINGS]
    rows = []
    scans = list(itertools.product(*(values[name] for name in scan_names)))
    for scan_values in progress(scans, desc="calibrate"):
        # The grid's values are checked in CalibrationGrid.__post_init__.
        scan = _replace_read(base, dict(zip(scan_names, scan_values, strict=True)))
        scan = dataclasses.replace(scan, length_scale=1.0)
        traces = _traces(maps, images, scan)
        for stop_values in itertools.product(*(values[name] for name in stop_names)):
            params = _replace_read(scan, dict(zip(stop_names, stop_values, strict=True)))
            rows.append(_setting_row(traces, truth, params, grid.fit_scale, objective))
    table = pd.DataFrame(rows).sort_values(
        ["score", "frac_ok"], ascending=[True, False], kind="stable"
    )
    return table.reset_index(drop=True)


def _traces(maps: np.ndarray, images: np.ndarray | None, params: BarParams) -> list[Any]:
    """The threshold scan of every map under the preprocessing and variant of ``params``."""
    scan = scan_settings(params)
    return [bar_trace(maps[i], None if images is None else images[i], **scan)
            for i in range(len(maps))]  # fmt: skip


def _replace_read(params: BarParams, settings: dict[str, Any]) -> BarParams:
    """``params`` with ``settings`` (grid or table values), each read as its field's type."""
    table = bar_settings()
    return dataclasses.replace(params, **{k: table[k][0](v) for k, v in settings.items()})


def _setting_row(
    traces: list[Any], truth: np.ndarray, params: BarParams, fit_scale: bool, objective: str
) -> dict[str, Any]:
    """One row of the calibration table: a setting, its fitted scale and its score."""
    res = [measure_from_trace(tr, params) for tr in traces]
    raw = np.array([r.length_px for r in res])
    scale = _fit_scale(raw, truth) if fit_scale else 1.0
    flags = [r.flag for r in res]
    return {
        **{name: getattr(params, name) for name in searched_settings()},
        "length_scale": scale,
        "score": _score(raw * scale, truth, objective),
        "frac_ok": float(np.mean([f in ("ok", "touches_edge") for f in flags])),
        "n_unmeasured": int(np.sum(~np.isfinite(raw))),
    }


def _params_of(row: pd.Series, base: BarParams) -> BarParams:
    """The settings of one row of the calibration table, over ``base``."""
    names = [*searched_settings(), "length_scale"]
    return _replace_read(base, {name: row[name] for name in names})


def save_calibration(
    result: CalibrationResult,
    path: str | os.PathLike[str],
    *,
    grid: CalibrationGrid | None = None,
    provenance: dict[str, Any] | None = None,
    top: int = 20,
) -> Path:
    """Freeze a calibration to JSON (settings, score, calibration ids, best ``top`` rows)."""
    from galaxy_xai import __version__

    payload = {
        "format": CALIBRATION_FORMAT,
        "galaxy_xai_version": __version__,
        "params": dataclasses.asdict(result.params),
        "objective": result.objective,
        "score": result.score,
        "n_calibration": result.n_calibration,
        "calibration_ids": list(result.ids),
        "grid": dataclasses.asdict(grid) if grid is not None else None,
        "provenance": provenance or {},
        "table": result.table.head(top).to_dict("records"),
    }
    return write_json(path, payload)


def load_calibration(path: str | os.PathLike[str]) -> BarParams:
    """Read the frozen :class:`BarParams` from a file written by :func:`save_calibration`.

    A YAML/TOML/JSON file holding just the ``BarParams`` fields (a hand-written
    setting) is accepted too.

    Raises
    ------
    DataMissingError, ConfigError
        If the file is missing, unreadable, or holds unknown keys.
    """
    from galaxy_xai.config import load_config, read_config_file
    from galaxy_xai.io import read_json

    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"calibration file '{path}' does not exist")
    if path.suffix == ".json":
        data = read_json(path, what="calibration file", fields={"params": dict})
    else:
        data = read_config_file(path)
    params = data.get("params", data) if data.get("format") == CALIBRATION_FORMAT else data
    if not isinstance(params, dict):
        raise ConfigError(f"calibration file '{path}' field 'params' must be a mapping")
    try:
        return load_config(BarParams, params)
    except (ConfigError, ParameterError) as exc:
        raise ConfigError(f"calibration file '{path}': {exc}") from None
