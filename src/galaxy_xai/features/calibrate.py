"""Calibrate the bulge measurement on simulated galaxies with known truth, then freeze it.

For each quantity (B/T and the bulge's half-light radius) the calibration chooses the
measurement settings (:class:`~galaxy_xai.features.measure.BulgeParams`) on a grid by
the highest Pearson r between the raw measurement and the truth over the calibration
galaxies, among the settings that measure at least :data:`MIN_COVERAGE` of them, then fits ``truth = slope x raw + intercept`` by least squares
(``scipy.stats.linregress``). Radii are calibrated in pixels of the image, so a
calibration carries over to another pixel scale at the same framing.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.features.measure import (
    BulgeParams,
    galaxy_regions,
    raw_measurements,
    summarise_draws,
)

__all__ = [
    "CALIBRATION_FORMAT",
    "BulgeCalibration",
    "CalibrationGrid",
    "LinearMap",
    "calibrate_bulge",
    "load_bulge_calibration",
    "save_bulge_calibration",
    "size_control",
]

CALIBRATION_FORMAT = "galaxy-xai bulge calibration"
#: Fewest usable calibration galaxies.
MIN_CALIBRATION = 8
#: Settings that measure fewer than this share of the calibration galaxies are not
#: chosen (a high r on the few galaxies a strict setting measures is no calibration),
#: unless no setting measures that many.
MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class CalibrationGrid:
    """The settings searched (every combination)."""

    map_thresholds: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
    map_powers: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    smooth_sigma_px: tuple[float, ...] = (0.0, 1.0)
    radius_from: tuple[str, ...] = ("area", "light")
    #: ``signed_share`` depends on the smoothing only: tried once per smoothing
    bt_from: tuple[str, ...] = ("region", "signed_share")

    def candidates(self) -> list[BulgeParams]:
        """Every combination as :class:`BulgeParams` (checked)."""
        out = [
            BulgeParams(map_threshold=t, map_power=p, smooth_sigma_px=s, radius_from=r)
            for t, p, s, r in itertools.product(
                self.map_thresholds, self.map_powers, self.smooth_sigma_px, self.radius_from
            )
        ]
        if "signed_share" in self.bt_from:
            out += [BulgeParams(map_threshold=self.map_thresholds[0], smooth_sigma_px=s,
                                bt_from="signed_share") for s in self.smooth_sigma_px]  # fmt: skip
        if "region" not in self.bt_from:
            out = [c for c in out if c.bt_from != "region"]
        return out


@dataclass(frozen=True)
class LinearMap:
    """``truth = slope x raw + intercept``, clipped to ``[low, high]``."""

    slope: float = 1.0
    intercept: float = 0.0
    low: float = 0.0
    high: float = float("inf")

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Apply the map (NaN stays NaN)."""
        return np.clip(self.slope * np.asarray(raw, dtype=np.float64) + self.intercept,
                       self.low, self.high)  # fmt: skip


@dataclass(frozen=True)
class BulgeCalibration:
    """A frozen bulge measurement: settings and linear map per quantity.

    Attributes
    ----------
    bt_params, bt_map
        Settings and map of B/T.
    radius_params, radius_map
        Settings and map of the half-light radius (pixels).
    n_calibration
        Galaxies fitted.
    pearson_r_bt, pearson_r_radius
        Pearson r on the calibration galaxies (in-sample: not a test figure).
    provenance
        Free-form notes (files, split).
    """

    bt_params: BulgeParams = field(default_factory=BulgeParams)
    bt_map: LinearMap = field(default_factory=lambda: LinearMap(high=1.0))
    radius_params: BulgeParams = field(default_factory=BulgeParams)
    radius_map: LinearMap = field(default_factory=LinearMap)
    n_calibration: int = 0
    pearson_r_bt: float = float("nan")
    pearson_r_radius: float = float("nan")
    provenance: dict[str, Any] = field(default_factory=dict)


