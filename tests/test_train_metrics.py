"""Metrics checked against hand computations and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score

from galaxy_xai.errors import ParameterError
from galaxy_xai.train.metrics import (
    classification_metrics,
    expected_calibration_error,
    macro_f1,
    regression_metrics,
    reliability_bins,
    thresholded_predictions,
)


def test_macro_f1_and_confusion_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 4, 200))
    probs = np.eye(4)[p] * 0.7 + 0.075
    result = classification_metrics(probs, y, ["a", "b", "c", "d"])
    assert result["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert result["confusion_matrix"] == sk_confusion(y, p).tolist()
    assert result["accuracy"] == pytest.approx(np.mean(y == p))
    assert macro_f1(y, p, 4) == pytest.approx(f1_score(y, p, average="macro"))


def test_ece_of_perfect_and_overconfident_models():
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(np.eye(2)[y], y) == pytest.approx(0.0)
    # always 90% sure, right half of the time: ECE = |0.5 - 0.9| = 0.4
    probs = np.tile([0.9, 0.1], (4, 1))
    assert expected_calibration_error(probs, y) == pytest.approx(0.4)
    bins = reliability_bins(probs, y, n_bins=10)
    full = [b for b in bins if b["count"]]
    assert (
        len(full) == 1
        and full[0]["accuracy"] == 0.5
        and full[0]["confidence"] == pytest.approx(0.9)
    )
    with pytest.raises(ParameterError, match="n_bins=0"):
        reliability_bins(probs, y, n_bins=0)


def test_gamornet_confidence_threshold():
    probs = np.array([[0.8, 0.1, 0.1], [0.4, 0.35, 0.25], [0.05, 0.05, 0.9]])
    np.testing.assert_array_equal(thresholded_predictions(probs, 0.5), [0, -1, 2])
    with pytest.raises(ParameterError, match="threshold=1.0"):
        thresholded_predictions(probs, 1.0)


def test_regression_metrics():
    truth = np.array([[1.0], [2.0], [3.0]])
    result = regression_metrics(truth + 1.0, truth, ["bar_length_px"])
    assert result["mse"] == pytest.approx(1.0)
    assert result["mae"] == pytest.approx(1.0)
    assert result["per_output"]["bar_length_px"]["r2"] == pytest.approx(1 - 1 / (2 / 3))
