"""Calibration grid search, its frozen file, and bad grids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from galaxy_xai.bars import (
    BarParams,
    CalibrationGrid,
    calibrate,
    load_calibration,
    measure_bars,
    save_calibration,
)
from galaxy_xai.bars.synthetic import synthetic_bar_maps
from galaxy_xai.errors import ConfigError, DataFormatError, DataMissingError, ParameterError


@pytest.fixture(scope="module")
def noisy_set():
    maps, lengths, _ = synthetic_bar_maps(40, bulge=0.5, noise=0.3, seed=2)
    return maps, lengths


def test_calibration_improves_on_defaults_and_generalises(noisy_set):
    maps, lengths = noisy_set
    cal, held = slice(0, 25), slice(25, 40)
    result = calibrate(maps[cal], lengths[cal], ids=[f"c{i}" for i in range(25)])
    assert result.n_calibration == 25
    assert result.ids[0] == "c0"
    assert result.table["score"].is_monotonic_increasing
    default = measure_bars(maps[cal])["bar_length_px"].to_numpy()
    default_rmse = np.sqrt(np.nanmean((default - lengths[cal]) ** 2))
    assert result.score <= default_rmse
    # the frozen settings carry over to galaxies not used in the calibration
    held_pred = measure_bars(maps[held], params=result.params)["bar_length_px"].to_numpy()
    held_rmse = np.sqrt(np.mean((held_pred - lengths[held]) ** 2))
    assert held_rmse < 2.5
    assert np.corrcoef(held_pred, lengths[held])[0, 1] > 0.95


def test_grid_respects_choices_and_images(noisy_set):
    maps, lengths = noisy_set
    grid = CalibrationGrid(
        corr_thresholds=(0.8,),
        min_pixels=(20,),
        criteria=("pearson",),
        variants=("published",),
        smooth_sigma_px=(0.0,),
        fit_scale=False,
    )
    # without images, multiply=True is dropped from the search
    result = calibrate(maps[:10], lengths[:10], grid=grid)
    assert len(result.table) == 1
    assert result.params.criterion == "pearson" and result.params.multiply is False
    assert result.params.length_scale == 1.0
    images = np.ones((10, 1, 64, 64), np.float32)
    result = calibrate(maps[:10], lengths[:10], grid=grid, images=images, objective="pearson")
    assert len(result.table) == 2 and set(result.table["multiply"]) == {False, True}
    with pytest.raises(ParameterError, match="the grid has only multiply=True; pass images"):
        calibrate(maps[:10], lengths[:10], grid=CalibrationGrid(multiply=(True,)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"corr_thresholds": (0.7, 1.5)}, "corr_thresholds=1.5: each must lie strictly between"),
        ({"min_pixels": (10, 1)}, "min_pixels=1: each must be an integer >= 3"),
        ({"criteria": ("eigen", "area")}, "criteria='area'"),
        ({"variants": ("hull",)}, "variants='hull'"),
        ({"smooth_sigma_px": (-1.0,)}, "smooth_sigma_px=-1.0"),
        ({"min_pixels": ()}, "the grid needs at least one value"),
    ],
)
def test_out_of_range_grid_is_refused(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        CalibrationGrid(**kwargs)


def test_bad_calibration_inputs_are_named(noisy_set):
    maps, lengths = noisy_set
    truth = lengths[:5].copy()
    truth[2] = 0.0
    with pytest.raises(DataFormatError, match="id 'g2': true bar length 0.0 px"):
        calibrate(maps[:5], truth, ids=[f"g{i}" for i in range(5)])
    bad = maps[:5].copy()
    bad[3, 1, 1] = np.nan
    with pytest.raises(DataFormatError, match="saliency map of id 'g3' holds NaN"):
        calibrate(bad, lengths[:5], ids=[f"g{i}" for i in range(5)])
    with pytest.raises(ParameterError, match="truth_px=4: needs one true length per map"):
        calibrate(maps[:5], lengths[:4])
    with pytest.raises(ParameterError, match="objective='r2'"):
        calibrate(maps[:5], lengths[:5], objective="r2")


def test_frozen_file_round_trip(tmp_path, noisy_set):
    maps, lengths = noisy_set
    grid = CalibrationGrid(criteria=("eigen",), variants=("central",), smooth_sigma_px=(0.0,))
    result = calibrate(maps[:12], lengths[:12], grid=grid)
    path = save_calibration(result, tmp_path / "calib.json", grid=grid, provenance={"x": 1})
    data = json.loads(path.read_text())
    assert data["format"] == "galaxy-xai-bar-calibration"
    assert data["n_calibration"] == 12 and len(data["calibration_ids"]) == 12
    assert data["grid"]["variants"] == ["central"]
    assert load_calibration(path) == result.params
    # a hand-written YAML setting is accepted; unknown keys are refused
    (tmp_path / "hand.yaml").write_text("criterion: pearson\ncorr_threshold: 0.85\n")
    assert load_calibration(tmp_path / "hand.yaml") == BarParams(
        criterion="pearson", corr_threshold=0.85
    )
    (tmp_path / "typo.yaml").write_text("corr_treshold: 0.85\n")
    with pytest.raises(ConfigError, match="unknown key.*corr_treshold"):
        load_calibration(tmp_path / "typo.yaml")
    (tmp_path / "range.yaml").write_text("corr_threshold: 1.85\n")
    with pytest.raises(ConfigError, match="corr_threshold=1.85"):
        load_calibration(tmp_path / "range.yaml")
    with pytest.raises(DataMissingError, match="calibration file .*nope.json' does not exist"):
        load_calibration(tmp_path / "nope.json")
