"""Fixed inputs of the pinned metric tests (``tests/test_stats.py``).

``tests/data/stats_pinned.json`` holds what the metric code before its move into
:mod:`galaxy_xai.stats` (commit a067e2e: ``train/metrics.py``, ``report/figures.py``,
``bars/evaluate.py``, ``benchmarks/_common.py``, ``benchmarks/bar_length_sim.py``,
``zoo/recipe_*.py``, ``distill/schedule.py``, ``demo/stages_zoo.py``) returned on these
inputs; the tests check that the one home returns the same numbers, bit for bit.
"""

from __future__ import annotations

import numpy as np


def classification(case: str) -> tuple[np.ndarray, np.ndarray, int]:
    """``(probs (N, K), y_true (N,), K)``: ``"all"`` every class present; ``"absent"``
    K = 5 with class 4 never true nor predicted and class 3 predicted but never true."""
    rng = np.random.default_rng(17 if case == "all" else 18)
    k_used = 4
    n = 200
    y = rng.integers(0, k_used, n)
    if case == "absent":
        y[y == 3] = 0
    logits = rng.normal(size=(n, k_used)) + 2.0 * np.eye(k_used)[y] * (rng.random(n) < 0.7)[:, None]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if case == "absent":
        probs = np.concatenate([probs * 0.999, np.full((n, 1), 0.001)], axis=1)
        return probs, y, 5
    return probs, y, k_used


def edge_confidences() -> tuple[np.ndarray, np.ndarray]:
    """Confidences on the bin edges (0, 0.1, 0.5, 1) and in between, and correctness."""
    conf = np.array([0.0, 0.1, 0.1, 0.15, 0.5, 0.5000001, 0.75, 0.999, 1.0, 1.0, 0.3, 0.3])
    correct = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    return conf, correct


def lengths(n: int = 80, *, seed: int = 5, n_nan: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(pred, truth)`` bar lengths with a few NaN predictions."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(5, 40, n)
    pred = 0.9 * truth + rng.normal(0, 4.0, n)
    pred[:n_nan] = np.nan
    return pred, truth


def partial_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pred, truth, control)`` with NaNs in the prediction."""
    rng = np.random.default_rng(9)
    size = rng.normal(size=150)
    truth = size + 0.5 * rng.normal(size=150)
    pred = 0.6 * truth + 0.3 * size + 0.4 * rng.normal(size=150)
    pred[:3] = np.nan
    return pred, truth, size


def series() -> dict[str, list[float]]:
    """Loss-like series of the STM schedule's Pearson r against the iteration index."""
    rng = np.random.default_rng(4)
    return {
        "decreasing": list(10.0 - 0.3 * np.arange(30) + rng.normal(0, 0.5, 30)),
        "noise": list(rng.normal(size=17)),
        "flat": [2.0, 2.0, 2.0],
        "two": [1.0, 3.0],
        "one": [1.0],
    }


def regression() -> tuple[np.ndarray, np.ndarray]:
    """``(pred (N, 2), true (N, 2))``."""
    rng = np.random.default_rng(6)
    true = rng.normal(size=(50, 2)) * [1.0, 3.0]
    pred = true + rng.normal(0, 0.4, size=(50, 2))
    return pred, true
