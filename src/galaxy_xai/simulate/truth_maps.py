"""Noiseless images of one component of simulated galaxies, redrawn from their dataset.

A simulated dataset stores its resolved configuration, run seed and truth catalogue, so
every galaxy can be redrawn exactly (the seed scheme of :mod:`galaxy_xai.simulate.suite`)
and any one component rendered alone: the bar's own light is the map a perfect bar
saliency map would be. It gives a ceiling for a measurement made on maps (the same
measurement on the true bar light) and a ground truth to compare maps with, pixel by
pixel (:func:`map_truth_correlation`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["component_maps", "map_truth_correlation"]

#: Catalogue columns that must agree between the file and the redrawn galaxy; a
#: mismatch means the file was not made by this version of the simulation.
_CHECK_COLUMNS = ("bar_length_px", "disk_half_light_radius_arcsec")


def component_maps(
    dataset: str | os.PathLike[str],
    *,
    component: str = "bar",
    psf: bool = True,
    rows: Any = None,
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
        ``(N, H, W)`` float32 linear counts, before the survey stretch and noise; zeros
        where the galaxy has no such component (e.g. ``bar`` of an unbarred galaxy).
        Random rotations and flips are part of each galaxy's parameters, so the
        images have the orientation of the stored ones.

    Raises
    ------
    ParameterError
        For an unknown component.
    DataFormatError
        If the file is not a simulation, or a redrawn galaxy does not match its
        catalogue row (naming the row): the file was made by another simulation version.
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
    if metadata.get("kind") != "simulation" or "config" not in metadata:
        raise DataFormatError(
            f"'{dataset}' is not a simulated dataset (no simulation config in it)"
        )
    config = resolve_config(metadata["config"])
    seed = int(metadata["seed"])
    picked = np.arange(len(catalog)) if rows is None else np.asarray(rows, dtype=int)
    out = np.zeros((len(picked), config.size, config.size), np.float32)
    for k, row in enumerate(picked):
        entry = catalog.iloc[int(row)]
        params = draw_parameters(config, seed, int(entry["index"]))
        for column in _CHECK_COLUMNS:
            if column in entry and not np.isclose(getattr(params, column), entry[column]):
                raise DataFormatError(
                    f"'{dataset}' row {int(row)} (id {entry['id']}): the redrawn galaxy has "
                    f"{column} {getattr(params, column):.4g}, the catalogue "
                    f"{entry[column]:.4g}; the file was made by another simulation version"
                )
        image = draw_components(params, config, psf=psf)[component]
        out[k] = image
    return out


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
    """
    maps = np.asarray(maps, np.float64)
    truth = np.asarray(truth, np.float64)
    if maps.shape != truth.shape or maps.ndim != 3:
        raise ParameterError(
            "maps", maps.shape, f"must be (N, H, W) and match the truth's shape {truth.shape}"
        )
    a = maps.reshape(len(maps), -1)
    b = truth.reshape(len(truth), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)
