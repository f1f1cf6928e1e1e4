"""galaxy_xai.stats: every metric returns, bit for bit, what its old copy returned.

``tests/data/stats_pinned.json`` was written by the metric code before it moved here
(see ``tests/_stats_inputs.py``); each test recomputes one group through the new home
(and through the old import paths kept as aliases) and compares exactly: floats with
``==`` (NaN equal to NaN), None kept apart from NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score, roc_auc_score

import _stats_inputs as inp
from galaxy_xai import stats
from galaxy_xai.errors import ParameterError

PINNED = json.loads((Path(__file__).parent / "data" / "stats_pinned.json").read_text())


def _plain(x: Any) -> Any:
    """Numbers, lists and dicts as JSON would give them back."""
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _same(new: Any, old: Any, where: str = "") -> None:
    new = _plain(new)
    if isinstance(old, dict):
        assert isinstance(new, dict) and list(new) == list(old), (where, new, old)
        for k in old:
            _same(new[k], old[k], f"{where}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), (where, new, old)
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and math.isnan(old):
        assert isinstance(new, float) and math.isnan(new), (where, new)
    else:
        assert new == old and type(new) is type(old), (where, new, old)


@pytest.mark.parametrize("case", ["all", "absent"])
def test_classification_numbers_unchanged(case: str) -> None:
    from galaxy_xai.train import metrics as train_metrics

    old = PINNED[f"classification_{case}"]
    probs, y, k = inp.classification(case)
    pred = probs.argmax(1)
    names = [f"c{i}" for i in range(k)]
    _same(stats.classification_metrics(probs, y, names), old["classification_metrics"])
    _same(
        train_metrics.classification_metrics(probs, y, names, n_bins=5),
        old["classification_metrics_5bins"],
    )
    _same(stats.f1_scores(stats.confusion_matrix(y, pred, k)), old["f1_scores"])
    _same(stats.macro_f1(y, pred, k), old["macro_f1"])
    _same(stats.accuracy(y, pred), old["accuracy"])
    _same(stats.confusion_matrix(y, pred, k), old["report_confusion"])
    # the top-label helpers of train evaluate match its summary
    _same(train_metrics.reliability_bins(probs, y), old["classification_metrics"]["reliability"])
    _same(stats.expected_calibration_error(probs, y), old["classification_metrics"]["ece"])


@pytest.mark.parametrize("case", ["all", "absent"])
def test_report_figures_numbers_unchanged(case: str) -> None:
    from galaxy_xai.report import figures as rf
    from galaxy_xai.report.artefacts import ClassificationPanel

    old = PINNED[f"classification_{case}"]
    probs, y, k = inp.classification(case)
    pred = probs.argmax(1)
    conf, correct = probs.max(1), pred == y
    _same(rf.reliability_bins(conf, correct), old["report_reliability"])
    _same(stats.reliability_bins(conf, correct, n_bins=7).to_columns(), old["report_reliability_7"])
    names = [f"c{i}" for i in range(k)]
    table = pd.DataFrame(
        {
            "id": [str(i) for i in range(len(y))],
            "label": y,
            "pred": pred,
            **{f"p_{c}": probs[:, i] for i, c in enumerate(names)},
        }
    )
    panel = ClassificationPanel(name="t", title="t", description="", table=table, label_names=names)
    _same(rf.confusion_figure(panel).data, old["confusion_figure"])
    _same(rf.reliability_figure(panel).data, old["reliability_figure"])


@pytest.mark.parametrize("case", ["all", "absent"])
def test_classification_intervals_unchanged(case: str) -> None:
    from benchmarks._common import bootstrap_interval as old_path

    from galaxy_xai.zoo.recipe_base import bootstrap_ci95 as zoo_path

    assert old_path is stats.bootstrap_interval and zoo_path is stats.bootstrap_ci95
    old = PINNED[f"classification_{case}"]
    probs, y, k = inp.classification(case)
    pred = probs.argmax(1)
    wrong = pred != y
    # gz1-classify: index bootstrap, 2000 resamples, seed 0, macro-F1 over present classes
    _same(stats.bootstrap_interval(len(y), lambda i: float(np.mean(~wrong[i]))), old["gz1_acc_ci"])
    _same(
        stats.bootstrap_interval(len(y), lambda i: stats.macro_f1(y[i], pred[i], k), n_boot=300),
        old["gz1_f1_ci"],
    )
    # model cards: scipy bootstrap, macro-F1 with absent classes as 0
    _same(stats.bootstrap_ci95((y, pred), stats.accuracy), old["zoo_acc_ci"])
    _same(
        stats.bootstrap_ci95(
            (y, pred), lambda t, p: stats.macro_f1(t, p, k, absent="zero"), n_resamples=200
        ),
        old["zoo_f1_ci"],
    )


def test_reliability_edges_and_empty_inputs_unchanged() -> None:
    from galaxy_xai.report.figures import reliability_bins as report_bins
    from galaxy_xai.train.metrics import expected_calibration_error, reliability_bins

    old = PINNED["edges"]
    conf, correct = inp.edge_confidences()
    _same(report_bins(conf, correct, n_bins=10), old["report_reliability"])
    _same(report_bins(np.zeros(0), np.zeros(0, bool)), old["report_reliability_empty"])
    _same(expected_calibration_error(np.zeros((0, 3)), np.zeros(0, int)), old["train_ece_empty"])
    _same(
        reliability_bins(np.zeros((0, 3)), np.zeros(0, int), n_bins=3),
        old["train_reliability_empty"],
    )
    p2 = np.stack([conf, 1 - conf], 1)
    y2 = np.where(correct, p2.argmax(1), 1 - p2.argmax(1))
    _same(reliability_bins(p2, y2), old["train_reliability"])
    _same(stats.expected_calibration_error(p2, y2), old["train_ece"])


def test_length_agreement_numbers_unchanged() -> None:
    from galaxy_xai.bars import evaluate_lengths
    from galaxy_xai.bars.calibrate import _score
    from galaxy_xai.report.figures import bar_agreement

    old = PINNED["lengths"]
    pred, truth = inp.lengths()
    small_p, small_t = inp.lengths(6, seed=2, n_nan=1)
    _same(evaluate_lengths(pred, truth), old["evaluate_default"])
    _same(evaluate_lengths(pred, truth, n_boot=500, confidence=0.9, seed=3), old["evaluate_custom"])
    _same(evaluate_lengths(small_p, small_t, n_boot=300), old["evaluate_small"])
    _same(evaluate_lengths(truth, truth, n_boot=200), old["evaluate_perfect"])
    _same(bar_agreement(truth, pred), old["bar_agreement"])
    _same(stats.agreement(truth[:2], pred[4:6]), old["bar_agreement_two"])
    _same(stats.agreement(truth[4:10], np.full(6, 3.0)), old["bar_agreement_flat"])
    _same(_score(pred, truth, "rmse"), old["calibrate_score_rmse"])
    _same(_score(pred, truth, "pearson"), old["calibrate_score_pearson"])
    _same(_score(np.full(5, np.nan), truth[:5], "pearson"), old["calibrate_score_pearson_flat"])


def test_model_card_and_demo_figures_unchanged() -> None:
    pred, truth = inp.lengths()
    ok = np.isfinite(pred)
    est, tr = pred[ok], truth[ok]
    _same(
        {
            "pearson_r": round(stats.pearson_r(est, tr), 4),
            "pearson_r_ci95": stats.bootstrap_ci95((est, tr), stats.pearson_r),
            "rmse_px": round(stats.rmse(est, tr), 4),
            "rmse_px_ci95": stats.bootstrap_ci95((est, tr), stats.rmse),
        },
        PINNED["zoo_bars"],
    )
    est32 = est.astype(np.float32)
    _same(
        {
            "pearson_r": round(stats.pearson_r(est32, tr), 4),
            "rmse_px": round(stats.rmse(est32, tr), 4),
        },
        PINNED["demo_zoo"],
    )
    lab = (tr > 20).astype(int)

    def auc(yy: np.ndarray, s: np.ndarray) -> float:
        return float(roc_auc_score(yy, s)) if 0 < yy.sum() < len(yy) else float("nan")

    _same(stats.bootstrap_ci95((lab, est), auc, n_resamples=300), PINNED["zoo_auc_ci"])
    vals = (np.random.default_rng(8).random(120) < 0.8).astype(float)
    _same(stats.bootstrap_ci95((vals,), lambda v: float(np.mean(v))), PINNED["audit_ci"])
    _same(
        stats.bootstrap_ci95(
            (np.arange(40),), lambda idx: float(np.mean(vals[idx.astype(int)])), n_resamples=300
        ),
        PINNED["gamornet_style_ci"],
    )
    _same(
        stats.bootstrap_interval(37, lambda i: float(np.mean(vals[:37][i])), n_boot=500, seed=2),
        PINNED["bootstrap_interval_mean"],
    )


def test_partial_r_schedule_and_regression_unchanged() -> None:
    from benchmarks.bar_length_sim import partial_r as old_path

    from galaxy_xai.distill.schedule import pearson_r
    from galaxy_xai.train.metrics import regression_metrics

    assert old_path is stats.partial_r
    pp, tt, cc = inp.partial_inputs()
    _same(stats.partial_r(pp, tt, cc), PINNED["partial"]["default"])
    _same(stats.partial_r(pp, tt, cc, n_boot=200, seed=1), PINNED["partial"]["custom"])
    _same({k: pearson_r(v) for k, v in inp.series().items()}, PINNED["schedule"])
    rp, rt = inp.regression()
    _same(regression_metrics(rp, rt, ["a", "b"]), PINNED["regression"]["two"])
    _same(stats.regression_metrics(rp[:, :1], rt[:, :1], ["a"]), PINNED["regression"]["one"])


# --------------------------------------------------------------------------- behaviour
def test_metrics_match_sklearn_and_hand_values() -> None:
    probs, y, k = inp.classification("absent")
    pred = probs.argmax(1)
    np.testing.assert_array_equal(
        stats.confusion_matrix(y, pred, k), sk_confusion(y, pred, labels=np.arange(k))
    )
    present = np.unique(np.r_[y, pred])
    assert stats.macro_f1(y, pred, k) == pytest.approx(
        f1_score(y, pred, labels=present, average="macro")
    )
    # absent classes as F1 = 0 lower the mean by the share of absent classes
    assert stats.macro_f1(y, pred, k, absent="zero") == pytest.approx(
        stats.macro_f1(y, pred, k) * len(present) / k
    )
    scores = stats.precision_recall_f1(stats.confusion_matrix(y, pred, k))
    assert scores["f1"] == pytest.approx(list(stats.f1_scores(stats.confusion_matrix(y, pred, k))))
    assert scores["recall"][3] is None and scores["precision"][4] is None
    assert stats.rmse([1.0, 2.0], [2.0, 4.0]) == pytest.approx(np.sqrt(2.5))
    assert stats.pearson_r([1, 2, 3], [2, 4, 7]) == pytest.approx(
        np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1]
    )


def test_reliability_conventions() -> None:
    # always 0.95 confident, right half the time: ECE 0.45 both ways
    bins = stats.reliability_bins(np.full(10, 0.95), np.arange(10) % 2, n_bins=10)
    assert bins.ece() == pytest.approx(0.45) and bins.ece(weights="fraction") == pytest.approx(0.45)
    assert math.isnan(bins.to_rows()[0]["accuracy"]) and bins.to_columns()["accuracy"][0] is None
    assert bins.count.tolist() == [0] * 9 + [10]
    # a confidence on an edge belongs to the bin below it; 0 to the first bin
    edge = stats.reliability_bins(np.array([0.0, 0.5, 0.5000001]), np.ones(3), n_bins=2)
    assert edge.count.tolist() == [2, 1]
    empty = stats.reliability_bins(np.zeros(0), np.zeros(0), n_bins=3)
    assert math.isnan(empty.ece()) and empty.to_columns()["ece"] is None
    with pytest.raises(ParameterError, match="weights='mean'"):
        bins.ece(weights="mean")  # type: ignore[arg-type]


def test_bootstrap_streams_and_percentiles() -> None:
    # one stream: the vectorised matrix and the one-at-a-time draws are the same resamples
    matrix = stats.resample_indices(7, 5, seed=3)
    rows: list[np.ndarray] = []
    stats.bootstrap_interval(7, lambda i: rows.append(i.copy()) or 0.0, n_boot=5, seed=3)
    assert matrix.shape == (5, 7)
    np.testing.assert_array_equal(np.stack(rows), matrix)
    assert stats.central_percentiles(0.95) == (100 * (1 - 0.95) / 2, 100 * (1 + 0.95) / 2)
    assert stats.central_percentiles(0.95)[0] != 2.5  # why the benchmarks pass (2.5, 97.5)
    low, high = stats.percentile_interval(np.arange(101.0), (10.0, 90.0))
    assert (low, high) == (10.0, 90.0)
    assert all(math.isnan(v) for v in stats.percentile_interval([]))


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match=r"y_true=\[3\]: must lie in 0..2"):
        stats.confusion_matrix(np.array([3]), np.array([0]), 3)
    with pytest.raises(ParameterError, match=r"y_pred=\(1, 1\): must be a 1-D"):
        stats.confusion_matrix(np.array([0]), np.array([[0]]), 3)
    with pytest.raises(ParameterError, match="absent='all'"):
        stats.macro_f1([0], [0], 2, absent="all")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="n_bins=0"):
        stats.reliability_bins(np.zeros(1), np.zeros(1), n_bins=0)
    with pytest.raises(ParameterError, match="n_boot=0"):
        stats.bootstrap_interval(3, lambda i: 0.0, n_boot=0)
    with pytest.raises(ParameterError, match="n=0"):
        stats.resample_indices(0, 2)
    with pytest.raises(ParameterError, match="confidence=1.0"):
        stats.central_percentiles(1.0)
