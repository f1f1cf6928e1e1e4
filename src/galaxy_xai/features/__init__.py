"""Galaxy features beyond bars from saliency maps: bulge size and bulge-to-total.

Measure (:func:`measure_bulge`, :func:`measure_features`), calibrate on simulations
(:func:`calibrate_bulge`, frozen with :func:`save_bulge_calibration`), and run on a
dataset (:func:`measure_files`, the ``galaxy-xai features`` commands).
"""

from galaxy_xai.features.calibrate import (
    BulgeCalibration,
    CalibrationGrid,
    calibrate_bulge,
    load_bulge_calibration,
    save_bulge_calibration,
)
from galaxy_xai.features.catalog import (
    FEATURE_COLUMNS,
    bulge_maps,
    bulge_output,
    calibrate_files,
    measure_features,
    measure_files,
)
from galaxy_xai.features.measure import BulgeParams, measure_bulge, raw_measurements

__all__ = [
    "FEATURE_COLUMNS",
    "BulgeCalibration",
    "BulgeParams",
    "CalibrationGrid",
    "bulge_maps",
    "bulge_output",
    "calibrate_bulge",
    "calibrate_files",
    "load_bulge_calibration",
    "measure_bulge",
    "measure_features",
    "measure_files",
    "raw_measurements",
    "save_bulge_calibration",
]
