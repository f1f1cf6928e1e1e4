"""Workflows: the bar network (simulation stage + fine-tuning), MC-dropout lengths, the direct
control, and their commands (``galaxy-xai workflows ...`` and the deprecated ``bars train-*``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.bars.synthetic import synthetic_bar_map
from galaxy_xai.cli import main
from galaxy_xai.data import open_dataset, write_dataset
from galaxy_xai.errors import DataFormatError, ParameterError

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*treespec.*"),
    pytest.mark.filterwarnings("ignore:.*smaller than the logging interval.*"),
]

TINY = {"width": 4, "depth": 3, "dense_units": 8, "dropout": 0.3}


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory):
    """32 small 'galaxies': a round disc, half of them with a bar of known length."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32] - 15.5
    images, rows = [], []
    for i in range(32):
        barred = i % 2 == 0
        length = float(rng.uniform(8, 24)) if barred else 0.0
        img = np.exp(-0.5 * (np.hypot(xx, yy) / 5) ** 2)
        if barred:
            img = img + synthetic_bar_map(length, rng.uniform(0, 180), size=32)
        images.append(img[None].astype(np.float32))
        rows.append(
            {
                "id": f"s{i:02d}",
                "barred": int(barred),
                "bar_length_px": length,
                "p_bar": 0.8 if barred else 0.1,
                "pixel_scale_arcsec": 0.396,
            }
        )
    path = tmp_path_factory.mktemp("sim") / "sim.h5"
    write_dataset(path, np.stack(images), pd.DataFrame(rows), metadata={"kind": "test"})
    return path


@pytest.fixture(scope="module")
def network(sim_file, tmp_path_factory):
    from galaxy_xai.workflows.bar_network import train_bar_network

    out = tmp_path_factory.mktemp("net")
    return train_bar_network(
        out, sim_data=sim_file, epochs=1, model_kwargs=TINY, finetune_data=sim_file,
        finetune_epochs=1,
    )  # fmt: skip


def test_bar_network_two_stages(network):
    from galaxy_xai.train import load_trained

    assert network.run_dir == network.finetune_run
    assert network.target == "bar"
    sim = load_trained(network.sim_run)
    fine = load_trained(network.finetune_run)
    assert sim.output_names == ["bar"] == fine.output_names
    assert fine.task == "vote_fraction"
    assert fine.config.data.target == "p_bar"
    assert fine.config.transfer.checkpoint == str(network.sim_run)
    # the simulation stage hides the centre of some images; real images are not masked
    assert sim.config.augment.centre_mask_probability == 0.5
    assert fine.config.augment.centre_mask_probability == 0.0
    # fine-tuning started from the simulation weights and moved them
    a = dict(sim.model.named_parameters())
    b = dict(fine.model.named_parameters())
    assert any(not np.allclose(a[k].detach(), b[k].detach()) for k in a)


def test_bar_network_bad_input(sim_file, tmp_path):
    from galaxy_xai.workflows.bar_network import train_bar_network

    with pytest.raises(DataFormatError, match="has no column 'is_barred'"):
        train_bar_network(tmp_path, sim_data=sim_file, sim_target_col="is_barred")
    with pytest.raises(ParameterError, match="n_sim=5"):
        train_bar_network(tmp_path, n_sim=5)


def test_mc_dropout_lengths_have_intervals(network, sim_file):
    from galaxy_xai.bars import mc_dropout_bar_lengths
    from galaxy_xai.train import load_trained

    with open_dataset(sim_file) as ds:
        images = ds.images[np.arange(0, 8, 2)]  # four barred galaxies
    trained = load_trained(network.run_dir)
    table, maps = mc_dropout_bar_lengths(
        trained, images, target="bar", n_draws=4, n_samples=4, ids=list("abcd"), return_maps=True
    )
    assert maps.shape == (4, 4, 32, 32)
    assert table["id"].tolist() == list("abcd")
    measured = table["n_draws_measured"] > 0
    assert measured.any()
    sub = table[measured]
    assert (sub["bar_length_px_p16"] <= sub["bar_length_px"] + 1e-9).all()
    assert (sub["bar_length_px"] <= sub["bar_length_px_p84"] + 1e-9).all()
    # the draws differ: dropout masks and noise change with the draw
    assert not np.allclose(maps[:, 0], maps[:, 1])
    with pytest.raises(ParameterError, match="n_draws=1"):
        mc_dropout_bar_lengths(trained, images, n_draws=1)


