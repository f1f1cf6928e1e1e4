"""Classification metrics: accuracy, confusion matrix, F1, reliability bins and the ECE.

Every function takes arrays of class indices (or probabilities) and returns numbers or
JSON-ready lists. Where the report and ``train evaluate`` have always differed (macro-F1
over the classes present or over all, empty reliability bins as NaN or None, the order
of the ECE sum) the convention is a keyword; each caller passes its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from galaxy_xai.errors import ParameterError

__all__ = [
    "ReliabilityBins",
    "accuracy",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "f1_scores",
    "macro_f1",
    "precision_recall_f1",
    "reliability_bins",
    "top_label",
]


def _labels(y: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ParameterError(name, arr.shape, "must be a 1-D array of class indices")
    return arr.astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of correct predictions (NaN for no rows).

    Raises
    ------
    ParameterError
        If either array is not 1-D.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    return float(np.mean(t == p)) if len(t) else float("nan")


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class.

    The counts of ``sklearn.metrics.confusion_matrix(y_true, y_pred,
    labels=range(K))``, counted with ``numpy.add.at`` because scikit-learn refuses an
    empty set (a report panel may have none) and re-checks the targets' type on every
    call (slow inside a bootstrap).

    Parameters
    ----------
    y_true, y_pred
        ``(N,)`` class indices in ``0 .. n_classes - 1``.
    n_classes
        Number of classes K.

    Raises
    ------
    ParameterError
        If an array is not 1-D or holds an index outside ``0 .. n_classes - 1``.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    for name, values in (("y_true", t), ("y_pred", p)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ParameterError(
                name, sorted(set(values.tolist()))[:10], f"must lie in 0..{n_classes - 1}"
            )
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def f1_scores(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2 TP / (2 TP + FP + FN) from a confusion matrix.

    0 where a class is never true nor predicted (scikit-learn's ``zero_division=0``).
    """
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1)  # 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def macro_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int,
    *,
    absent: Literal["skip", "zero"] = "skip",
) -> float:
    """Unweighted mean of the per-class F1.

    Parameters
    ----------
    y_true, y_pred
        ``(N,)`` class indices.
    n_classes
        Number of classes K.
    absent
        Classes never true nor predicted: ``"skip"`` leaves them out of the mean (NaN
        if no class is present; ``train evaluate``, gz1-classify); ``"zero"`` counts
        them as F1 = 0, i.e. ``sklearn.metrics.f1_score(labels=range(K),
        average="macro", zero_division=0)``, which is what is called (the model
        cards' intervals).

    Raises
    ------
    ParameterError
        If an array is not 1-D, holds an unknown class, or ``absent`` is unknown.
    """
    if absent == "zero":
        from sklearn.metrics import f1_score

        labels = np.arange(n_classes)
        return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    if absent != "skip":
        raise ParameterError("absent", absent, "must be 'skip' or 'zero'")
    cm = confusion_matrix(y_true, y_pred, n_classes)
    present = (cm.sum(0) + cm.sum(1)) > 0
    return float(f1_scores(cm)[present].mean()) if present.any() else float("nan")


def precision_recall_f1(cm: np.ndarray) -> dict[str, Any]:
    """Per-class precision, recall and F1 = 2 P R / (P + R), as the report shows them.

    Precision is None for a class never predicted, recall None for a class never true;
    F1 is 0 where either is None or both are 0. (Mathematically the F1 of
    :func:`f1_scores`; computed from P and R, which rounds differently in the last
    digit, so the report's figures stay as published.)
    """
    k = len(cm)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    recall = [float(x) if r else None for x, r in zip(np.diag(frac), rows[:, 0], strict=True)]
    cols = cm.sum(axis=0)
    precision = [float(cm[i, i] / cols[i]) if cols[i] else None for i in range(k)]
    f1: list[float] = [
        2 * p * r / (p + r) if p is not None and r is not None and (p + r) > 0 else 0.0
        for p, r in zip(precision, recall, strict=True)
    ]
    return {"precision": list(precision), "recall": list(recall), "f1": f1}


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width confidence bins of a reliability diagram.

    ``edges`` ``(B + 1,)``; per bin ``count``, mean ``confidence`` and ``accuracy``
    (NaN for an empty bin).
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    def ece(self, *, weights: Literal["count", "fraction"] = "count") -> float:
        """Expected calibration error: sum over bins of (count / N) |accuracy - confidence|.

        Parameters
        ----------
        weights
            The order of the sum, which rounds differently in the last digit:
            ``"count"`` sums count * |a - c| and divides by N once (``train
            evaluate``); ``"fraction"`` adds (count / N) * |a - c| bin by bin (the
            report).

        Returns
        -------
        float
            NaN when no sample was binned.

        Raises
        ------
        ParameterError
            If ``weights`` is unknown.
        """
        total = int(self.count.sum())
        if weights not in ("count", "fraction"):
            raise ParameterError("weights", weights, "must be 'count' or 'fraction'")
        if total == 0:
            return float("nan")
        full = [
            (int(n), abs(float(a) - float(c)))
            for n, a, c in zip(self.count, self.accuracy, self.confidence, strict=True)
            if n
        ]
        if weights == "count":
            return float(sum(n * gap for n, gap in full) / total)
        ece = 0.0
        for n, gap in full:
            ece += n / total * gap
        return ece

    def to_rows(self) -> list[dict[str, float]]:
        """One dict per bin: ``lower``, ``upper``, ``count``, ``confidence``, ``accuracy``
        (NaN for an empty bin; the ``reliability`` of ``train evaluate``)."""
        return [
            {
                "lower": float(self.edges[b]),
                "upper": float(self.edges[b + 1]),
                "count": int(self.count[b]),
                "confidence": float(self.confidence[b]),
                "accuracy": float(self.accuracy[b]),
            }
            for b in range(len(self.count))
        ]

    def to_columns(self) -> dict[str, Any]:
        """``bin_edges``, ``count``, ``confidence``, ``accuracy`` as lists, None for an
        empty bin, and ``ece`` (``weights="fraction"``; None for no samples): the
        report's reliability data."""

        def listed(values: np.ndarray) -> list[float | None]:
            return [float(v) if n else None for n, v in zip(self.count, values, strict=True)]

        ece = self.ece(weights="fraction")
        return {
            "bin_edges": self.edges.tolist(),
            "count": [int(n) for n in self.count],
            "confidence": listed(self.confidence),
            "accuracy": listed(self.accuracy),
            "ece": None if int(self.count.sum()) == 0 else ece,
        }


