"""One home for the metrics and intervals every capability reports.

* :mod:`~galaxy_xai.stats.classification`: accuracy, confusion matrix, F1, reliability
  bins and the expected calibration error (ECE), the ``evaluate`` summary.
* :mod:`~galaxy_xai.stats.correlation`: Pearson r (row-wise, scipy), partial r, RMSE,
  the agreement of measured with true values (with bootstrap intervals), regression
  summaries.
* :mod:`~galaxy_xai.stats.bootstrap`: percentile bootstrap intervals over galaxies.

Where two callers reported the same quantity by different conventions (empty bins as
NaN or None, the order of the ECE sum, scipy's or numpy's resampling, the
interval's percentiles), each convention is an explicit keyword and each caller passes
the one its published numbers were made with (``tests/test_stats.py`` pins them).
Plain numpy, scipy and scikit-learn; nothing here imports another capability.
"""

from __future__ import annotations

from galaxy_xai.stats.bootstrap import (
    bootstrap_ci95,
    bootstrap_interval,
    central_percentiles,
    percentile_interval,
    resample_indices,
)
from galaxy_xai.stats.classification import (
    ReliabilityBins,
    accuracy,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    f1_scores,
    macro_f1,
    precision_recall_f1,
    reliability_bins,
    top_label,
)
from galaxy_xai.stats.correlation import (
    agreement,
    agreement_intervals,
    partial_r,
    pearson_r,
    regression_metrics,
    rmse,
    row_pearson,
)

__all__ = [
    "ReliabilityBins",
    "accuracy",
    "agreement",
    "agreement_intervals",
    "bootstrap_ci95",
    "bootstrap_interval",
    "central_percentiles",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "f1_scores",
    "macro_f1",
    "partial_r",
    "pearson_r",
    "percentile_interval",
    "precision_recall_f1",
    "regression_metrics",
    "reliability_bins",
    "resample_indices",
    "rmse",
    "row_pearson",
    "top_label",
]