def test_direct_regressor_uses_only_barred_training_ids(sim_file, tmp_path):
    from galaxy_xai.workflows.bar_direct import predict_direct, train_direct_regressor

    train_ids = [f"s{i:02d}" for i in range(24)]  # 12 barred among them
    run = train_direct_regressor(
        sim_file, tmp_path / "direct", train_ids=train_ids, epochs=1, model_kwargs=TINY
    )
    with open_dataset(tmp_path / "direct" / "train_data.h5") as ds:
        used = ds.catalog["id"].tolist()
        assert set(used) <= set(train_ids) and len(used) == 12
        assert (ds.catalog["bar_length_px"] > 0).all()
    test_ids = ["s24", "s26", "s28"]
    pred = predict_direct(run, sim_file, ids=test_ids, out=tmp_path / "direct.csv")
    assert pred["id"].tolist() == test_ids
    assert np.isfinite(pred["bar_length_px"]).all()
    assert pd.read_csv(tmp_path / "direct.csv")["id"].tolist() == test_ids
    with pytest.raises(DataFormatError, match="has no column 'length'"):
        train_direct_regressor(sim_file, tmp_path / "d2", target_col="length")
    with pytest.raises(ParameterError, match="train_ids=2: the direct regressor needs >= 8"):
        train_direct_regressor(sim_file, tmp_path / "d3", train_ids=["s00", "s02"])
    with pytest.raises(DataFormatError, match="id 'zz' is not in dataset"):
        train_direct_regressor(sim_file, tmp_path / "d4", train_ids=["zz"])


def test_bar_network_command_centre_mask_option(tmp_path, capsys):
    """``workflows bar-network --centre-mask`` reaches the run's config; bad values are named."""
    from galaxy_xai.train import load_trained

    out = tmp_path / "net"
    args = ["workflows", "bar-network", "--out", str(out), "--n-sim", "24", "--size", "48"]
    assert main([*args, "--epochs", "1", "--centre-mask", "0.25"]) == 0
    captured = capsys.readouterr()
    assert "bar network:" in captured.out and "deprecated" not in captured.err
    sim = load_trained(out / "sim_run")
    assert sim.config.augment.centre_mask_probability == 0.25
    assert main([*args, "--epochs", "1", "--centre-mask", "1.5"]) == 2
    assert "argument --centre-mask: '1.5' is not a number in [0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "old, new, function",
    [(["bars", "train-network"], "workflows bar-network", "bar_network.train_bar_network"),
     (["bars", "train-direct", "--data", "d.h5"], "workflows bar-direct",
      "bar_direct.train_direct_regressor")],
)  # fmt: skip
def test_old_bars_spellings_still_work_with_a_warning(old, new, function, monkeypatch):
    """The deprecated spellings take the same options and call the same workflow."""
    import importlib
    from pathlib import Path

    from galaxy_xai.workflows import BarNetwork

    module_name, name = function.split(".")
    module = importlib.import_module(f"galaxy_xai.workflows.{module_name}")
    calls = []

    def record(*args, **kwargs):  # the training itself is tested above
        calls.append((args, kwargs))
        if name == "train_bar_network":
            return BarNetwork(run_dir=Path("o"), sim_run=None, finetune_run=None, sim_data=None)
        return Path("o")

    monkeypatch.setattr(module, name, record)
    options = [*old[2:], "--out", "o", "--epochs", "3", "--seed", "4"]
    assert main([*new.split(), *options]) == 0  # no warning: pytest makes one an error
    with pytest.warns(FutureWarning) as warned:
        assert main([*old[:2], *options]) == 0
    message = f"'galaxy-xai {' '.join(old[:2])}' is deprecated; use 'galaxy-xai {new}'"
    assert [str(w.message) for w in warned] == [message]
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0][1]["epochs"] == 3 and calls[0][1]["seed"] == 4


def test_workflows_without_subcommand_prints_help(capsys):
    assert main(["workflows"]) == 2
    assert "bar-network" in capsys.readouterr().out
