"""Catalogue-scale bar measurement from saved files: maps + dataset -> bars table.

This is what ``galaxy-xai bars measure`` and ``galaxy-xai bars calibrate`` run:
read the saliency maps written by ``galaxy-xai explain`` (one file, or several: MC
dropout draws or ensemble members), match them by id to the dataset (images for the
``multiply`` option, pixel scales, redshifts, true lengths), measure every galaxy, and
write one row per map - flagged, never dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from galaxy_xai.bars.calibrate import PAPER_GRID, CalibrationGrid, calibrate, save_calibration
from galaxy_xai.bars.crossval import GridChoice, choose_grid
from galaxy_xai.bars.measure import BarParams, measure_bars
from galaxy_xai.bars.uncertainty import measure_draws
from galaxy_xai.bars.units import DEFAULT_COSMOLOGY, arcsec_to_kpc, px_to_arcsec
from galaxy_xai.data.splits import read_split_ids  # re-exported: its old home
from galaxy_xai.data.subset import id_positions
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import atomic_output, write_json

__all__ = [
    "BAR_COLUMNS",
    "BarCalibrateConfig",
    "MapsBundle",
    "align_ids",
    "calibrate_files",
    "measure_catalog",
    "read_maps",
    "read_split_ids",
]

log = logging.getLogger(__name__)

#: Columns of the bars table, in order.
BAR_COLUMNS = (
    "id",
    "bar_length_px",
    "bar_length_arcsec",
    "bar_length_kpc",
    "bar_length_px_p16",
    "bar_length_px_p84",
    "quality_flag",
    "threshold",
    "n_pixels",
    "elongation",
    "bar_angle_deg",
    "n_draws_measured",
)


@dataclasses.dataclass
class MapsBundle:
    """Saliency maps read from one or more files.

    Attributes
    ----------
    maps
        ``(N, S, H, W)`` float32: ``S`` draws per galaxy (1 for a plain map file).
    ids
        ``N`` ids (str), the order of the map files.
    metadata
        The first file's metadata.
    sources
        The files read.
    """

    maps: np.ndarray
    ids: list[str]
    metadata: dict[str, Any]
    sources: list[str]

    @property
    def n_draws(self) -> int:
        return int(self.maps.shape[1])


def _open_one(path: Path) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Read one maps file; a map with NaNs becomes all-NaN (flagged later), not an error."""
    from galaxy_xai.explain.maps_io import open_maps

    with open_maps(path) as store:
        ids = [str(i) for i in store.ids]
        meta = dict(store.metadata or {})
        try:
            maps = np.asarray(store.maps[:], dtype=np.float32)
        except DataFormatError:  # at least one map holds NaNs: read one by one
            maps = np.full(store.maps.shape, np.nan, dtype=np.float32)
            for i in range(len(ids)):
                try:
                    maps[i] = store.maps[i]
                except DataFormatError:
                    log.warning("maps file '%s': map of id %r holds NaNs", path, ids[i])
    if maps.ndim == 4:  # channels kept (explain --keep-channels): sum them, as explain does
        maps = maps.sum(axis=1)
    return maps, ids, meta


