"""Evaluation statistics, units, and draw summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.bars import (
    arcsec_to_kpc,
    evaluate_files,
    evaluate_lengths,
    kpc_per_arcsec,
    measure_draws,
    px_to_arcsec,
    summarize_draws,
)
from galaxy_xai.bars.synthetic import synthetic_bar_map
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError


def test_statistics_and_bootstrap_intervals():
    rng = np.random.default_rng(0)
    truth = rng.uniform(5, 40, 200)
    pred = truth + rng.normal(0, 3.0, 200)
    stats = evaluate_lengths(pred, truth, n_boot=500)
    assert stats["pearson_r"] == pytest.approx(np.corrcoef(pred, truth)[0, 1])
    assert stats["rmse"] == pytest.approx(np.sqrt(np.mean((pred - truth) ** 2)))
    assert stats["pearson_r_ci_low"] < stats["pearson_r"] < stats["pearson_r_ci_high"]
    assert stats["rmse_ci_low"] < 3.0 < stats["rmse_ci_high"]  # covers the true sigma
    assert stats["n"] == 200 and stats["n_missing"] == 0
    # same seed -> same interval; NaNs are left out and counted
    again = evaluate_lengths(pred, truth, n_boot=500)
    assert again == stats
    pred[:5] = np.nan
    assert evaluate_lengths(pred, truth, n_boot=200)["n_missing"] == 5
    perfect = evaluate_lengths(truth, truth, n_boot=200)
    assert perfect["pearson_r"] == pytest.approx(1.0) and perfect["rmse"] == 0.0


def test_statistics_bad_input():
    with pytest.raises(ParameterError, match="pred=2: fewer than 3 galaxies"):
        evaluate_lengths([1.0, 2.0, np.nan], [1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="pred=3: needs one prediction per true length"):
        evaluate_lengths([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ParameterError, match="n_boot=10"):
        evaluate_lengths([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_boot=10)


def test_evaluate_files_joins_by_id_averages_repeats_and_plots(tmp_path):
    pred = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "bar_length_px": [10.0, 20.0, 31.0, np.nan, 50.0],
            "bar_length_px_p16": [9.0, 18.0, 29.0, np.nan, 45.0],
            "bar_length_px_p84": [11.0, 22.0, 33.0, np.nan, 55.0],
            "quality_flag": ["ok", "ok", "ok", "no_bar_found", "touches_edge"],
        }
    )
    pred.to_csv(tmp_path / "bars.csv", index=False)
    # truth in half-lengths, with a repeated row for 'a' (averaged) and one extra id
    truth = pd.DataFrame(
        {"objid": ["a", "a", "b", "c", "d", "e", "z"], "half": [4.0, 6.0, 10, 15, 20, 24, 3]}
    )
    truth.to_csv(tmp_path / "truth.csv", index=False)
    stats = evaluate_files(
        tmp_path / "bars.csv",
        tmp_path / "truth.csv",
        id_col="objid",
        length_col="half",
        scale="2",
        n_boot=200,
        plot=tmp_path / "scatter.png",
    )
    assert stats["n"] == 4 and stats["n_missing"] == 1 and stats["n_matched"] == 5
    expected = np.sqrt(np.mean((np.array([10, 20, 31, 50]) - np.array([10, 20, 30, 48])) ** 2))
    assert stats["rmse"] == pytest.approx(expected)
    assert (tmp_path / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    only_ok = evaluate_files(
        tmp_path / "bars.csv", tmp_path / "truth.csv", id_col="objid", length_col="half",
        scale=2.0, flags=["ok"], n_boot=200,
    )  # fmt: skip
    assert only_ok["n"] == 3
    with pytest.raises(DataFormatError, match="truth catalogue .*truth.csv' has no column 'len'"):
        evaluate_files(
            tmp_path / "bars.csv", tmp_path / "truth.csv", id_col="objid", length_col="len"
        )
    with pytest.raises(DataFormatError, match="no id of prediction file .* is in column 'half'"):
        evaluate_files(
            tmp_path / "bars.csv", tmp_path / "truth.csv", id_col="half", length_col="half"
        )
    with pytest.raises(ParameterError, match="scale=-1.0"):
        evaluate_files(
            tmp_path / "bars.csv", tmp_path / "truth.csv", id_col="objid", length_col="half",
            scale=-1.0,
        )  # fmt: skip
    with pytest.raises(DataMissingError, match="catalogue .*missing.csv' does not exist"):
        evaluate_files(tmp_path / "bars.csv", tmp_path / "missing.csv", length_col="half")


def test_units():
    from astropy.cosmology import Planck18

    assert px_to_arcsec([10.0, np.nan], 0.396).tolist()[0] == pytest.approx(3.96)
    expected = Planck18.angular_diameter_distance(0.05).to_value("kpc") * np.pi / 648000
    assert float(kpc_per_arcsec(0.05)) == pytest.approx(expected)
    kpc = arcsec_to_kpc([2.0, 2.0, 2.0], [0.05, np.nan, -1.0])
    assert kpc[0] == pytest.approx(2 * expected) and np.isnan(kpc[1:]).all()
    # farther -> fewer kpc per arcsec only beyond the D_A turnover (z ~ 1.6)
    assert float(kpc_per_arcsec(0.1)) > float(kpc_per_arcsec(0.05))
    with pytest.raises(DataFormatError, match="id 'g1': pixel_scale_arcsec is nan"):
        px_to_arcsec([1.0, 2.0], [0.4, np.nan], ids=["g0", "g1"])
    with pytest.raises(ParameterError, match="cosmology='Planck99'"):
        kpc_per_arcsec(0.1, cosmology="Planck99")


def test_draw_summaries():
    lengths = np.array([[10.0, 12.0, 14.0, np.nan], [np.nan] * 4, np.arange(1.0, 101.0)[:4]])
    flags = [["ok", "ok", "ok", "no_bar_found"], ["no_bar_found"] * 4, ["ok", "nan_map"] * 2]
    table = summarize_draws(lengths, flags)
    assert table["bar_length_px"].iloc[0] == 12.0
    assert table["bar_length_px_p16"].iloc[0] < 12.0 < table["bar_length_px_p84"].iloc[0]
    assert table["n_draws_measured"].tolist() == [3, 0, 4]
    assert np.isnan(table["bar_length_px"].iloc[1])
    assert table["quality_flag"].tolist() == ["ok", "no_bar_found", "nan_map"]  # tie -> worse
    # measured draws: a wider spread of maps gives a wider interval
    stable = np.stack([synthetic_bar_map(24.0, 30.0, noise=0.05, seed=s) for s in range(5)])
    varied = np.stack([synthetic_bar_map(L, 30.0) for L in (16.0, 20.0, 24.0, 28.0, 32.0)])
    table = measure_draws(np.stack([stable, varied]), ids=["s", "v"])
    width = table["bar_length_px_p84"] - table["bar_length_px_p16"]
    assert width.iloc[1] > 5 * max(width.iloc[0], 0.1)
    assert table["bar_length_px"].iloc[1] == pytest.approx(table["bar_length_px"].iloc[0], abs=1.5)
    with pytest.raises(ParameterError, match=r"map_draws=\(5, 64, 64\): must be \(N, S, H, W\)"):
        measure_draws(stable)