def _fit(raw: np.ndarray, truth: np.ndarray, *, high: float) -> tuple[LinearMap, float]:
    from scipy.stats import linregress

    ok = np.isfinite(raw) & np.isfinite(truth)
    if ok.sum() < MIN_CALIBRATION or np.ptp(raw[ok]) == 0:
        return LinearMap(high=high), float("nan")
    fit = linregress(raw[ok], truth[ok])
    return LinearMap(float(fit.slope), float(fit.intercept), 0.0, high), float(fit.rvalue)


def calibrate_bulge(
    maps: np.ndarray | None,
    images: np.ndarray,
    bulge_to_total: np.ndarray,
    radius_px: np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    grid: CalibrationGrid | None = None,
    provenance: dict[str, Any] | None = None,
) -> BulgeCalibration:
    """Choose settings and fit the linear maps on calibration galaxies.

    Parameters
    ----------
    maps
        Maps or draws of the calibration galaxies (see
        :func:`~galaxy_xai.features.measure.raw_measurements`); ``None`` for a constant
        map (the no-saliency control).
    images
        Their images.
    bulge_to_total
        True B/T per galaxy.
    radius_px
        True bulge half-light radius per galaxy, pixels of these images.
    ids
        Galaxy ids, for messages.
    grid
        Settings to search.
    provenance
        Notes stored with the calibration.

    Returns
    -------
    BulgeCalibration

    Raises
    ------
    ParameterError
        Truth arrays of the wrong length, or fewer than :data:`MIN_CALIBRATION`
        galaxies with finite truth and a usable measurement.
    """
    n = len(images)
    bt_true = np.asarray(bulge_to_total, dtype=np.float64)
    re_true = np.asarray(radius_px, dtype=np.float64)
    for name, arr in (("bulge_to_total", bt_true), ("radius_px", re_true)):
        if arr.shape != (n,):
            raise ParameterError(name, arr.shape, f"need one value per galaxy ({n})")
    grid = grid or CalibrationGrid()
    scored: dict[str, list[tuple[float, float, BulgeParams, LinearMap]]] = {"bt": [], "re": []}
    n_used = 0
    finite = np.isfinite(bt_true) & np.isfinite(re_true)
    regions: dict[float, Any] = {}  # the galaxy regions depend on the image only
    for params in grid.candidates():
        if params.galaxy_sigma not in regions:
            regions[params.galaxy_sigma] = galaxy_regions(images, galaxy_sigma=params.galaxy_sigma,
                                                          ids=ids)  # fmt: skip
        raw = raw_measurements(maps, images, params=params, ids=ids,
                               galaxies=regions[params.galaxy_sigma])  # fmt: skip
        for quantity, key, truth, high in (("bt", "bt_raw", bt_true, 1.0),
                                           ("re", "radius_raw_px", re_true, float("inf"))):  # fmt: skip
            if quantity == "re" and params.bt_from != "region":
                continue  # the radius does not depend on bt_from
            values = summarise_draws(raw[key], raw["flags"])[0]
            measured = int((np.isfinite(values) & finite).sum())
            n_used = max(n_used, measured)
            lin, r = _fit(values, truth, high=high)
            if np.isfinite(r):
                scored[quantity].append((measured / max(1, int(finite.sum())), r, params, lin))
    best = {}
    for quantity, entries in scored.items():
        if not entries:
            continue
        top = max(c for c, *_ in entries)
        pool = [e for e in entries if e[0] >= min(MIN_COVERAGE, top)]
        best[quantity] = max(pool, key=lambda e: abs(e[1]))
    best_bt = best.get("bt")
    best_re = best.get("re")
    if best_bt is None or best_re is None:
        raise ParameterError(
            "maps",
            n_used,
            f"calibration needs >= {MIN_CALIBRATION} galaxies with finite truth and a "
            "measured bulge (flags ok/edge)",
        )
    return BulgeCalibration(
        bt_params=best_bt[2],
        bt_map=best_bt[3],
        radius_params=best_re[2],
        radius_map=best_re[3],
        n_calibration=n_used,
        pearson_r_bt=float(best_bt[1]),
        pearson_r_radius=float(best_re[1]),
        provenance=dict(provenance or {}),
    )


