"""Percentile bootstrap intervals over galaxies.

Two resampling schemes are in use, each kept because published figures were made with
it (``tests/test_stats.py`` pins both):

* **index draws** (:func:`resample_indices`, :func:`bootstrap_interval`): galaxies
  (row indices) drawn with replacement by ``numpy.random.default_rng(seed).integers``,
  so any statistic of several aligned arrays (a paired bootstrap) is one closure over
  the indices, or one vectorised call over the ``(n_boot, n)`` index matrix.
  ``scipy.stats.bootstrap`` draws its resamples another way, so using it here would
  move every published bar-length, partial-r and gz1-classify interval.
* **scipy** (:func:`bootstrap_ci95`): ``scipy.stats.bootstrap`` (percentile method,
  paired, seed 0), the intervals of the model cards and of gz1-audit.

The index draws' percentiles come in two conventions: exactly (2.5, 97.5) for the
benchmarks' 95% intervals, :func:`central_percentiles` of a confidence for
:func:`galaxy_xai.bars.evaluate_lengths`.

References
----------
Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13 (percentile
intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError

__all__ = [
    "bootstrap_ci95",
    "bootstrap_interval",
    "central_percentiles",
    "percentile_interval",
    "resample_indices",
]


def central_percentiles(confidence: float) -> tuple[float, float]:
    """The percentiles ``100 (1 - c) / 2`` and ``100 (1 + c) / 2`` of a central interval.

    Computed in this order of operations (for c = 0.95 the low one is
    2.500000000000002, not 2.5): the convention of :func:`galaxy_xai.bars.evaluate_lengths`.

    Raises
    ------
    ParameterError
        If ``confidence`` is not in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ParameterError("confidence", confidence, "must lie in (0, 1)")
    return 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2


def percentile_interval(
    draws: np.ndarray | list[float], percentiles: tuple[float, float] = (2.5, 97.5)
) -> tuple[float, float]:
    """``(low, high)``: the given percentiles of the bootstrap draws (NaN if none).

    Parameters
    ----------
    draws
        The statistic on each resample.
    percentiles
        The two percentiles, in [0, 100]; the default gives the 95% interval with the
        exact percentiles 2.5 and 97.5 (see :func:`central_percentiles` for the other
        convention in use).
    """
    values = np.asarray(draws, dtype=np.float64)
    if not len(values):
        return float("nan"), float("nan")
    return float(np.percentile(values, percentiles[0])), float(
        np.percentile(values, percentiles[1])
    )


def resample_indices(n: int, n_boot: int, *, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` galaxy indices drawn with replacement.

    One ``default_rng(seed).integers(0, n, size=(n_boot, n))`` call; the same indices,
    row by row, as :func:`bootstrap_interval` draws one resample at a time.

    Parameters
    ----------
    n
        Number of galaxies.
    n_boot
        Number of resamples.
    seed
        Seed of ``numpy.random.default_rng``.

    Raises
    ------
    ParameterError
        If ``n`` or ``n_boot`` is < 1.
    """
    _check_sizes(n, n_boot)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _check_sizes(n: int, n_boot: int) -> None:
    if n < 1:
        raise ParameterError("n", n, "must be >= 1")
    if n_boot < 1:
        raise ParameterError("n_boot", n_boot, "must be >= 1")


def _per_resample(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, n)


def bootstrap_interval(
    n: int,
    stat: Callable[[np.ndarray], float],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    percentiles: tuple[float, float] = (2.5, 97.5),
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``stat(rows)`` over ``n`` resampled galaxies.

    ``stat`` receives the ``(n,)`` row indices of one resample (the rows of
    :func:`resample_indices`, drawn one resample at a time so that memory stays
    ``O(n)``), so a paired statistic of aligned arrays is a closure.

    Parameters
    ----------
    n
        Number of galaxies.
    stat
        Statistic of one resample, from its row indices.
    n_boot
        Number of resamples.
    seed
        Seed of the resampling.
    percentiles
        The interval's two percentiles (default: exactly 2.5 and 97.5, the 95% interval
        of the benchmarks).

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Raises
    ------
    ParameterError
        If ``n`` or ``n_boot`` is < 1.
    """
    _check_sizes(n, n_boot)
    draws = [stat(rows) for rows in _per_resample(n, n_boot, seed)]
    return percentile_interval(draws, percentiles)


def bootstrap_ci95(
    samples: tuple[np.ndarray, ...],
    stat: Callable[..., float],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    digits: int = 4,
) -> list[float]:
    """95% percentile bootstrap interval of ``stat`` over galaxies, rounded.

    ``scipy.stats.bootstrap`` with the samples resampled together (paired when there
    are several), ``method="percentile"``, ``numpy.random.default_rng(seed)``: the one
    interval of every model card (``galaxy_xai.zoo``) and of gz1-audit.

    Parameters
    ----------
    samples
        Aligned per-galaxy arrays; ``stat`` is called with one resample of each.
    stat
        Statistic of the resampled arrays (not vectorised).
    n_resamples
        Number of resamples.
    seed
        Seed of the resampling.
    digits
        Decimal digits of the rounded bounds.

    Returns
    -------
    list of float
        ``[low, high]``.
    """
    from scipy.stats import bootstrap

    res: Any = bootstrap(
        samples,
        stat,
        paired=len(samples) > 1,
        vectorized=False,
        n_resamples=n_resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return [round(float(ci.low), digits), round(float(ci.high), digits)]
