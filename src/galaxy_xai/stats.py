"""Small statistics shared across capabilities."""

from __future__ import annotations

import numpy as np

__all__ = ["row_pearson"]


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
