"""Bulge measurements for a whole dataset (the ``features`` commands).

Maps come either from files written by ``galaxy-xai explain`` (of the bulge output;
several files, or ``(N, S, H, W)`` maps, are MC-dropout x SmoothGrad draws), or are
computed here from a model (``--model``: MC dropout x SmoothGrad of the bulge output,
as ``bars`` does for the bar). Every galaxy gets the median over draws and the 16th
and 84th percentiles of each calibrated quantity, and a quality flag.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.features.calibrate import (
    BulgeCalibration,
    calibrate_bulge,
    save_bulge_calibration,
)
from galaxy_xai.features.measure import (
    QUALITY_FLAGS,
    galaxy_regions,
    raw_measurements,
    summarise_draws,
    usable_draws,
)

__all__ = [
    "FEATURE_COLUMNS",
    "FeatureCalibrateConfig",
    "FeatureMeasureConfig",
    "bulge_maps",
    "bulge_output",
    "calibrate_files",
    "measure_features",
    "measure_files",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureCalibrateConfig:
    """Settings of ``features calibrate`` (keywords of :func:`calibrate_files`)."""

    target: str | None = None  # output measured from; None: the one named like 'bulge'
    bt_col: str = "bulge_to_total"  # true B/T column
    radius_col: str = "bulge_half_light_radius_arcsec"  # true bulge half-light radius
    n_draws: int = 10  # MC-dropout draws (maps computed from a model)
    n_samples: int = 25  # SmoothGrad samples per draw
    seed: int = 0


@dataclass(frozen=True)
class FeatureMeasureConfig:
    """Settings of ``features measure`` (keywords of :func:`measure_files`)."""

    target: str | None = None  # output measured from; None: the one named like 'bulge'
    n_draws: int = 10  # MC-dropout draws (maps computed from a model)
    n_samples: int = 25  # SmoothGrad samples per draw
    seed: int = 0
    pixel_scale_arcsec: float | None = None  # for every galaxy; None: the dataset's
    require_arcsec: bool = False  # error if a galaxy has no pixel scale


#: Columns of a features table, in order.
FEATURE_COLUMNS = (
    "id",
    "bulge_to_total",
    "bulge_to_total_p16",
    "bulge_to_total_p84",
    "bulge_half_light_radius_px",
    "bulge_half_light_radius_px_p16",
    "bulge_half_light_radius_px_p84",
    "bulge_half_light_radius_arcsec",
    "galaxy_half_light_radius_px",
    "galaxy_half_light_radius_arcsec",
    "bt_raw",
    "radius_raw_px",
    "n_draws_measured",
    "quality_flag",
)


def bulge_output(output_names: Sequence[str], target: str | None = None) -> str:
    """The output whose map holds the bulge: ``target`` if given, else the first
    output whose name contains ``bulge`` (e.g. ``bulge-dominated``).

    Raises
    ------
    ParameterError
        ``target`` is not an output, or no output is bulge-like (naming the outputs
        the model does have).
    """
    names = [str(n) for n in output_names]
    if target is not None:
        if target not in names:
            raise ParameterError("target", target, f"is not an output of the model ({names})")
        return target
    for name in names:
        if "bulge" in name.lower():
            return name
    raise ParameterError(
        "model",
        names,
        "has no bulge-like output (an output named like 'bulge', e.g. 'bulge-dominated'); "
        "pass target= to measure from another output",
    )


def bulge_maps(
    model: Any,
    images: np.ndarray,
    *,
    target: str | None = None,
    n_draws: int = 10,
    n_samples: int = 25,
    noise_level: float = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """MC-dropout x SmoothGrad maps of the bulge output: ``(N, n_draws, H, W)``, signed
    (the mean gradient over noisy copies; channels summed).

    With ``n_draws`` 1 the map is plain SmoothGrad (dropout off).

    Raises
    ------
    ParameterError
        No bulge-like output (see :func:`bulge_output`), or ``n_draws`` < 1.
    """
    from galaxy_xai.explain.core import attribute, attribute_mc_dropout

    name = bulge_output(model.output_names, target)
    # signed maps: the measurement takes their absolute value, and B/T may use the sign
    kwargs: dict[str, Any] = {"method": "smoothgrad", "target": name, "n_samples": n_samples,
                              "noise_level": noise_level, "abs": False}  # fmt: skip
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ParameterError("n_draws", n_draws, "must be an integer >= 1")
    if n_draws == 1:
        maps = np.asarray(attribute(model, images, seed=seed, **kwargs))[:, None]
    else:
        draws = attribute_mc_dropout(model, images, n_draws=n_draws, seed=seed, **kwargs)
        maps = np.moveaxis(np.asarray(draws), 0, 1)
    if maps.ndim == 5:  # (N, S, C, H, W): channels summed (signed)
        maps = maps.sum(axis=2)
    return np.ascontiguousarray(maps, dtype=np.float32)


#: Rank of each quality flag (higher is worse); an unknown flag ranks worst.
_FLAG_RANK = {f: i for i, f in enumerate(QUALITY_FLAGS)}


def _flag(row: Sequence[str]) -> str:
    counts = Counter(row)
    return max(counts.items(), key=lambda kv: (kv[1], _FLAG_RANK.get(kv[0], 99)))[0]


def measure_features(
    maps: np.ndarray | None,
    images: np.ndarray,
    calibration: BulgeCalibration,
    *,
    ids: Sequence[object] | None = None,
    pixel_scale_arcsec: np.ndarray | float | None = None,
) -> pd.DataFrame:
    """Calibrated B/T and bulge half-light radius of every galaxy.

    Parameters
    ----------
    maps
        Maps or ``(N, S, H, W)`` draws (``None``: a constant map, the no-saliency
        control).
    images
        The galaxies' images.
    calibration
        A frozen calibration (:func:`~galaxy_xai.features.calibrate.calibrate_bulge`).
    ids
        Galaxy ids.
    pixel_scale_arcsec
        Per-galaxy (or one) pixel scale; arcsec columns are NaN where it is unknown.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FEATURE_COLUMNS`.

    Raises
    ------
    ParameterError
        Maps, images, ids or pixel scales of different lengths.
    """
    n = len(images)
    ids = [str(i) for i in (range(n) if ids is None else ids)]
    cols: dict[str, Any] = {"id": ids}
    flags_all: list[list[str]] | None = None
    galaxy_radius = np.full(n, np.nan)
    regions: dict[float, Any] = {}  # the galaxy regions depend on the image only
    for quantity, params, lin in (
        ("bt", calibration.bt_params, calibration.bt_map),
        ("radius", calibration.radius_params, calibration.radius_map),
    ):
        if params.galaxy_sigma not in regions:
            regions[params.galaxy_sigma] = galaxy_regions(images, galaxy_sigma=params.galaxy_sigma,
                                                          ids=ids)  # fmt: skip
        raw = raw_measurements(maps, images, params=params, ids=ids,
                               galaxies=regions[params.galaxy_sigma])  # fmt: skip
        key = "bt_raw" if quantity == "bt" else "radius_raw_px"
        med, p16, p84 = summarise_draws(lin(raw[key]), raw["flags"])
        name = "bulge_to_total" if quantity == "bt" else "bulge_half_light_radius_px"
        cols[name], cols[f"{name}_p16"], cols[f"{name}_p84"] = med, p16, p84
        cols[key] = summarise_draws(raw[key], raw["flags"])[0]
        galaxy_radius = raw["galaxy_radius_px"]
        # a draw's flag is the worse of its two measurements' flags
        if flags_all is None:
            flags_all = raw["flags"]
        else:
            flags_all = [
                [
                    max(a, b, key=lambda f: _FLAG_RANK.get(f, 99))
                    for a, b in zip(ra, rb, strict=True)
                ]
                for ra, rb in zip(flags_all, raw["flags"], strict=True)
            ]
    assert flags_all is not None  # two quantities were measured
    # usable when both measurements are (the usable flags rank best)
    cols["n_draws_measured"] = usable_draws(flags_all).sum(axis=1).astype(np.int64)
    scale = np.full(n, np.nan)
    if pixel_scale_arcsec is not None:
        given = np.broadcast_to(np.asarray(pixel_scale_arcsec, dtype=np.float64), (n,))
        scale = np.where(np.isfinite(given) & (given > 0), given, np.nan)
    cols["bulge_half_light_radius_arcsec"] = cols["bulge_half_light_radius_px"] * scale
    cols["galaxy_half_light_radius_px"] = galaxy_radius
    cols["galaxy_half_light_radius_arcsec"] = galaxy_radius * scale
    cols["quality_flag"] = [_flag(row) for row in flags_all]
    return pd.DataFrame(cols)[list(FEATURE_COLUMNS)]


def _dataset_arrays(
    data: str | os.PathLike[str], ids: Sequence[str] | None, *, of_maps: bool = False
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Images, catalogue and rows of ``ids`` (default every galaxy) of a dataset.

    ``of_maps``: the ids are a maps file's, matched as ``bars`` matches them
    (:func:`galaxy_xai.bars.catalog.align_ids`).
    """
    from galaxy_xai.bars.catalog import align_ids
    from galaxy_xai.data import open_dataset
    from galaxy_xai.data.subset import id_positions

    with open_dataset(data) as ds:
        catalog = ds.catalog.reset_index(drop=True)
        if ids is None:
            rows = np.arange(len(catalog))
        elif of_maps:
            rows = align_ids(ids, catalog, where=f"dataset '{data}'")
        else:
            rows, missing = id_positions(ids, catalog["id"].astype(str))
            if missing:
                raise DataFormatError(
                    f"id {missing[0]!r} is not in dataset '{data}' ({len(missing)} of "
                    f"{len(ids)} ids missing)"
                )
        images = ds.images[rows]  # any order, in one read
    return images, catalog, rows


def _pixel_scale(
    catalog: pd.DataFrame, rows: np.ndarray, given: float | None, *, require: bool, data: object
) -> np.ndarray:
    n = len(rows)
    if given is not None:
        if not (np.isfinite(given) and given > 0):
            raise ParameterError("pixel_scale_arcsec", given, "must be > 0 arcsec/px")
        return np.full(n, float(given))
    scale = np.full(n, np.nan)
    if "pixel_scale_arcsec" in catalog.columns:
        scale = pd.to_numeric(catalog["pixel_scale_arcsec"], errors="coerce").to_numpy()[rows]
    bad = ~(np.isfinite(scale) & (scale > 0))
    if bad.any():
        first = catalog["id"].astype(str).to_numpy()[rows][int(np.flatnonzero(bad)[0])]
        if require:
            raise DataFormatError(
                f"dataset '{data}': galaxy {first!r} has no pixel_scale_arcsec; give "
                "pixel_scale_arcsec (--pixel-scale) for arcsec"
            )
        log.warning("%d of %d galaxies have no pixel scale (first: %r): arcsec are NaN",
                    int(bad.sum()), n, first)  # fmt: skip
    return scale


def _maps_for(
    maps: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    model: str | os.PathLike[str] | None,
    data: str | os.PathLike[str],
    *,
    ids: Sequence[str] | None,
    target: str | None,
    n_draws: int,
    n_samples: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray, dict[str, Any]]:
    """``(maps (N, S, H, W), images, catalogue, rows, provenance)`` from files or a model."""
    from galaxy_xai.bars.catalog import read_maps

    if (maps is None) == (model is None):
        raise ParameterError("maps", maps, "give maps files or a model, not both or neither")
    if maps is not None:
        bundle = read_maps(maps)
        got = bundle.metadata.get("target")
        names = bundle.metadata.get("output_names") or []
        if got is not None and target is not None and str(got) != target:
            raise ParameterError("target", target, f"the maps are of output {got!r}")
        if got is not None and target is None and "bulge" not in str(got).lower():
            raise ParameterError(
                "maps", str(got), "are maps of an output that is not bulge-like; pass "
                f"target={str(got)!r} to measure from it anyway (outputs: {names})",
            )  # fmt: skip
        images, catalog, rows = _dataset_arrays(data, list(bundle.ids), of_maps=True)
        if images.shape[-2:] != bundle.maps.shape[-2:]:
            raise DataFormatError(
                f"maps are {bundle.maps.shape[-2]}x{bundle.maps.shape[-1]} px but the images "
                f"of dataset '{data}' are {images.shape[-2]}x{images.shape[-1]} px"
            )
        return np.asarray(bundle.maps), images, catalog, rows, {"maps": bundle.sources}
    from galaxy_xai.models.trained import load_model

    assert model is not None  # exactly one of maps and model, checked above
    trained = load_model(model)
    name = bulge_output(trained.output_names, target)
    images, catalog, rows = _dataset_arrays(data, ids)
    if tuple(images.shape[1:]) != tuple(trained.input_shape):
        raise DataFormatError(
            f"dataset '{data}' holds {tuple(images.shape[1:])} images but model '{model}' "
            f"takes {tuple(trained.input_shape)}{trained.import_hint()}"
        )
    stack = bulge_maps(trained, images, target=name, n_draws=n_draws, n_samples=n_samples,
                       seed=seed)  # fmt: skip
    return stack, images, catalog, rows, {"model": str(model), "target": name,
                                          "n_draws": n_draws, "n_samples": n_samples}  # fmt: skip


def measure_files(
    *,
    data: str | os.PathLike[str],
    calibration: BulgeCalibration,
    maps: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    model: str | os.PathLike[str] | None = None,
    target: str | None = None,
    ids: Sequence[str] | None = None,
    n_draws: int = 10,
    n_samples: int = 25,
    seed: int = 0,
    pixel_scale_arcsec: float | None = None,
    require_arcsec: bool = False,
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Measure every galaxy of a dataset (the ``features measure`` command).

    Parameters
    ----------
    data
        Dataset the maps were computed from (images, ``pixel_scale_arcsec``).
    calibration
        Frozen calibration.
    maps, model
        Maps files of the bulge output, or a trained model (run folder, model file,
        ``zoo:NAME``) to compute MC dropout x SmoothGrad maps with; exactly one.
    target
        Output to use (default: the model's bulge-like output).
    ids
        Galaxies to measure with ``model`` (default all).
    n_draws, n_samples, seed
        MC-dropout draws, SmoothGrad samples and seed (with ``model``).
    pixel_scale_arcsec, require_arcsec
        One pixel scale for all; or fail when a galaxy has none.
    out
        CSV path (written atomically); a JSON sidecar records the settings.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FEATURE_COLUMNS`.

    Raises
    ------
    ParameterError
        Neither or both of maps and model; a model or maps without a bulge-like output.
    DataFormatError
        Maps and dataset with different ids or sizes; a missing pixel scale with
        ``require_arcsec``.
    """
    from galaxy_xai.io import atomic_output, write_json

    stack, images, catalog, rows, prov = _maps_for(
        maps, model, data, ids=ids, target=target, n_draws=n_draws, n_samples=n_samples,
        seed=seed,
    )  # fmt: skip
    scale = _pixel_scale(catalog, rows, pixel_scale_arcsec, require=require_arcsec, data=data)
    ident = catalog["id"].astype(str).to_numpy()[rows]
    table = measure_features(stack, images, calibration, ids=ident, pixel_scale_arcsec=scale)
    if out is not None:
        out = Path(out)
        with atomic_output(out) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        write_json(out.with_suffix(".json"), {
            **prov, "data": str(data), "n": len(table),
            "quality_flags": table["quality_flag"].value_counts().to_dict(),
            "calibration": calibration.provenance,
        })  # fmt: skip
    return table


def calibrate_files(
    *,
    data: str | os.PathLike[str],
    maps: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    model: str | os.PathLike[str] | None = None,
    target: str | None = None,
    ids: Sequence[str] | None = None,
    bt_col: str = "bulge_to_total",
    radius_col: str = "bulge_half_light_radius_arcsec",
    n_draws: int = 10,
    n_samples: int = 25,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
) -> BulgeCalibration:
    """Calibrate on simulated galaxies of ``data`` (the ``features calibrate`` command).

    ``radius_col`` is in arcsec and converted to pixels with the dataset's
    ``pixel_scale_arcsec``. Arguments as :func:`measure_files`.

    Returns
    -------
    BulgeCalibration

    Raises
    ------
    DataFormatError
        A truth column or pixel scale missing from the dataset.
    ParameterError
        As :func:`measure_files`, or too few calibration galaxies.
    """
    stack, images, catalog, rows, prov = _maps_for(
        maps, model, data, ids=ids, target=target, n_draws=n_draws, n_samples=n_samples,
        seed=seed,
    )  # fmt: skip
    for col in (bt_col, radius_col):
        if col not in catalog.columns:
            raise DataFormatError(
                f"dataset '{data}' has no truth column {col!r} (calibrate on simulations, "
                "which have bulge_to_total and bulge_half_light_radius_arcsec)"
            )
    scale = _pixel_scale(catalog, rows, None, require=True, data=data)
    bt = pd.to_numeric(catalog[bt_col], errors="coerce").to_numpy(dtype=float)[rows]
    radius = pd.to_numeric(catalog[radius_col], errors="coerce").to_numpy(dtype=float)[rows]
    ident = catalog["id"].astype(str).to_numpy()[rows]
    cal = calibrate_bulge(stack, images, bt, radius / scale, ids=ident,
                          provenance={**prov, "data": str(data), "n": len(rows)})  # fmt: skip
    if out is not None:
        save_bulge_calibration(out, cal)
    return cal
