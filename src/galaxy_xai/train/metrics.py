"""Evaluation metrics: accuracy, macro-F1, confusion matrix, calibration (ECE), regression.

Plain numpy so they can be checked by hand; every function takes arrays of class
indices or probabilities and returns JSON-ready Python numbers and lists.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from galaxy_xai.errors import ParameterError

__all__ = [
    "accuracy",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "f1_scores",
    "macro_f1",
    "regression_metrics",
    "reliability_bins",
    "thresholded_predictions",
]


def _labels(y: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ParameterError(name, arr.shape, "must be a 1-D array of class indices")
    return arr.astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of correct predictions (NaN for no rows)."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    return float(np.mean(t == p)) if len(t) else float("nan")


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def f1_scores(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 from a confusion matrix (0 where a class is never true nor predicted)."""
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1)  # 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over classes present in ``y_true`` or ``y_pred``."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    present = (cm.sum(0) + cm.sum(1)) > 0
    return float(f1_scores(cm)[present].mean()) if present.any() else float("nan")


def reliability_bins(
    probs: ArrayLike, y_true: ArrayLike, *, n_bins: int = 10
) -> list[dict[str, float]]:
    """Top-label reliability diagram: per confidence bin, mean confidence, accuracy, count.

    Bins are ``n_bins`` equal-width intervals of the top probability over (0, 1].
    """
    if n_bins < 1:
        raise ParameterError("n_bins", n_bins, "must be >= 1")
    p = np.asarray(probs, dtype=np.float64)
    t = _labels(y_true, "y_true")
    conf, pred = p.max(1), p.argmax(1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        sel = which == b
        n = int(sel.sum())
        out.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": n,
                "confidence": float(conf[sel].mean()) if n else float("nan"),
                "accuracy": float((pred[sel] == t[sel]).mean()) if n else float("nan"),
            }
        )
    return out


def expected_calibration_error(probs: ArrayLike, y_true: ArrayLike, *, n_bins: int = 10) -> float:
    """ECE: count-weighted mean |accuracy - confidence| over equal-width confidence bins.

    References
    ----------
    Guo, Pleiss, Sun & Weinberger 2017, ICML, "On Calibration of Modern Neural Networks".
    """
    bins = reliability_bins(probs, y_true, n_bins=n_bins)
    total = sum(b["count"] for b in bins)
    if total == 0:
        return float("nan")
    return float(
        sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]) / total
    )


def thresholded_predictions(probs: ArrayLike, threshold: float) -> np.ndarray:
    """Top class where its probability exceeds ``threshold``, else -1 (indeterminate).

    GaMorNet's confidence cut (Ghosh et al. 2020, sec. 5): a galaxy is classified only
    when the network's highest probability is above a threshold.
    """
    if not 0 <= threshold < 1:
        raise ParameterError("threshold", threshold, "must lie in [0, 1)")
    p = np.asarray(probs, dtype=np.float64)
    pred = p.argmax(1)
    return np.where(p.max(1) > threshold, pred, -1)


def classification_metrics(
    probs: ArrayLike, y_true: ArrayLike, class_names: list[str], *, n_bins: int = 10
) -> dict[str, object]:
    """Accuracy, macro-F1, per-class F1, confusion matrix, ECE and reliability bins."""
    p = np.asarray(probs, dtype=np.float64)
    t = _labels(y_true, "y_true")
    k = len(class_names)
    pred = p.argmax(1)
    cm = confusion_matrix(t, pred, k)
    f1 = f1_scores(cm)
    return {
        "n": len(t),
        "accuracy": accuracy(t, pred),
        "macro_f1": macro_f1(t, pred, k),
        "f1_per_class": {name: float(v) for name, v in zip(class_names, f1, strict=True)},
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
        "ece": expected_calibration_error(p, t, n_bins=n_bins),
        "reliability": reliability_bins(p, t, n_bins=n_bins),
    }


def regression_metrics(pred: ArrayLike, true: ArrayLike, names: list[str]) -> dict[str, object]:
    """MSE, MAE, RMSE and R^2 per output and averaged."""
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