def reliability_bins(
    confidence: ArrayLike, correct: ArrayLike, *, n_bins: int = 10
) -> ReliabilityBins:
    """Bin predictions by confidence into ``n_bins`` equal-width bins over [0, 1].

    Bin b holds confidences in (edge_b, edge_b+1] (the first bin also holds 0; values
    outside [0, 1] go to the end bins). scikit-learn's ``calibration_curve`` bins the
    same way but drops empty bins and sums with ``bincount``, which rounds differently
    from the published figures; hence numpy here.

    Parameters
    ----------
    confidence
        ``(N,)`` probability of the predicted class.
    correct
        ``(N,)`` whether the prediction was right.
    n_bins
        Number of bins.

    Raises
    ------
    ParameterError
        If ``n_bins`` < 1.

    References
    ----------
    Guo, Pleiss, Sun & Weinberger 2017, ICML, "On Calibration of Modern Neural Networks".
    """
    if n_bins < 1:
        raise ParameterError("n_bins", n_bins, "must be >= 1")
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.zeros(n_bins, dtype=np.int64)
    mean_conf = np.full(n_bins, np.nan)
    mean_acc = np.full(n_bins, np.nan)
    for b in range(n_bins):
        sel = index == b
        count[b] = int(sel.sum())
        if count[b]:
            mean_conf[b] = float(conf[sel].mean())
            mean_acc[b] = float(right[sel].mean())
    return ReliabilityBins(edges, count, mean_conf, mean_acc)


def top_label(probs: ArrayLike, y_true: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(confidence, correct)`` of the top-probability class of each row of ``probs``.

    Raises
    ------
    ParameterError
        If ``y_true`` is not 1-D.
    """
    p = np.asarray(probs, dtype=np.float64)
    t = _labels(y_true, "y_true")
    return p.max(1), p.argmax(1) == t


def expected_calibration_error(
    probs: ArrayLike,
    y_true: ArrayLike,
    *,
    n_bins: int = 10,
    weights: Literal["count", "fraction"] = "count",
) -> float:
    """Top-label ECE of class probabilities ``(N, K)`` (see :meth:`ReliabilityBins.ece`).

    Raises
    ------
    ParameterError
        If ``y_true`` is not 1-D, ``n_bins`` < 1 or ``weights`` is unknown.
    """
    return reliability_bins(*top_label(probs, y_true), n_bins=n_bins).ece(weights=weights)


def classification_metrics(
    probs: ArrayLike, y_true: ArrayLike, class_names: list[str], *, n_bins: int = 10
) -> dict[str, object]:
    """Accuracy, macro-F1, per-class F1, confusion matrix, ECE and reliability bins.

    The summary of ``train evaluate``: macro-F1 over the classes present, ECE with
    ``weights="count"``, reliability bins as :meth:`ReliabilityBins.to_rows`.

    Raises
    ------
    ParameterError
        If ``y_true`` is not 1-D or holds an unknown class, or ``n_bins`` < 1.
    """
    p = np.asarray(probs, dtype=np.float64)
    t = _labels(y_true, "y_true")
    k = len(class_names)
    pred = p.argmax(1)
    cm = confusion_matrix(t, pred, k)
    f1 = f1_scores(cm)
    bins = reliability_bins(*top_label(p, t), n_bins=n_bins)
    return {
        "n": len(t),
        "accuracy": accuracy(t, pred),
        "macro_f1": macro_f1(t, pred, k),
        "f1_per_class": {name: float(v) for name, v in zip(class_names, f1, strict=True)},
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
        "ece": bins.ece(weights="count"),
        "reliability": bins.to_rows(),
    }
