"""Bar lengths measured from saliency maps (Bhambra, Joachimi & Lahav 2022) and beyond.

* :func:`measure_bar` / :func:`measure_bars`: the published threshold-and-elongation
  algorithm, a rotation-invariant stop criterion (default) and robust variants, with a
  quality flag per galaxy;
* :func:`calibrate`: grid search on a calibration split, frozen with
  :func:`save_calibration` and read back with :func:`load_calibration`;
  :func:`choose_grid`: k-fold cross-validated choice between grids (e.g. ours and
  :data:`PAPER_GRID`) inside the calibration split;
* :func:`measure_draws` / :func:`mc_dropout_bar_lengths`: median and 16-84th
  percentiles over Monte Carlo dropout x SmoothGrad draws or ensemble members;
* :func:`px_to_arcsec`, :func:`arcsec_to_kpc`: units (Planck18 angular-diameter distance);
* :func:`evaluate_lengths`: Pearson r and RMSE with bootstrap 95% intervals;
* :func:`measure_catalog`, :func:`calibrate_files`, :func:`evaluate_files`: the file-level
  functions behind ``galaxy-xai bars measure|calibrate|evaluate``.

Measurement only: training the bar network and the direct-regression control lives in
:mod:`galaxy_xai.workflows`, which builds on this package (never the other way round).
"""

from galaxy_xai.bars.calibrate import (
    PAPER_GRID,
    CalibrationGrid,
    CalibrationResult,
    calibrate,
    load_calibration,
    save_calibration,
)
from galaxy_xai.bars.catalog import (
    BAR_COLUMNS,
    align_ids,
    calibrate_files,
    measure_catalog,
    read_maps,
    read_split_ids,
)
from galaxy_xai.bars.crossval import (
    GridChoice,
    calibrate_and_measure,
    choose_grid,
    held_out_lengths,
    image_only_lengths,
)
from galaxy_xai.bars.evaluate import evaluate_files, evaluate_lengths, scatter_plot
from galaxy_xai.bars.measure import (
    CRITERIA,
    QUALITY_FLAGS,
    VARIANTS,
    BarMeasurement,
    BarParams,
    bar_trace,
    max_pixel_distance,
    measure_bar,
    measure_bars,
)
from galaxy_xai.bars.uncertainty import mc_dropout_bar_lengths, measure_draws, summarize_draws
from galaxy_xai.bars.units import DEFAULT_COSMOLOGY, arcsec_to_kpc, kpc_per_arcsec, px_to_arcsec

__all__ = [
    "BAR_COLUMNS",
    "CRITERIA",
    "DEFAULT_COSMOLOGY",
    "PAPER_GRID",
    "QUALITY_FLAGS",
    "VARIANTS",
    "BarMeasurement",
    "BarParams",
    "CalibrationGrid",
    "CalibrationResult",
    "GridChoice",
    "align_ids",
    "arcsec_to_kpc",
    "bar_trace",
    "calibrate",
    "calibrate_and_measure",
    "calibrate_files",
    "choose_grid",
    "evaluate_files",
    "evaluate_lengths",
    "held_out_lengths",
    "image_only_lengths",
    "kpc_per_arcsec",
    "load_calibration",
    "max_pixel_distance",
    "mc_dropout_bar_lengths",
    "measure_bar",
    "measure_bars",
    "measure_catalog",
    "measure_draws",
    "px_to_arcsec",
    "read_maps",
    "read_split_ids",
    "save_calibration",
    "scatter_plot",
    "summarize_draws",
]
