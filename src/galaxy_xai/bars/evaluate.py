"""Measured against true bar lengths: Pearson r, RMSE, bootstrap 95% intervals, a plot.

The intervals are percentile bootstrap intervals over galaxies (resampled with
replacement, ``n_boot`` times, fixed seed; :func:`galaxy_xai.stats.agreement_intervals`),
the usual choice for a correlation on a few dozen to a few thousand galaxies (Efron &
Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.readers.base import numeric_column
from galaxy_xai.data.readers.base import read_table as read_catalogue
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.io import atomic_output
from galaxy_xai.stats import agreement_intervals

__all__ = ["evaluate_files", "evaluate_lengths", "read_table", "scatter_plot"]

log = logging.getLogger(__name__)


def evaluate_lengths(
    pred: np.ndarray | Sequence[float],
    truth: np.ndarray | Sequence[float],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Pearson r and RMSE of predicted against true lengths, with bootstrap intervals.

    Pairs where either value is NaN are left out (and counted in ``n_missing``).

    Parameters
    ----------
    pred, truth
        Lengths in the same unit (pixels or arcsec).
    n_boot
        Bootstrap resamples (>= 100).
    confidence
        Interval coverage (0.95 gives the 2.5th and 97.5th percentiles).
    seed
        Seed of the resampling.

    Returns
    -------
    dict
        ``pearson_r``, ``pearson_r_ci_low``, ``pearson_r_ci_high``, ``rmse``,
        ``rmse_ci_low``, ``rmse_ci_high``, ``bias`` (mean pred - truth), ``n``,
        ``n_missing``.

    Raises
    ------
    ParameterError
        If the lengths differ in number, fewer than 3 pairs are usable, or
        ``n_boot``/``confidence`` are out of range.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(truth, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise ParameterError("pred", len(p), f"needs one prediction per true length ({len(t)})")
    if n_boot < 100:
        raise ParameterError("n_boot", n_boot, "must be >= 100")
    if not 0.5 <= confidence < 1.0:
        raise ParameterError("confidence", confidence, "must lie in [0.5, 1)")
    good = np.isfinite(p) & np.isfinite(t)
    p, t = p[good], t[good]
    if len(p) < 3:
        raise ParameterError(
            "pred", len(p), "fewer than 3 galaxies with both a measured and a true length"
        )
    stats = agreement_intervals(p, t, n_boot=n_boot, confidence=confidence, seed=seed)
    return {
        **stats,
        "n": len(p),
        "n_missing": int((~good).sum()),
    }


def scatter_plot(
    pred: np.ndarray | Sequence[float],
    truth: np.ndarray | Sequence[float],
    path: str | os.PathLike[str],
    *,
    unit: str = "px",
    title: str = "",
    stats: dict[str, float] | None = None,
    pred_err: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write a measured-vs-true scatter plot (PNG) with the 1:1 line.

    Parameters
    ----------
    pred, truth
        Lengths in ``unit``.
    path
        Output PNG.
    stats
        Output of :func:`evaluate_lengths`, printed on the plot.
    pred_err
        Optional ``(p16, p84)`` per galaxy, drawn as vertical error bars.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    good = np.isfinite(p) & np.isfinite(t)
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    if pred_err is not None:
        lo, hi = (np.asarray(e, dtype=np.float64) for e in pred_err)
        yerr = np.vstack([np.clip(p - lo, 0, None), np.clip(hi - p, 0, None)])[:, good]
        ax.errorbar(t[good], p[good], yerr=yerr, fmt="none", ecolor="0.6", lw=0.8, zorder=1)
    ax.scatter(t[good], p[good], s=12, color="C0", zorder=2)
    both = np.concatenate([p[good], t[good]]) if good.any() else np.array([0.0, 1.0])
    lim = (0.0, float(np.nanmax(both)) * 1.08 or 1.0)
    ax.plot(lim, lim, "k--", lw=1, label="1:1")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel(f"true bar length [{unit}]")
    ax.set_ylabel(f"measured bar length [{unit}]")
    if stats:
        ax.text(
            0.04,
            0.96,
            f"r = {stats['pearson_r']:.3f} [{stats['pearson_r_ci_low']:.2f}, "
            f"{stats['pearson_r_ci_high']:.2f}]\nRMSE = {stats['rmse']:.2f} {unit}\n"
            f"n = {stats['n']}",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def read_table(path: str | os.PathLike[str], *, what: str = "catalogue") -> pd.DataFrame:
    """Read a catalogue: CSV (``.csv``, ``.csv.gz``), Parquet, or a dataset ``.h5``'s catalogue.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If it cannot be parsed (empty, truncated, damaged Parquet, not UTF-8) or has
        no rows; the message names the file.
    """
    path = Path(path)
    if path.name.lower().endswith((".h5", ".hdf5")) and path.is_file():
        from galaxy_xai.data import open_dataset

        with open_dataset(path) as ds:
            catalog = ds.catalog.copy()
        if catalog.empty:
            raise DataFormatError(f"{what} '{path}' has no galaxies")
        return catalog
    return read_catalogue(path, what=what)


def _numbers(table: pd.DataFrame, col: str, where: str) -> pd.Series:
    """Column ``col`` as float64: empty cells NaN, text refused naming line and column."""
    return numeric_column(_column(table, col, where), where=where, column=col)


def _column(table: pd.DataFrame, col: str, where: str) -> pd.Series:
    if col not in table.columns:
        raise DataFormatError(
            f"{where} has no column {col!r} (found: {', '.join(map(str, table.columns))})"
        )
    return table[col]


def evaluate_files(
    pred_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str],
    *,
    id_col: str = "id",
    length_col: str = "bar_length_px",
    pred_col: str = "bar_length_px",
    pred_id_col: str = "id",
    scale: float | str | None = None,
    flags: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    plot: str | os.PathLike[str] | None = None,
    unit: str = "px",
) -> dict[str, Any]:
    """Evaluate a ``bars measure`` CSV against a truth catalogue, joined by id.

    Parameters
    ----------
    pred_path
        Measured lengths (``galaxy-xai bars measure`` output or any CSV).
    truth_path
        Truth catalogue: CSV/Parquet, or a dataset ``.h5`` (its catalogue).
        Repeated ids in the truth catalogue are averaged (e.g. Galaxy Builder's
        repeated classifications).
    id_col, length_col
        Id and true-length columns of the truth catalogue.
    pred_col, pred_id_col
        Measured-length and id columns of the prediction file.
    scale
        Factor applied to the true lengths to put them in the prediction's unit (a
        number, or the name of a truth column, e.g. ``2`` to turn a half-length into
        a full length).
    flags
        Keep only predictions with these quality flags (default: all finite lengths).
    plot
        Optional scatter-plot PNG.

    Returns
    -------
    dict
        :func:`evaluate_lengths` output plus ``n_pred``, ``n_truth``, ``n_matched``
        and the settings used.

    Raises
    ------
    ParameterError
        If ``scale`` is a number that is not finite and > 0.
    DataMissingError
        If ``pred_path`` or ``truth_path`` does not exist.
    DataFormatError
        If a named column is missing or holds text that is not a number, or no id of
        the prediction file is in the truth catalogue.
    """
    pred = read_table(pred_path, what="prediction file")
    truth = read_table(truth_path, what="truth catalogue")
    pred_where, truth_where = f"prediction file '{pred_path}'", f"truth catalogue '{truth_path}'"
    pid = _column(pred, pred_id_col, pred_where).astype(str)
    pred[pred_col] = _numbers(pred, pred_col, pred_where)
    tid = _column(truth, id_col, truth_where)
    tlen = _numbers(truth, length_col, truth_where)
    if isinstance(scale, str):
        try:
            factor: Any = float(scale)
        except ValueError:
            factor = _numbers(truth, scale, truth_where)
    else:
        factor = 1.0 if scale is None else float(scale)
    if np.ndim(factor) == 0 and not (np.isfinite(factor) and factor > 0):
        raise ParameterError("scale", scale, "must be a positive number or a truth column")
    truth_len = pd.DataFrame(
        {"id": tid.astype(str).to_numpy(), "truth": (tlen * factor).to_numpy()}
    )
    truth_len = truth_len.groupby("id", sort=False)["truth"].mean()
    if flags is not None and "quality_flag" in pred.columns:
        keep = pred["quality_flag"].isin(list(flags))
        pred, pid = pred[keep], pid[keep]
    joined = pd.DataFrame({"id": pid.to_numpy(), "pred": pred[pred_col].to_numpy(dtype=float)})
    joined = joined.merge(truth_len.rename("truth"), left_on="id", right_index=True, how="inner")
    if joined.empty:
        raise DataFormatError(
            f"no id of prediction file '{pred_path}' (e.g. {pid.iloc[0] if len(pid) else None!r}) "
            f"is in column {id_col!r} of truth catalogue '{truth_path}'"
        )
    stats: dict[str, Any] = evaluate_lengths(
        joined["pred"].to_numpy(), joined["truth"].to_numpy(), n_boot=n_boot, seed=seed
    )
    err = None
    if {"bar_length_px_p16", "bar_length_px_p84"} <= set(
        pred.columns
    ) and pred_col == "bar_length_px":
        extra = pred.assign(id=pid)[["id", "bar_length_px_p16", "bar_length_px_p84"]]
        errs = joined[["id"]].merge(extra, on="id", how="left")
        err = (errs["bar_length_px_p16"].to_numpy(), errs["bar_length_px_p84"].to_numpy())
    if plot is not None:
        scatter_plot(
            joined["pred"].to_numpy(),
            joined["truth"].to_numpy(),
            plot,
            unit=unit,
            stats=stats,
            pred_err=err,
            title=f"{Path(pred_path).name} vs {Path(truth_path).name}:{length_col}",
        )
    stats.update(
        {
            "n_pred": len(pred),
            "n_truth": len(truth_len),
            "n_matched": len(joined),
            "pred_path": str(pred_path),
            "truth_path": str(truth_path),
            "pred_col": pred_col,
            "length_col": length_col,
            "scale": scale if isinstance(scale, str) or scale is None else float(scale),
            "n_boot": n_boot,
        }
    )
    return stats
