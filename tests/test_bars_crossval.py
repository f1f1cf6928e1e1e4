"""Cross-validated choice of calibration grid (``bars.crossval``, ``bars calibrate --cv-folds``)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.bars import (
    PAPER_GRID,
    CalibrationGrid,
    calibrate,
    calibrate_and_measure,
    choose_grid,
    held_out_lengths,
    image_only_lengths,
    measure_bars,
)
from galaxy_xai.bars.crossval import fold_labels, held_out_score
from galaxy_xai.bars.synthetic import synthetic_bar_maps
from galaxy_xai.cli import main
from galaxy_xai.data import write_dataset
from galaxy_xai.errors import ParameterError
from galaxy_xai.explain.maps_io import MapWriter

#: Small grids, so that every fold's calibration is quick.
SMALL = CalibrationGrid(
    corr_thresholds=(0.75, 0.85), min_pixels=(10, 30), multiply=(False, True),
    criteria=("eigen", "pearson"), variants=("central",), smooth_sigma_px=(1.0,),
)  # fmt: skip
#: A grid that stops before any bar is found (more pixels than a map holds above any
#: threshold): it measures nothing.
POOR = CalibrationGrid(
    corr_thresholds=(0.05,), min_pixels=(200,), multiply=(False,), criteria=("pearson",),
    variants=("published",), smooth_sigma_px=(0.0,),
)  # fmt: skip


@pytest.fixture(scope="module")
def noisy_set():
    maps, lengths, _ = synthetic_bar_maps(24, size=48, bulge=0.5, noise=0.3, seed=4)
    images = np.clip(maps[:, None] + 0.2, 0, None).astype(np.float32)
    return maps, images, lengths


@pytest.mark.parametrize("n, folds", [(30, 5), (31, 4), (7, 7)])
def test_folds_are_balanced_and_seeded(n, folds):
    labels = fold_labels(n, folds, seed=3)
    counts = np.bincount(labels, minlength=folds)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    np.testing.assert_array_equal(labels, fold_labels(n, folds, seed=3))
    assert not np.array_equal(labels, fold_labels(n, folds, seed=4)) or folds == n


@pytest.mark.parametrize(
    "folds, match", [(1, "folds.*>= 2"), (40, "folds.*exceed"), (True, "integer")]
)
def test_bad_folds_are_named(folds, match):
    with pytest.raises(ParameterError, match=match):
        fold_labels(30, folds)


def test_held_out_lengths_use_only_the_other_folds(noisy_set):
    maps, images, lengths = noisy_set
    pred = held_out_lengths(maps, lengths, images=images, grid=SMALL, folds=3, seed=1)
    fold_of = fold_labels(len(maps), 3, seed=1)
    for k in range(3):
        fit, held = fold_of != k, fold_of == k
        # each fold measured with the settings calibrated on the others alone
        params = calibrate(maps[fit], lengths[fit], images=images[fit], grid=SMALL).params
        expect = measure_bars(maps[held], images[held], params=params)["bar_length_px"]
        np.testing.assert_array_equal(pred[held], expect.to_numpy())
    assert np.isfinite(pred).all()
    assert np.corrcoef(pred, lengths)[0, 1] > 0.9


def test_choose_grid_matches_the_benchmarks_loop(noisy_set):
    """The loop that lived in benchmarks/bar_length_sim.py, written out: same choice, same r."""
    maps, images, lengths = noisy_set
    grids = {"small": SMALL, "paper": PAPER_GRID}
    fold_of = np.random.default_rng(0).permutation(len(lengths)) % 3
    expect = {}
    for name, grid in grids.items():
        pred = np.full(len(lengths), np.nan)
        for k in range(3):
            fit, held = fold_of != k, fold_of == k
            pred[held] = calibrate_and_measure(
                maps[fit], lengths[fit], maps[held], cal_images=images[fit], images=images[held],
                grid=grid, objective="pearson",
            )  # fmt: skip
        ok = np.isfinite(pred)
        expect[name] = round(float(np.corrcoef(pred[ok], lengths[ok])[0, 1]), 4)
    choice = choose_grid(maps, lengths, grids, images=images, folds=3, objective="pearson")
    assert choice.held_out == expect and choice.metric == "pearson_r"
    assert choice.name == max(expect, key=lambda name: expect[name])
    assert choice.grid is grids[choice.name] and (choice.folds, choice.seed) == (3, 0)


def test_image_only_control_measures_a_constant_map_times_the_image(noisy_set):
    maps, images, lengths = noisy_set
    # the grid's multiply=(False,) is overridden: a constant map alone holds no bar
    grid = CalibrationGrid(
        corr_thresholds=(0.3, 0.75), min_pixels=(10,), multiply=(False,), criteria=("eigen",),
        variants=("published",), smooth_sigma_px=(0.0,),
    )  # fmt: skip
    control = image_only_lengths(images[:16], lengths[:16], images[16:], grid=grid)
    flat = np.ones((len(images), *maps.shape[1:]), np.float32)
    with_image = dataclasses.replace(grid, multiply=(True,))
    expect = calibrate_and_measure(
        flat[:16], lengths[:16], flat[16:], cal_images=images[:16], images=images[16:],
        grid=with_image,
    )  # fmt: skip
    np.testing.assert_array_equal(control, expect)
    assert control.shape == (8,) and np.isfinite(control).sum() >= 4
    # the images' bars are the maps' bars, so light alone finds them here
    ok = np.isfinite(control)
    assert np.corrcoef(control[ok], lengths[16:][ok])[0, 1] > 0.5


@pytest.mark.parametrize("objective", ["rmse", "pearson"])
def test_choose_grid_prefers_the_grid_that_generalises(noisy_set, objective):
    maps, images, lengths = noisy_set
    choice = choose_grid(maps, lengths, {"poor": POOR, "small": SMALL}, images=images,
                         folds=3, objective=objective)  # fmt: skip
    assert choice.name == "small", choice.held_out
    good, poor = choice.held_out["small"], choice.held_out["poor"]
    if objective == "pearson":  # POOR measures no galaxy: no r, and it never wins
        assert np.isnan(poor) and good > 0.9
    else:  # its unmeasured galaxies count as length 0
        assert poor == round(float(np.sqrt(np.mean(lengths**2))), 4) and good < poor / 3
    # ties go to the grid named first
    tie = choose_grid(maps, lengths, {"a": SMALL, "b": SMALL}, images=images, folds=3)
    assert tie.name == "a" and tie.held_out["a"] == tie.held_out["b"]


def test_held_out_score_conventions():
    truth = np.array([10.0, 20.0, 30.0, 40.0])
    pred = np.array([11.0, 19.0, np.nan, 41.0])
    # RMSE counts an unmeasured galaxy as a length of 0, as the calibration does
    assert held_out_score(pred, truth, "rmse") == round(float(np.sqrt((1 + 1 + 900 + 1) / 4)), 4)
    # Pearson r is of the measured galaxies; too few of them give NaN
    assert held_out_score(pred, truth, "pearson") == round(
        float(np.corrcoef(pred[[0, 1, 3]], truth[[0, 1, 3]])[0, 1]), 4
    )
    assert np.isnan(held_out_score(np.array([1.0, np.nan, np.nan, 2.0]), truth, "pearson"))
    with pytest.raises(ParameterError, match="objective"):
        held_out_score(pred, truth, "mae")  # type: ignore[arg-type]


def test_choose_grid_bad_inputs_are_named(noisy_set):
    maps, _images, lengths = noisy_set
    with pytest.raises(ParameterError, match="grids"):
        choose_grid(maps, lengths, {})
    with pytest.raises(ParameterError, match="objective"):
        choose_grid(maps, lengths, {"a": SMALL}, objective="mae")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="truth_px"):
        held_out_lengths(maps, lengths[:-1], grid=SMALL)
    # 3 folds of 3 galaxies leave too few to calibrate on: calibrate says so
    with pytest.raises(ParameterError, match="at least 3"):
        held_out_lengths(maps[:3], lengths[:3], grid=SMALL, folds=3)


def _write_maps(path, maps, ids):
    with MapWriter(path, ids=ids, map_shape=maps.shape[1:], metadata={"method": "smoothgrad"}) as w:
        w.write(0, maps)
    return path


def test_cli_cv_folds(noisy_set, tmp_path, capsys):
    maps, images, lengths = noisy_set
    ids = [f"g{i:02d}" for i in range(len(maps))]
    catalog = pd.DataFrame({"id": ids, "bar_length_px": lengths})
    write_dataset(tmp_path / "data.h5", images, catalog, metadata={"kind": "test"})
    _write_maps(tmp_path / "maps.h5", maps.astype(np.float32), ids)
    base = ["bars", "calibrate", "--maps", str(tmp_path / "maps.h5"), "--data",
            str(tmp_path / "data.h5"), "--corr-thresholds", "0.75,0.85", "--min-pixels", "10,30",
            "--variants", "central", "--smooth", "1", "--criteria", "eigen,pearson",
            "--objective", "pearson"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "plain.json")]) == 0
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert not any(k.startswith("cv_") for k in plain["provenance"])  # today's file
    capsys.readouterr()
    assert (
        main([*base, "--cv-folds", "3", "--cv-seed", "2", "--out", str(tmp_path / "cv.json")]) == 0
    )
    assert "3-fold cross-validation (pearson_r: grid " in capsys.readouterr().out
    frozen = json.loads((tmp_path / "cv.json").read_text())
    prov = frozen["provenance"]
    assert (prov["cv_folds"], prov["cv_seed"], prov["cv_metric"]) == (3, 2, "pearson_r")
    assert set(prov["cv_held_out"]) == {"grid", "paper"}
    assert prov["cv_grid"] == choose_grid(
        maps.astype(np.float32), lengths, {"grid": SMALL, "paper": PAPER_GRID}, images=images,
        folds=3, seed=2, objective="pearson",
    ).name  # fmt: skip
    chosen = {"grid": SMALL, "paper": PAPER_GRID}[prov["cv_grid"]]
    assert frozen["grid"]["criteria"] == list(chosen.criteria)
    if prov["cv_grid"] == "grid":  # the same calibration as without cross-validation
        assert frozen["params"] == plain["params"]
    assert main([*base, "--cv-folds", "1", "--out", str(tmp_path / "x.json")]) == 2
    assert "--cv-folds" in capsys.readouterr().err
