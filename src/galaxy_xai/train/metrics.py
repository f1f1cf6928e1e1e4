"""Evaluation metrics of ``train evaluate``; they live in :mod:`galaxy_xai.stats`.

Re-exported here (old import path); :func:`reliability_bins` keeps its old form (class
probabilities in, one dict per bin out). :func:`thresholded_predictions` is GaMorNet's
decision rule, not a metric, and stays here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from galaxy_xai import stats
from galaxy_xai.errors import ParameterError
from galaxy_xai.stats import (
    accuracy,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    f1_scores,
    macro_f1,
    regression_metrics,
)

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


def reliability_bins(
    probs: ArrayLike, y_true: ArrayLike, *, n_bins: int = 10
) -> list[dict[str, float]]:
    """Top-label reliability bins of class probabilities ``(N, K)``, one dict per bin.

    :func:`galaxy_xai.stats.reliability_bins` of :func:`galaxy_xai.stats.top_label`,
    as :meth:`~galaxy_xai.stats.ReliabilityBins.to_rows` (NaN for an empty bin).

    Raises
    ------
    ParameterError
        If ``n_bins`` < 1 or ``y_true`` is not 1-D.
    """
    return stats.reliability_bins(*stats.top_label(probs, y_true), n_bins=n_bins).to_rows()


def thresholded_predictions(probs: ArrayLike, threshold: float) -> np.ndarray:
    """Top class where its probability exceeds ``threshold``, else -1 (indeterminate).

    GaMorNet's confidence cut (Ghosh et al. 2020, sec. 5): a galaxy is classified only
    when the network's highest probability is above a threshold.

    Raises
    ------
    ParameterError
        If ``threshold`` is not in [0, 1).
    """
    if not 0 <= threshold < 1:
        raise ParameterError("threshold", threshold, "must lie in [0, 1)")
    p = np.asarray(probs, dtype=np.float64)
    pred = p.argmax(1)
    return np.where(p.max(1) > threshold, pred, -1)
