"""Correlation and error of measured against true values: Pearson r, partial r, RMSE.

Pearson r is computed three ways, each kept where published figures were made with it
(they agree to about 1e-15): :func:`row_pearson` (moments, vectorised over rows: the
bootstrap of :func:`agreement_intervals` and the map-truth correlation),
``scipy.stats.pearsonr`` (:func:`pearson_r`: the model cards) and ``numpy.corrcoef``
(:func:`agreement`, :func:`partial_r`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from galaxy_xai.stats.bootstrap import (
    bootstrap_interval,
    central_percentiles,
    percentile_interval,
    resample_indices,
)

__all__ = [
    "agreement",
    "agreement_intervals",
    "partial_r",
    "pearson_r",
    "regression_metrics",
    "rmse",
    "row_pearson",
]


def row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of ``a`` and ``b`` along their last axis (NaN where either is constant).

    Parameters
    ----------
    a, b
        Arrays of the same (broadcastable) shape ``(..., K)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``: one r per row, in [-1, 1].
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def pearson_r(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson r of two 1-D arrays (``scipy.stats.pearsonr``).

    Raises
    ------
    ValueError
        From scipy, if the arrays differ in length or have fewer than 2 values.
    """
    from scipy.stats import pearsonr

    return float(pearsonr(x, y)[0])


def rmse(pred: ArrayLike, truth: ArrayLike) -> float:
    """Root-mean-square of ``pred - truth`` (NaN propagates; no rows give NaN)."""
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(truth)) ** 2)))


def agreement(true: ArrayLike, measured: ArrayLike) -> dict[str, Any]:
    """Pearson r, RMSE and mean bias of measured vs true values (finite pairs only).

    Point estimates with None where undefined (the report's JSON); r from
    ``numpy.corrcoef``. :func:`agreement_intervals` adds bootstrap intervals.

    Returns
    -------
    dict
        ``n`` (pairs used), ``n_missing`` (pairs with a NaN), ``pearson_r`` (None if
        fewer than 3 pairs or no spread), ``rmse`` and ``bias`` (measured - true), in
        the values' unit.
    """
    t_all = np.asarray(true, dtype=np.float64)
    m_all = np.asarray(measured, dtype=np.float64)
    ok = np.isfinite(t_all) & np.isfinite(m_all)
    t, m = t_all[ok], m_all[ok]
    r = None
    if len(t) >= 3 and t.std() > 0 and m.std() > 0:
        r = float(np.corrcoef(t, m)[0, 1])
    return {
        "n": int(ok.sum()),
        "n_missing": int((~ok).sum()),
        "pearson_r": r,
        "rmse": rmse(m, t) if len(t) else None,
        "bias": float(np.mean(m - t)) if len(t) else None,
    }


def agreement_intervals(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Pearson r and RMSE of ``pred`` against ``truth`` with percentile bootstrap intervals.

    The resamples are one ``(n_boot, N)`` matrix of galaxy indices
    (:func:`~galaxy_xai.stats.resample_indices`), r by
    :func:`row_pearson` on all of them at once; resamples whose r is undefined (no
    spread) are left out of r's interval. The percentiles are
    :func:`~galaxy_xai.stats.central_percentiles` of ``confidence``.

    Parameters
    ----------
    pred, truth
        ``(N,)`` finite values, N >= 1.
    n_boot
        Number of resamples.
    confidence
        Interval coverage.
    seed
        Seed of the resampling.

    Returns
    -------
    dict
        ``pearson_r``, ``pearson_r_ci_low``, ``pearson_r_ci_high``, ``rmse``,
        ``rmse_ci_low``, ``rmse_ci_high``, ``bias`` (mean pred - truth).

    Raises
    ------
    ParameterError
        If ``confidence`` is not in (0, 1), or N or ``n_boot`` is < 1.
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    q = central_percentiles(confidence)
    idx = resample_indices(len(p), n_boot, seed=seed)
    boot_r = row_pearson(p[idx], t[idx])
    boot_rmse = np.sqrt(((p[idx] - t[idx]) ** 2).mean(-1))
    r_low, r_high = percentile_interval(boot_r[np.isfinite(boot_r)], q)
    rmse_low, rmse_high = percentile_interval(boot_rmse, q)
    return {
        "pearson_r": float(row_pearson(p, t)),
        "pearson_r_ci_low": r_low,
        "pearson_r_ci_high": r_high,
        "rmse": rmse(p, t),
        "rmse_ci_low": rmse_low,
        "rmse_ci_high": rmse_high,
        "bias": float((p - t).mean()),
    }


def partial_r(
    pred: ArrayLike, truth: ArrayLike, control: ArrayLike, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Partial Pearson r of ``pred`` and ``truth`` with ``control`` held fixed, and its CI.

    r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)) from
    ``numpy.corrcoef`` (scipy has no partial correlation). Does a measurement know more
    about the bar than ``control`` (the galaxy's size) does? Near zero: it measures the
    galaxy, not its bar. Rows with a NaN are left out; the 95% interval is
    :func:`~galaxy_xai.stats.bootstrap_interval` over the galaxies.

    Returns
    -------
    dict
        ``r``, ``r_ci_low``, ``r_ci_high``.

    Raises
    ------
    ParameterError
        If no row is finite or ``n_boot`` < 1.
    """
    rows = np.column_stack([pred, truth, control]).astype(np.float64)
    rows = rows[np.isfinite(rows).all(1)]

    def value(sample: np.ndarray) -> float:
        c = np.corrcoef(rows[sample], rowvar=False)
        r_xy, r_xz, r_yz = c[0, 1], c[0, 2], c[1, 2]
        return float((r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2)))

    low, high = bootstrap_interval(len(rows), value, n_boot=n_boot, seed=seed)
    return {"r": value(np.arange(len(rows))), "r_ci_low": low, "r_ci_high": high}


def regression_metrics(pred: ArrayLike, true: ArrayLike, names: list[str]) -> dict[str, object]:
    """MSE, MAE, RMSE and R^2 per output and averaged (``train evaluate`` of a regressor).

    ``rmse`` is the square root of the mean over outputs of each output's MSE.
    """
    p = np.asarray(pred, dtype=np.float64).reshape(len(names) and -1, len(names))
    t = np.asarray(true, dtype=np.float64).reshape(p.shape)
    err = p - t
    mse = (err**2).mean(0)
    var = t.var(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(var > 0, 1 - mse / var, np.nan)
    per = {
        name: {"mse": float(mse[i]), "mae": float(np.abs(err[:, i]).mean()), "r2": float(r2[i])}
        for i, name in enumerate(names)
    }
    return {
        "n": len(t),
        "mse": float(mse.mean()),
        "rmse": float(np.sqrt(mse.mean())),
        "mae": float(np.abs(err).mean()),
        "r2": float(np.nanmean(r2)) if np.isfinite(r2).any() else float("nan"),
        "per_output": per,
    }
