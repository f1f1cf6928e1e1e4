"""Prediction (streamed CSV/Parquet, shards, MC dropout), evaluation and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from _train_helpers import blob_ring_dataset, tiny_config
from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError, ModelMismatchError, ParameterError
from galaxy_xai.train import evaluate, load_trained, predict, train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    data = blob_ring_dataset(root / "d.h5", n=40)
    return train(tiny_config(data, trainer={"max_epochs": 3}), root / "run"), data


def test_stream_to_csv_and_parquet_equals_in_memory(run, tmp_path):
    path, data = run
    table = predict(path, data, batch_size=7)
    assert list(table.columns) == ["id", "prob_blob", "prob_ring", "predicted", "confidence"]
    np.testing.assert_allclose(table[["prob_blob", "prob_ring"]].sum(1), 1.0, rtol=1e-5)
    csv = predict(path, data, out=tmp_path / "p.csv", batch_size=16)
    pq = predict(path, data, out=tmp_path / "p.parquet", batch_size=40)
    pd.testing.assert_frame_equal(pq, table)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), csv, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), table)
    np.testing.assert_allclose(csv["prob_ring"], table["prob_ring"], rtol=1e-5)  # batching
    assert not (tmp_path / "p.csv.partial").exists()


def test_shards_cover_the_catalogue_once(run):
    path, data = run
    full = predict(path, data)
    parts = [predict(path, data, shard=f"{i}/3") for i in range(3)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), full)
    with pytest.raises(ParameterError, match="shard='3/3'"):
        predict(path, data, shard="3/3")


def test_mc_dropout_mean_std_entropy(run):
    path, data = run
    a = predict(path, data, mc_samples=8, seed=1)
    b = predict(path, data, mc_samples=8, seed=1)
    pd.testing.assert_frame_equal(a, b)  # reproducible
    assert {"std_blob", "predictive_entropy", "mutual_information"} <= set(a.columns)
    assert (a["std_blob"] > 0).any()
    p = a[["prob_blob", "prob_ring"]].to_numpy()
    entropy = -(p * np.log(p + 1e-12)).sum(1)
    np.testing.assert_allclose(a["predictive_entropy"], entropy, rtol=1e-5)
    assert (a["predictive_entropy"] <= np.log(2) + 1e-6).all()
    # the deterministic pass leaves the model in eval mode afterwards
    assert not load_trained(path).model.training


def test_evaluate_splits_and_errors(run, tmp_path):
    path, data = run
    result = evaluate(path, data, split="test", out=tmp_path / "m.json")
    assert result["n"] == 8 and sum(map(sum, result["confusion_matrix"])) == 8
    assert json.loads((tmp_path / "m.json").read_text())["ece"] == pytest.approx(result["ece"])
    assert evaluate(path, data, split="all")["n"] == 40
    other = blob_ring_dataset(tmp_path / "other.h5", n=10)
    catalog_ids = [f"x{i}" for i in range(10)]
    import h5py

    with h5py.File(other, "a") as h5:
        del h5["catalog/id"]
        h5["catalog"].create_dataset("id", data=np.array(catalog_ids, dtype=h5py.string_dtype()))
    with pytest.raises(DataFormatError, match="split 'test' is empty for dataset.*--split all"):
        evaluate(path, other, split="test")
    big = blob_ring_dataset(tmp_path / "big.h5", n=4, size=32, channels=3)
    with pytest.raises(
        ModelMismatchError, match=r"3 channel\(s\) instead of 1, 32x32 px instead of 16x16"
    ):
        predict(path, big)
    with pytest.raises(ParameterError, match="must end in .csv or .parquet"):
        predict(path, data, out=tmp_path / "p.txt")
    with pytest.raises(ParameterError, match="mc_samples=-1"):
        predict(path, data, mc_samples=-1)


def test_cli_train_predict_evaluate(tmp_path, capsys):
    data = blob_ring_dataset(tmp_path / "d.h5", n=24)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        "model: {name: compact, kwargs: {width: 4, depth: 2, dense_units: 8}}\n"
        "trainer: {patience: 0}\n"
    )
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--config", str(cfg),
                 "--epochs", "1", "--batch-size", "8", "--lr", "0.01", "--seed", "3"]) == 0  # fmt: skip
    assert load_trained(out).config.seed == 3
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 0
    assert load_trained(out).config.trainer.max_epochs == 2
    assert main(["predict", "--model", str(out), "--data", str(data), "--out",
                 str(tmp_path / "p.csv"), "--mc-samples", "2", "--shard", "0/2"]) == 0  # fmt: skip
    assert len(pd.read_csv(tmp_path / "p.csv")) == 12
    assert main(["evaluate", "--model", str(out), "--data", str(data), "--out",
                 str(tmp_path / "m.json")]) == 0  # fmt: skip
    assert "accuracy" in capsys.readouterr().out
    assert main(["train", "--data", str(data), "--out", str(out)]) == 2
    assert "already holds a training run" in capsys.readouterr().err
