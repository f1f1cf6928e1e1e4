"""Noiseless images of one component of simulated galaxies, redrawn from their dataset.

A simulated dataset stores its resolved configuration, run seed and truth catalogue, so
every galaxy can be redrawn exactly (the seed scheme of :mod:`galaxy_xai.simulate.suite`)
and any one component rendered alone. The bar's own light is a map that shows the bar
and nothing else: the same measurement on it is a reference ceiling for a measurement
made on saliency maps, and it is a ground truth to compare the maps with, pixel by
pixel (:func:`map_truth_correlation`).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.stats import row_pearson

__all__ = ["component_maps", "map_truth_correlation"]


def component_maps(
    dataset: str | os.PathLike[str],
    *,
    component: str = "bar",
    psf: bool = True,
    rows: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """The noiseless image (counts) of one component of each galaxy of a simulated dataset.

    Parameters
    ----------
    dataset
        A dataset written by :func:`galaxy_xai.simulate.simulate_dataset`.
    component
        One of :data:`galaxy_xai.simulate.render.COMPONENT_NAMES` (``"bar"``,
        ``"bulge"``, ``"disk"``, ``"arms"``, ``"knots"``, ``"contaminants"``).
    psf
        Convolve with each galaxy's PSF (as observed) or sample the bare profile at
        pixel centres (its exact support).
    rows
        Row numbers of the dataset to draw (default all), in the dataset's order.

    Returns
    -------
    numpy.ndarray
        ``(N, H, W)`` float32 linear counts in the survey's reference band (also for
        colour renderings: one band, no colour factors), before the survey stretch
        and noise; zeros where the galaxy has no such component (e.g. ``bar`` of an
        unbarred galaxy). Random rotations and flips are part of each galaxy's
        parameters, so the images have the orientation of the stored ones. Sharded
        and joined files work: galaxies are redrawn by their catalogue ``index``.

    Raises
    ------
    ParameterError
        For an unknown component, or ``rows`` that are not row numbers of the file.
    DataFormatError
        If the file is not a simulation, or a redrawn galaxy does not match its
        catalogue row (naming the row and the column): the file was made with
        another configuration or simulation version than the one stored in it.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.simulate.render import COMPONENT_NAMES, draw_components
    from galaxy_xai.simulate.suite import resolve_config
    from galaxy_xai.simulate.truth import draw_parameters

    if component not in COMPONENT_NAMES:
        raise ParameterError("component", component, f"must be one of {COMPONENT_NAMES}")
    with open_dataset(dataset) as ds:
        metadata = dict(ds.metadata)
        catalog = ds.catalog
    if metadata.get("kind") != "simulation" or "config" not in metadata or "seed" not in metadata:
        raise DataFormatError(
            f"'{dataset}' is not a simulated dataset (no simulation config and seed in it)"
        )
    if "index" not in catalog.columns:
        raise DataFormatError(f"'{dataset}' has no 'index' column to redraw its galaxies by")
    config = resolve_config(metadata["config"])
    seed = int(metadata["seed"])
    picked = _check_rows(rows, len(catalog), dataset)
    out = np.zeros((len(picked), config.size, config.size), np.float32)
    for k, row in enumerate(picked):
        entry = catalog.iloc[int(row)]
        params = draw_parameters(config, seed, int(entry["index"]))
        _check_redrawn(params.to_row(), entry, dataset, int(row))
        out[k] = draw_components(params, config, psf=psf)[component]
    return out


def _check_rows(rows: Any, n: int, dataset: object) -> np.ndarray:
    """Row numbers in [0, n) as an int array (all rows when None)."""
    if rows is None:
        return np.arange(n)
    values = list(np.ravel(np.asarray(rows, dtype=object)))
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ParameterError("rows", rows, "must be integer row numbers")
    picked = np.asarray(values, dtype=int)
    if len(picked) and (picked.min() < 0 or picked.max() >= n):
        raise ParameterError("rows", rows, f"must lie in [0, {n}): '{dataset}' has {n} rows")
    return picked


def _check_redrawn(redrawn: dict[str, Any], entry: Any, dataset: object, row: int) -> None:
    """Every numeric truth column of the file must equal the redrawn galaxy's."""
    for column, value in redrawn.items():
        if column not in entry.index or not isinstance(value, numbers.Real):
            continue
        stored = float(entry[column])
        if not np.isclose(float(value), stored, rtol=1e-5, atol=1e-6, equal_nan=True):
            raise DataFormatError(
                f"'{dataset}' row {row} (id {entry.get('id', '?')}): the redrawn galaxy has "
                f"{column} {float(value):.6g}, the catalogue {stored:.6g}; the file was made "
                "with another configuration or simulation version than the one stored in it"
            )


def map_truth_correlation(maps: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pearson r between each map and its true component image, pixel by pixel.

    Parameters
    ----------
    maps, truth
        ``(N, H, W)`` attribution maps and true component images (e.g. from
        :func:`component_maps`) of the same galaxies, in the same order.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` correlations in [-1, 1]; NaN where either image is constant.

    Raises
    ------
    ParameterError
        If ``maps`` is not 3-D ``(N, H, W)`` or its shape differs from ``truth``'s.
    """
    maps = np.asarray(maps, np.float64)
    truth = np.asarray(truth, np.float64)
    if maps.shape != truth.shape or maps.ndim != 3:
        raise ParameterError(
            "maps", maps.shape, f"must be (N, H, W) and match the truth's shape {truth.shape}"
        )
    return row_pearson(maps.reshape(len(maps), -1), truth.reshape(len(truth), -1))
