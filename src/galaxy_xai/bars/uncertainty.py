"""Per-galaxy bar-length uncertainty: Monte Carlo dropout x SmoothGrad, and ensembles.

Each draw is one SmoothGrad map computed through one network drawn from the
approximate posterior (Monte Carlo dropout, Gal & Ghahramani 2016: dropout kept on,
one mask per galaxy shared by all its noise samples), or through one member of an
ensemble of networks. Measuring the bar in every draw gives a distribution of lengths
per galaxy, reported as the median and the 16th-84th percentiles (the +-1 sigma range
of a Gaussian). The SmoothGrad noise seed changes with the draw too, so the spread
holds both the model's and the map's randomness.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.bars.measure import QUALITY_FLAGS, BarParams, measure_bar
from galaxy_xai.errors import ParameterError

__all__ = ["mc_dropout_bar_lengths", "measure_draws", "summarize_draws"]


def summarize_draws(lengths: np.ndarray, flags: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Median and 16th/84th percentiles of per-draw lengths, and a combined flag.

    Parameters
    ----------
    lengths
        ``(N, S)`` lengths, pixels (NaN where a draw found no bar).
    flags
        ``N`` lists of ``S`` quality flags.

    Returns
    -------
    pandas.DataFrame
        Columns ``bar_length_px`` (median over measured draws), ``bar_length_px_p16``,
        ``bar_length_px_p84``, ``n_draws_measured``, ``quality_flag`` (the most
        common flag over draws; ties go to the worse flag).

    Raises
    ------
    ParameterError
        If ``lengths`` is not 2-D ``(N, S)``.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.ndim != 2:
        raise ParameterError("lengths", lengths.shape, "must be (N, S)")
    n_meas = np.isfinite(lengths).sum(1)
    med = np.full(len(lengths), np.nan)
    p16 = np.full(len(lengths), np.nan)
    p84 = np.full(len(lengths), np.nan)
    some = n_meas > 0
    if some.any():
        med[some] = np.nanmedian(lengths[some], axis=1)
        p16[some], p84[some] = np.nanpercentile(lengths[some], [16, 84], axis=1)
    rank = {f: i for i, f in enumerate(QUALITY_FLAGS)}
    combined = []
    for row in flags:
        counts = Counter(row)
        best = max(counts.items(), key=lambda kv: (kv[1], rank.get(kv[0], 99)))
        combined.append(best[0])
    return pd.DataFrame(
        {
            "bar_length_px": med,
            "bar_length_px_p16": p16,
            "bar_length_px_p84": p84,
            "n_draws_measured": n_meas.astype(np.int64),
            "quality_flag": combined,
        }
    )


def measure_draws(
    map_draws: np.ndarray,
    images: np.ndarray | None = None,
    *,
    ids: Sequence[object] | None = None,
    params: BarParams | None = None,
) -> pd.DataFrame:
    """Measure every draw of every galaxy and summarise (see :func:`summarize_draws`).

    Parameters
    ----------
    map_draws
        ``(N, S, H, W)``: ``S`` maps per galaxy (MC-dropout draws or ensemble members).
    images
        ``(N, H, W)`` or ``(N, C, H, W)`` images (needed when ``params.multiply``).
    ids
        One id per galaxy.
    params
        Measurement settings.

    Returns
    -------
    pandas.DataFrame
        ``id`` then the columns of :func:`summarize_draws`.

    Raises
    ------
    ParameterError
        If ``map_draws`` is not 4-D ``(N, S, H, W)``, ``params.multiply`` is set but
        ``images`` is None, or ``ids`` does not hold one id per galaxy.
    """
    params = params or BarParams()
    map_draws = np.asarray(map_draws)
    if map_draws.ndim != 4:
        raise ParameterError("map_draws", map_draws.shape, "must be (N, S, H, W)")
    n, s = map_draws.shape[:2]
    if params.multiply and images is None:
        raise ParameterError("images", None, "multiply=True needs the galaxy images")
    ids = [str(i) for i in (range(n) if ids is None else ids)]
    if len(ids) != n:
        raise ParameterError("ids", len(ids), f"need one id per galaxy ({n})")
    lengths = np.full((n, s), np.nan)
    flags: list[list[str]] = []
    for i in range(n):
        image = None if images is None else images[i]
        row = []
        for j in range(s):
            res = measure_bar(map_draws[i, j], image, params=params)
            lengths[i, j] = res.length_px
            row.append(res.flag)
        flags.append(row)
    out = summarize_draws(lengths, flags)
    out.insert(0, "id", ids)
    return out


def mc_dropout_bar_lengths(
    model: Any,
    images: Any,
    *,
    target: int | str = "bar",
    n_draws: int = 20,
    n_samples: int = 50,
    noise_level: float = 0.15,
    seed: int = 0,
    params: BarParams | None = None,
    ids: Sequence[object] | None = None,
    return_maps: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Bar lengths with uncertainties from Monte Carlo dropout x SmoothGrad.

    Parameters
    ----------
    model
        A network with dropout layers (``nn.Module`` or ``TrainedModel``).
    images
        ``(N, C, H, W)`` images (array or tensor).
    target
        Output index or name whose SmoothGrad map holds the bar (e.g. ``"bar"``).
    n_draws
        Dropout draws (>= 2); each gives one SmoothGrad map per galaxy.
    n_samples, noise_level
        SmoothGrad noisy copies and noise level (fraction of the image range).
    seed
        Seed of the dropout masks and SmoothGrad noise (each draw derives its own).
    params
        Measurement settings (e.g. from :func:`galaxy_xai.bars.load_calibration`).
    return_maps
        Also return the ``(N, n_draws, H, W)`` maps.

    Returns
    -------
    pandas.DataFrame
        As :func:`measure_draws`; optionally with the maps.

    Raises
    ------
    ParameterError
        If ``n_draws`` is not an integer >= 2, or another argument is refused by
        :func:`galaxy_xai.explain.core.attribute_mc_dropout` or :func:`measure_draws`.
    """
    from galaxy_xai.explain.core import attribute_mc_dropout

    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 2:
        raise ParameterError("n_draws", n_draws, "must be an integer >= 2")
    draws = attribute_mc_dropout(
        model,
        images,
        n_draws=n_draws,
        seed=seed,
        method="smoothgrad",
        target=target,
        n_samples=n_samples,
        noise_level=noise_level,
    )  # (S, N, H, W)
    stack = np.ascontiguousarray(np.moveaxis(np.asarray(draws, dtype=np.float32), 0, 1))
    imgs = None
    if params is not None and params.multiply:
        imgs = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    table = measure_draws(stack, imgs, ids=ids, params=params)
    return (table, stack) if return_maps else table
