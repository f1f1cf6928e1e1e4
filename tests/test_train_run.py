"""Training runs: run folder contract, resume, class maps and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from _train_helpers import blob_ring_dataset, tiny_config
from galaxy_xai.errors import ConfigError, DataFormatError, ModelMismatchError, ParameterError
from galaxy_xai.train import load_train_config, load_trained, train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_run_folder_contract(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=40)
    run = train(tiny_config(data, trainer={"max_epochs": 2}), tmp_path / "run")
    for name in ("config.yaml", "split.json", "checkpoints/last.ckpt", "model.json",
                 "metrics.csv", "metrics.json"):  # fmt: skip
        assert (run / name).is_file(), name
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["galaxy_xai_version"] and saved["config"]["model"]["name"] == "compact"
    split = json.loads((run / "split.json").read_text())
    ids = split["train"] + split["val"] + split["test"]
    assert len(ids) == len(set(ids)) == 40 and len(split["test"]) == 8
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,") and len(lines) == 3  # header + 2 epochs
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 8 and 0 <= metrics["accuracy"] <= 1 and "ece" in metrics
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["galaxy_xai"]["config"]["data"]["path"] == str(data)
    assert ckpt["galaxy_xai"]["galaxy_xai_version"]
    trained = load_trained(run)
    assert trained.output_names == ["blob", "ring"]
    assert trained.task == "classification" and trained.input_shape == (1, 16, 16)
    assert not trained.model.training and trained.split["test"] == split["test"]
    # the same split comes back from a Lightning checkpoint too
    assert load_trained(run / "checkpoints" / "last.ckpt").output_names == ["blob", "ring"]


def test_resume_replays_an_uninterrupted_run(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=40)
    two = tiny_config(data, trainer={"max_epochs": 2}, augment={"brightness": 0.05})
    train(two, tmp_path / "straight")
    one = tiny_config(data, trainer={"max_epochs": 1}, augment={"brightness": 0.05})
    train(one, tmp_path / "resumed")
    first = torch.load(tmp_path / "resumed/checkpoints/last.ckpt", weights_only=True)
    train(two, tmp_path / "resumed", resume=True)
    a = torch.load(tmp_path / "straight/checkpoints/last.ckpt", weights_only=True)
    b = torch.load(tmp_path / "resumed/checkpoints/last.ckpt", weights_only=True)
    assert first["epoch"] == 0 and b["epoch"] == 1 and b["global_step"] == 2 * first["global_step"]
    # Adam continued from the saved state (its step count kept growing)
    steps = [s["step"] for s in b["optimizer_states"][0]["state"].values()]
    assert all(float(s) == b["global_step"] for s in steps)
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, rtol=0, atol=0)
    assert len((tmp_path / "resumed/metrics.csv").read_text().splitlines()) == 3


def test_class_map_remaps_and_drops(tmp_path):
    labels = np.arange(60) % 6  # GZ1-like: 0..5; 4 = don't know
    data = blob_ring_dataset(tmp_path / "gz1.h5", labels=labels)
    cmap = {0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 4: None, 5: "merger"}
    config = tiny_config(data, data={"class_map": cmap}, optim={"class_weighting": "balanced"})
    run = train(config, tmp_path / "run")
    trained = load_trained(run)
    assert trained.output_names == ["elliptical", "spiral", "edge-on", "merger"]
    split = trained.split
    assert len(split["train"]) + len(split["val"]) + len(split["test"]) == 50  # label 4 dropped
    # balanced weights: the doubled "spiral" class weighs half as much as the others
    w = trained.head.class_weights.tolist()
    assert w[1] == pytest.approx(w[0] / 2, rel=0.2)


def test_unknown_labels_are_named(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", labels=[0, 1, 7, 0, 1, 0] * 4)
    from galaxy_xai.data import open_dataset
    from galaxy_xai.train import DataConfig, prepare_targets

    with open_dataset(data) as ds:  # no label_names: the classes are the values found
        assert prepare_targets(ds, DataConfig(), "classification").output_names == ["0", "1", "7"]
    with pytest.raises(
        DataFormatError, match=r"\['7'\] not covered by data.class_map.*row 2 \(id 'g002'\)"
    ):
        train(tiny_config(data, data={"class_map": {0: "blob", 1: "ring"}}), tmp_path / "b")
    two = blob_ring_dataset(tmp_path / "two.h5", n=12)
    with pytest.raises(DataFormatError, match="has no column 'morphology'"):
        train(tiny_config(two, data={"target": "morphology"}), tmp_path / "c")


def test_label_outside_label_names(tmp_path):
    import pandas as pd

    from galaxy_xai.data.store import write_dataset

    cat = pd.DataFrame({"id": [f"g{i}" for i in range(8)], "label": [0, 1, 2, 3, 7, 0, 1, 2]})
    write_dataset(tmp_path / "d.h5", np.zeros((8, 1, 16, 16), np.float32), cat,
                  metadata={"label_names": ["a", "b", "c", "d"]})  # fmt: skip
    with pytest.raises(
        DataFormatError, match=r"\['7'\] outside 0..3.*4 classes.*row 4 \(id 'g4'\)"
    ):
        train(tiny_config(tmp_path / "d.h5"), tmp_path / "run")


def test_empty_split_and_dropped_everything(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=4)
    with pytest.raises(DataFormatError, match="no usable rows"):
        train(tiny_config(data, data={"class_map": {0: None, 1: None}}), tmp_path / "a")
    config = tiny_config(
        data, data={"train_fraction": 0.1, "val_fraction": 0.0, "test_fraction": 0.9}
    )
    with pytest.raises(DataFormatError, match="training split is empty"):
        train(config, tmp_path / "b")


def test_bad_config_and_existing_run(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=20)
    with pytest.raises(ConfigError, match="unknown key.*'epochs'"):
        load_train_config({"trainer": {"epochs": 3}})
    with pytest.raises(ConfigError, match="optim.lr"):
        load_train_config({"optim": {"lr": -1.0}})
    with pytest.raises(ConfigError, match="trainer.max_time_s"):
        load_train_config({"trainer": {"max_time_s": 0}})
    with pytest.raises(ParameterError, match="data.path"):
        train({}, tmp_path / "x")
    run = train(tiny_config(data), tmp_path / "run")
    with pytest.raises(ParameterError, match="already holds a training run"):
        train(tiny_config(data), run)
    with pytest.raises(ConfigError, match=r"cannot resume.*\['model'\]"):
        train(tiny_config(data, model={"name": "vgg", "kwargs": {"width": 2}}), run, resume=True)


def test_image_size_that_does_not_fit_the_model(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=12, size=8)
    with pytest.raises(ParameterError, match=r"image_size >= 2\*\*depth \(got 8\)"):
        train(tiny_config(data, model={"kwargs": {"depth": 4}}), tmp_path / "run")


def test_vote_fraction_and_regression_tasks(tmp_path):
    n = 24
    frac = np.linspace(0.05, 0.95, n)
    data = blob_ring_dataset(
        tmp_path / "d.h5", n=n, p_bar=frac, p_no_bar=1 - frac, bar_length_px=10 + 5 * frac
    )
    run = train(tiny_config(data, task="vote_fraction", data={"target": ["p_bar", "p_no_bar"]}),
                tmp_path / "votes")  # fmt: skip
    trained = load_trained(run)
    assert trained.output_names == ["p_bar", "p_no_bar"] and trained.task == "vote_fraction"
    assert "mse" in json.loads((run / "metrics.json").read_text())
    run = train(tiny_config(data, task="regression", data={"target": "bar_length_px"}),
                tmp_path / "reg")  # fmt: skip
    reg = load_trained(run)
    assert reg.head.mean.item() == pytest.approx(
        np.mean(10 + 5 * frac[np.isin([f"g{i:03d}" for i in range(n)], reg.split["train"])]),
        rel=1e-5,
    )
    bad = blob_ring_dataset(tmp_path / "bad.h5", n=8, p_bar=np.full(8, 1.5))
    with pytest.raises(
        DataFormatError, match=r"'p_bar': vote fraction 1.5 outside \[0, 1\] at row 0"
    ):
        train(tiny_config(bad, task="vote_fraction", data={"target": ["p_bar"]}), tmp_path / "x")


def test_mismatched_model_file(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelMismatchError, match="not a readable torch file"):
        load_trained(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ModelMismatchError, match="not a galaxy-xai model"):
        load_trained(tmp_path / "other.pt")


def test_max_time_stops_training_early(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=40)
    config = tiny_config(data, trainer={"max_epochs": 50, "batch_size": 8, "patience": 0,
                                        "max_time_s": 1e-3})  # fmt: skip
    run = train(config, tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_trained"] < 50
    assert (run / "model.json").is_file() and np.isfinite(metrics["accuracy"])