def read_maps(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> MapsBundle:
    """Read saliency-map files written by ``galaxy-xai explain``.

    Several files (MC-dropout draws or ensemble members) must hold the same ids in
    the same order; they become the draws of each galaxy. A file whose maps are
    ``(N, S, H, W)`` contributes ``S`` draws.

    Raises
    ------
    DataMissingError
        If a file does not exist.
    DataFormatError
        If a file holds no maps, or the files hold different ids (naming the first
        mismatching row and ids) or maps of different sizes.
    ParameterError
        If ``paths`` is an empty list.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise ParameterError("maps", [], "give at least one maps file")
    blocks, ids0, meta0 = [], None, {}
    for path in files:
        if not path.is_file():
            raise DataMissingError(f"maps file '{path}' does not exist")
        maps, ids, meta = _open_one(path)
        if not ids:
            raise DataFormatError(f"maps file '{path}' has no galaxies (it holds no maps)")
        if maps.ndim != 3:
            raise DataFormatError(
                f"maps file '{path}': maps of shape {maps.shape}, expected (N, H, W)"
            )
        maps = maps[:, None]
        if ids0 is None:
            ids0, meta0 = ids, meta
        else:
            _check_same_ids(ids0, ids, str(files[0]), str(path))
            if maps.shape[2:] != blocks[0].shape[2:]:
                raise DataFormatError(
                    f"maps file '{path}': maps are {maps.shape[2:]} pixels, "
                    f"'{files[0]}' holds {blocks[0].shape[2:]}"
                )
        blocks.append(maps)
    return MapsBundle(
        maps=np.concatenate(blocks, axis=1),
        ids=list(ids0 or []),
        metadata=meta0,
        sources=[str(p) for p in files],
    )


def _check_same_ids(a: Sequence[str], b: Sequence[str], name_a: str, name_b: str) -> None:
    if len(a) != len(b) or list(a) != list(b):
        for row, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                raise DataFormatError(
                    f"'{name_b}' row {row} has id {y!r} but '{name_a}' row {row} has id {x!r}; "
                    "map files must hold the same galaxies in the same order"
                )
        raise DataFormatError(f"'{name_b}' holds {len(b)} maps but '{name_a}' holds {len(a)}")


def align_ids(map_ids: Sequence[str], catalog: pd.DataFrame, *, where: str) -> np.ndarray:
    """Dataset row of every map id (maps may be a subset, e.g. one shard).

    Raises
    ------
    DataFormatError
        Naming the first map id (and its row) that the dataset does not hold.
    """
    rows = pd.Series(np.arange(len(catalog)), index=catalog["id"].astype(str).to_numpy())
    rows = rows[~rows.index.duplicated()]
    found = rows.reindex(list(map_ids))
    missing = found.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        near = catalog["id"].iloc[i] if i < len(catalog) else None
        raise DataFormatError(
            f"map row {i} has id {map_ids[i]!r}, which {where} does not hold "
            f"({int(missing.sum())} of {len(map_ids)} map ids missing; dataset row {i} has id "
            f"{near!r}); were the maps computed from another dataset?"
        )
    return found.to_numpy(dtype=np.int64)


def _dataset_catalog(data: str | os.PathLike[str], purpose: str) -> pd.DataFrame:
    """The catalogue of a dataset that holds galaxies (else one clear error)."""
    from galaxy_xai.data import open_dataset

    with open_dataset(data) as ds:
        ds.require_images(purpose)
        return ds.catalog


def _images_for(data_path: Path, rows: np.ndarray, expect_hw: tuple[int, int]) -> np.ndarray:
    from galaxy_xai.data import open_dataset

    with open_dataset(data_path) as ds:
        if tuple(ds.image_shape[1:]) != tuple(expect_hw):
            raise DataFormatError(
                f"dataset '{data_path}' images are {ds.image_shape[1:]} pixels but the maps are "
                f"{tuple(expect_hw)}; multiply needs maps made from these images"
            )
        return ds.images[rows]


def measure_catalog(
    maps: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    data: str | os.PathLike[str] | None = None,
    params: BarParams | None = None,
    pixel_scale_arcsec: float | None = None,
    require_arcsec: bool = False,
    cosmology: str = DEFAULT_COSMOLOGY,
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Measure the bar of every galaxy in a maps file (the ``bars measure`` command).

    Parameters
    ----------
    maps
        One maps file, or several (MC-dropout draws / ensemble members) with the same
        ids; with more than one draw per galaxy the length is the median over draws
        and ``bar_length_px_p16``/``_p84`` give the 16-84th percentile range.
    data
        The dataset the maps were computed from: images (for ``multiply``),
        ``pixel_scale_arcsec`` and ``redshift`` columns. Matched by id.
    params
        Measurement settings (e.g. :func:`galaxy_xai.bars.load_calibration`).
    pixel_scale_arcsec
        One pixel scale for every galaxy (arcsec per pixel), overriding the dataset's.
    require_arcsec
        Raise if any galaxy lacks a pixel scale; otherwise its arcsec (and kpc) are NaN.
    cosmology
        astropy cosmology for kpc (default Planck18; angular-diameter distance).
    out
        CSV path; a JSON sidecar (same name, ``.json``) records settings and counts.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BAR_COLUMNS`, one row per map, in the maps' order.

    Raises
    ------
    DataFormatError
        Maps and dataset with different ids (naming the first mismatch), a missing
        pixel scale with ``require_arcsec`` (naming the id).
    ParameterError
        ``multiply`` asked without ``data``.
    """
    params = params or BarParams()
    bundle = read_maps(maps)
    n = len(bundle.ids)
    catalog = None
    rows = None
    if data is not None:
        catalog = _dataset_catalog(data, "measure bars for")
        rows = align_ids(bundle.ids, catalog, where=f"dataset '{data}'")
    images = None
    if params.multiply:
        if data is None or rows is None:  # rows is set exactly when data is given
            raise ParameterError(
                "data", None, "the calibration multiplies maps by images: pass --data"
            )
        images = _images_for(Path(data), rows, bundle.maps.shape[2:])
    if bundle.n_draws > 1:
        table = measure_draws(bundle.maps, images, ids=bundle.ids, params=params)
        for col in ("threshold", "n_pixels", "elongation", "bar_angle_deg"):
            table[col] = np.nan
    else:
        table = measure_bars(bundle.maps[:, 0], images, ids=bundle.ids, params=params)
        table["bar_length_px_p16"] = np.nan
        table["bar_length_px_p84"] = np.nan
        table["n_draws_measured"] = np.isfinite(table["bar_length_px"]).astype(np.int64)

    # --- units
    scale = np.full(n, np.nan)
    if pixel_scale_arcsec is not None:
        if not (np.isfinite(pixel_scale_arcsec) and pixel_scale_arcsec > 0):
            raise ParameterError("pixel_scale_arcsec", pixel_scale_arcsec, "must be > 0 arcsec/px")
        scale[:] = pixel_scale_arcsec
    elif catalog is not None and "pixel_scale_arcsec" in catalog.columns:
        scale = pd.to_numeric(catalog["pixel_scale_arcsec"], errors="coerce").to_numpy()[rows]
    elif bundle.metadata.get("pixel_scale_arcsec") is not None:
        scale[:] = float(bundle.metadata["pixel_scale_arcsec"])
    known = np.isfinite(scale) & (scale > 0)
    if require_arcsec or known.all():
        table["bar_length_arcsec"] = px_to_arcsec(table["bar_length_px"], scale, ids=bundle.ids)
    else:
        first = bundle.ids[int(np.flatnonzero(~known)[0])]
        log.warning(
            "%d of %d galaxies have no pixel scale (first: id %r); their arcsec and kpc are NaN",
            int((~known).sum()),
            n,
            first,
        )
        arcsec = np.full(n, np.nan)
        arcsec[known] = table["bar_length_px"].to_numpy()[known] * scale[known]
        table["bar_length_arcsec"] = arcsec
    redshift = np.full(n, np.nan)
    if catalog is not None:
        zcol = next((c for c in ("redshift", "z", "Z") if c in catalog.columns), None)
        if zcol is not None:
            redshift = pd.to_numeric(catalog[zcol], errors="coerce").to_numpy()[rows]
    table["bar_length_kpc"] = arcsec_to_kpc(
        table["bar_length_arcsec"], redshift, cosmology=cosmology
    )
    for col in ("bar_length_px_p16", "bar_length_px_p84"):
        table[col] = table[col].astype(float)
    table = table[list(BAR_COLUMNS)]
    if out is not None:
        out = Path(out)
        with atomic_output(out) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        write_json(
            out.with_suffix(".json"),
            {
                "maps": bundle.sources,
                "data": None if data is None else str(data),
                "params": dataclasses.asdict(params),
                "n_draws": bundle.n_draws,
                "cosmology": cosmology,
                "kpc_from": "angular-diameter distance D_A(z) of the stated cosmology",
                "n": n,
                "quality_flags": table["quality_flag"].value_counts().to_dict(),
            },
        )
    return table


@dataclasses.dataclass(frozen=True)
class BarCalibrateConfig:
    """Settings of ``bars calibrate`` (keywords of :func:`calibrate_files`).

    A YAML/TOML file of these keys is ``bars calibrate --config FILE``; the grid is a
    section (``grid: {corr_thresholds: [0.75, 0.85], smooth_sigma_px: [0]}``).
    """

    truth_col: str = "bar_length_px"  # true full bar length, pixels
    grid: CalibrationGrid = dataclasses.field(default_factory=CalibrationGrid)  # searched
    objective: Literal["rmse", "pearson"] = "rmse"  # what the calibration minimises
    cv_folds: int | None = None  # choose between grid and PAPER_GRID by K-fold CV first
    cv_seed: int = 0  # seed of the folds' shuffle


def calibrate_files(
    maps: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str],
    *,
    truth_col: str = "bar_length_px",
    ids: Sequence[str] | None = None,
    grid: CalibrationGrid | None = None,
    objective: str = "rmse",
    out: str | os.PathLike[str] | None = None,
    provenance: dict[str, Any] | None = None,
    cv_folds: int | None = None,
    cv_seed: int = 0,
) -> Any:
    """Calibrate on the galaxies ``ids`` (the calibration split) of a maps file.

    Only barred galaxies (finite, positive ``truth_col``) among ``ids`` are used. With
    several draws per galaxy the mean map is calibrated on.

    With ``cv_folds`` the grid is first chosen between ``grid`` (named ``"grid"``) and
    the paper's (:data:`~galaxy_xai.bars.calibrate.PAPER_GRID`, ``"paper"``) by
    ``cv_folds``-fold cross-validation inside these galaxies
    (:func:`galaxy_xai.bars.crossval.choose_grid`, folds shuffled with ``cv_seed``);
    the result's ``grid_choice`` and the written file's provenance record it. Without
    it (default) ``grid`` is searched directly.

    Raises
    ------
    DataFormatError
        Unknown truth column, ids missing from the maps or the dataset (named).
    ParameterError
        Fewer than 3 barred calibration galaxies, or a bad ``cv_folds``.
    """
    bundle = read_maps(maps)
    catalog = _dataset_catalog(data, "calibrate on")
    if truth_col not in catalog.columns:
        raise DataFormatError(
            f"dataset '{data}' has no column {truth_col!r} (found: {', '.join(catalog.columns)})"
        )
    rows = align_ids(bundle.ids, catalog, where=f"dataset '{data}'")
    chosen, truth = _calibration_rows(bundle, catalog, rows, ids, truth_col)
    grid = grid or CalibrationGrid()
    candidates = {"grid": grid} if cv_folds is None else {"grid": grid, "paper": PAPER_GRID}
    images = None
    if any(True in g.multiply for g in candidates.values()):
        images = _images_for(Path(data), rows[chosen], bundle.maps.shape[2:])
    maps_mean = bundle.maps[chosen].mean(axis=1)
    choice = None
    if cv_folds is not None:
        choice = choose_grid(maps_mean, truth, candidates, images=images, folds=cv_folds,
                             seed=cv_seed, objective=objective)  # type: ignore[arg-type]  # fmt: skip
        grid = choice.grid
        log.info("cross-validation (%d folds) chose grid %r: %s", cv_folds, choice.name,
                 choice.held_out)  # fmt: skip
    result = calibrate(
        maps_mean,
        truth,
        images=images,
        ids=[bundle.ids[i] for i in chosen],
        grid=grid,
        objective=objective,  # type: ignore[arg-type]
    )
    result = dataclasses.replace(result, grid_choice=choice)
    if out is not None:
        prov = {"maps": bundle.sources, "data": str(data), "truth_col": truth_col}
        prov.update(provenance or {})
        if choice is not None:
            prov.update(_choice_record(choice))
        save_calibration(result, out, grid=grid, provenance=prov)
    return result