def size_control(
    cal_size: np.ndarray, cal_truth: np.ndarray, size: np.ndarray, *, high: float
) -> np.ndarray:
    """The truth predicted from galaxy size alone (the size control): a least-squares
    line fitted on the calibration galaxies, clipped to ``[0, high]`` as the calibrated
    measurement is.

    Raises
    ------
    ValueError
        Fewer than two calibration galaxies with finite size and truth.
    """
    from scipy.stats import linregress

    ok = np.isfinite(cal_size) & np.isfinite(cal_truth)
    fit = linregress(cal_size[ok], cal_truth[ok])
    return np.clip(fit.slope * np.asarray(size, dtype=np.float64) + fit.intercept, 0.0, high)


def save_bulge_calibration(path: str | os.PathLike[str], cal: BulgeCalibration) -> Path:
    """Write a calibration as JSON (atomically).

    Raises
    ------
    OSError
        The file cannot be written.
    """
    from galaxy_xai.io import write_json

    record = {"format": CALIBRATION_FORMAT, "version": 1, **dataclasses.asdict(cal)}
    for key in ("bt_map", "radius_map"):
        record[key] = {k: (None if not np.isfinite(v) else v) for k, v in record[key].items()}
    write_json(path, record)
    return Path(path)


def _dataclass_from(cls: Any, record: Any, where: str) -> Any:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected an object, got {type(record).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(record) - names)
    if unknown:
        raise DataFormatError(f"{where}: unknown field {unknown[0]!r} (known: {sorted(names)})")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in record:
            continue
        v = record[f.name]
        if v is None and f.name == "high":
            v = float("inf")
        if f.name in ("radius_from", "bt_from"):
            if not isinstance(v, str):
                raise DataFormatError(f"{where}.{f.name}: {v!r} is not text")
        elif f.name == "min_pixels":
            if isinstance(v, bool) or not isinstance(v, int):
                raise DataFormatError(f"{where}.{f.name}: {v!r} is not an integer")
        elif not isinstance(v, int | float) or isinstance(v, bool):
            raise DataFormatError(f"{where}.{f.name}: {v!r} is not a number")
        values[f.name] = v
    try:
        return cls(**values)
    except ParameterError as exc:
        raise DataFormatError(f"{where}: {exc}") from None


def load_bulge_calibration(path: str | os.PathLike[str]) -> BulgeCalibration:
    """Read a calibration written by :func:`save_bulge_calibration`.

    Raises
    ------
    DataMissingError
        The file does not exist.
    DataFormatError
        Not a bulge calibration, or a field of the wrong type or out of range.
    """
    from galaxy_xai.io import read_json

    where = f"bulge calibration '{path}'"
    record = read_json(path, what="bulge calibration")
    if not isinstance(record, dict) or record.get("format") != CALIBRATION_FORMAT:
        raise DataFormatError(f"{where}: not a bulge calibration (format {CALIBRATION_FORMAT!r})")
    for key in ("bt_params", "bt_map", "radius_params", "radius_map"):
        if key not in record:
            raise DataFormatError(f"{where}: missing field {key!r}")
    provenance = record.get("provenance", {})
    if not isinstance(provenance, dict):
        raise DataFormatError(f"{where}.provenance: expected an object")

    def number(key: str) -> float:
        v = record.get(key)
        return float("nan") if v is None else float(v)

    return BulgeCalibration(
        bt_params=_dataclass_from(BulgeParams, record["bt_params"], f"{where}.bt_params"),
        bt_map=_dataclass_from(LinearMap, record["bt_map"], f"{where}.bt_map"),
        radius_params=_dataclass_from(
            BulgeParams, record["radius_params"], f"{where}.radius_params"
        ),
        radius_map=_dataclass_from(LinearMap, record["radius_map"], f"{where}.radius_map"),
        n_calibration=int(record.get("n_calibration", 0)),
        pearson_r_bt=number("pearson_r_bt"),
        pearson_r_radius=number("pearson_r_radius"),
        provenance=provenance,
    )
