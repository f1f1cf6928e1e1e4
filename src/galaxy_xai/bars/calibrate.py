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
import itertools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from galaxy_xai.bars.measure import (
    CRITERIA,
    VARIANTS,
    BarParams,
    Criterion,
    Variant,
    bar_trace,
    measure_from_trace,
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


@dataclasses.dataclass(frozen=True)
class CalibrationGrid:
    """The settings searched by :func:`calibrate` (defaults: the paper's grid and more).

    Attributes
    ----------
    corr_thresholds
        Elongation thresholds of the stop rule, each strictly between 0 and 1.
    min_pixels
        Minimum pixel counts, each >= 3.
    multiply
        Whether to multiply the map by the image (False only when no images are given).
    criteria
        Stop criteria (see :data:`galaxy_xai.bars.measure.CRITERIA`).
    variants
        Measurement variants (see :data:`galaxy_xai.bars.measure.VARIANTS`).
    smooth_sigma_px
        Gaussian smoothing widths of the map, pixels (>= 0).
    fit_scale
        Fit one multiplicative length scale per setting (least squares through the
        origin) on the calibration split; otherwise the raw length is used.
    """

    corr_thresholds: tuple[float, ...] = (0.70, 0.75, 0.80, 0.85, 0.90)
    min_pixels: tuple[int, ...] = (10, 20, 30, 40, 50)
    multiply: tuple[bool, ...] = (False, True)
    criteria: tuple[str, ...] = CRITERIA
    variants: tuple[str, ...] = VARIANTS
    smooth_sigma_px: tuple[float, ...] = (0.0, 1.0, 2.0)
    fit_scale: bool = True

    def __post_init__(self) -> None:
        for name in ("corr_thresholds", "min_pixels", "multiply", "criteria", "variants",
                     "smooth_sigma_px"):  # fmt: skip
            if len(getattr(self, name)) == 0:
                raise ParameterError(name, getattr(self, name), "the grid needs at least one value")
        for c in self.corr_thresholds:
            if not 0.0 < c < 1.0:
                raise ParameterError(
                    "corr_thresholds",
                    c,
                    "each must lie strictly between 0 and 1 (paper: 0.70-0.90)",
                )
        for m in self.min_pixels:
            if isinstance(m, bool) or int(m) != m or m < 3:
                raise ParameterError("min_pixels", m, "each must be an integer >= 3 (paper: 10-50)")
        for crit in self.criteria:
            if crit not in CRITERIA:
                raise ParameterError("criteria", crit, f"each must be one of {CRITERIA}")
        for v in self.variants:
            if v not in VARIANTS:
                raise ParameterError("variants", v, f"each must be one of {VARIANTS}")
        for s in self.smooth_sigma_px:
            if not (np.isfinite(s) and s >= 0):
                raise ParameterError("smooth_sigma_px", s, "each must be >= 0 pixels")

    @property
    def size(self) -> int:
        """Number of settings in the grid."""
        return int(
            np.prod(
                [
                    len(self.corr_thresholds),
                    len(self.min_pixels),
                    len(self.multiply),
                    len(self.criteria),
                    len(self.variants),
                    len(self.smooth_sigma_px),
                ]
            )
        )


#: The grid of Bhambra et al. (2022): their thresholds, minimum pixels and multiply
#: option, with the Pearson stop criterion, all pixels above the threshold
#: (``published``) and no smoothing.
PAPER_GRID = CalibrationGrid(criteria=("pearson",), variants=("published",), smooth_sigma_px=(0.0,))


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

    The threshold scan depends only on (multiply, smoothing, variant), so it is computed
    once per combination and every (criterion, threshold, minimum pixels) reuses it.
    """
    rows = []
    prep = list(itertools.product(multiply_options, grid.smooth_sigma_px, grid.variants))
    for multiply, sigma, variant in progress(prep, desc="calibrate"):
        # The grid's criteria and variants are checked in CalibrationGrid.__post_init__.
        scan = dataclasses.replace(
            base, multiply=bool(multiply), variant=cast(Variant, variant),
            smooth_sigma_px=float(sigma), length_scale=1.0,
        )  # fmt: skip
        traces = _traces(maps, images, scan)
        for criterion, corr, min_pix in itertools.product(
            grid.criteria, grid.corr_thresholds, grid.min_pixels
        ):
            params = dataclasses.replace(
                scan, criterion=cast(Criterion, criterion), corr_threshold=float(corr),
                min_pixels=int(min_pix),
            )  # fmt: skip
            rows.append(_setting_row(traces, truth, params, grid.fit_scale, objective))
    table = pd.DataFrame(rows).sort_values(
        ["score", "frac_ok"], ascending=[True, False], kind="stable"
    )
    return table.reset_index(drop=True)


def _traces(maps: np.ndarray, images: np.ndarray | None, params: BarParams) -> list[Any]:
    """The threshold scan of every map under the preprocessing and variant of ``params``."""
    return [
        bar_trace(
            maps[i],
            None if images is None else images[i],
            multiply=params.multiply,
            variant=params.variant,
            smooth_sigma_px=params.smooth_sigma_px,
            absolute=params.absolute,
            t_start=params.t_start,
            t_step=params.t_step,
        )
        for i in range(len(maps))
    ]


def _setting_row(
    traces: list[Any], truth: np.ndarray, params: BarParams, fit_scale: bool, objective: str
) -> dict[str, Any]:
    """One row of the calibration table: a setting, its fitted scale and its score."""
    res = [measure_from_trace(tr, params) for tr in traces]
    raw = np.array([r.length_px for r in res])
    scale = _fit_scale(raw, truth) if fit_scale else 1.0
    flags = [r.flag for r in res]
    return {
        "criterion": params.criterion,
        "corr_threshold": params.corr_threshold,
        "min_pixels": params.min_pixels,
        "multiply": params.multiply,
        "variant": params.variant,
        "smooth_sigma_px": params.smooth_sigma_px,
        "length_scale": scale,
        "score": _score(raw * scale, truth, objective),
        "frac_ok": float(np.mean([f in ("ok", "touches_edge") for f in flags])),
        "n_unmeasured": int(np.sum(~np.isfinite(raw))),
    }


def _params_of(row: pd.Series, base: BarParams) -> BarParams:
    """The settings of one row of the calibration table, over ``base``."""
    return dataclasses.replace(
        base,
        criterion=cast(Criterion, str(row["criterion"])),
        corr_threshold=float(row["corr_threshold"]),
        min_pixels=int(row["min_pixels"]),
        multiply=bool(row["multiply"]),
        variant=cast(Variant, str(row["variant"])),
        smooth_sigma_px=float(row["smooth_sigma_px"]),
        length_scale=float(row["length_scale"]),
    )


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