def _calibration_rows(
    bundle: MapsBundle,
    catalog: pd.DataFrame,
    rows: np.ndarray,
    ids: Sequence[str] | None,
    truth_col: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``bundle`` of the barred calibration galaxies, and their true lengths."""
    if ids is None:
        chosen = np.arange(len(bundle.ids))
    else:
        chosen, unknown = id_positions(ids, bundle.ids)
        if unknown:
            raise DataFormatError(
                f"calibration id {unknown[0]!r} has no map in {bundle.sources[0]!r} "
                f"({len(unknown)} of {len(ids)} calibration ids missing)"
            )
    truth = pd.to_numeric(catalog[truth_col], errors="coerce").to_numpy()[rows[chosen]]
    barred = np.isfinite(truth) & (truth > 0)
    chosen, truth = chosen[barred], truth[barred]
    if len(chosen) < 3:
        raise ParameterError(
            "ids", len(chosen), f"need at least 3 calibration galaxies with {truth_col} > 0"
        )
    return chosen, truth


def _choice_record(choice: GridChoice) -> dict[str, Any]:
    """What a calibration file records of the cross-validated choice of grid."""
    return {
        "cv_folds": choice.folds,
        "cv_seed": choice.seed,
        "cv_grid": choice.name,
        "cv_metric": choice.metric,
        "cv_held_out": choice.held_out,
    }
