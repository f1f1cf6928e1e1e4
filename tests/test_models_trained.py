"""Trained networks saved and loaded by ``galaxy_xai.models`` alone, and train's view of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from galaxy_xai.config import config_to_dict
from galaxy_xai.errors import ConfigError
from galaxy_xai.models import LoadedModel, build_head, build_model, load_model, save_model
from galaxy_xai.models.files import MODEL_INFO_NAME
from galaxy_xai.train import TrainConfig, TrainedModel, load_trained
from galaxy_xai.train.io import save_trained

NAMES = ["blob", "ring"]


def _network(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("compact", in_channels=1, num_outputs=2, image_size=16, width=4)


def _images() -> torch.Tensor:
    return torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(1))


def test_save_and_load_without_train(tmp_path: Path) -> None:
    net, head = _network(), build_head("classification", 2)
    path = save_model(
        tmp_path, net, head, output_names=NAMES, config={"seed": 7}, extra={"best_epoch": 3}
    )
    loaded = load_model(tmp_path)
    assert isinstance(loaded, LoadedModel) and not isinstance(loaded, TrainedModel)
    assert path == tmp_path / MODEL_INFO_NAME and loaded.path == path.with_suffix(".safetensors")
    assert (loaded.output_names, loaded.task, loaded.input_shape) == (
        NAMES,
        "classification",
        (1, 16, 16),
    )
    assert loaded.info["config"] == {"seed": 7} and loaded.info["best_epoch"] == 3
    assert loaded.split is None and not loaded.model.training
    net.eval()
    x = _images()
    assert torch.equal(loaded.predict_batch(x), head.predict(net(x)))


def test_train_view_is_the_same_model_with_its_config(tmp_path: Path) -> None:
    net, head = _network(seed=2), build_head("classification", 2)
    save_trained(tmp_path, net, head, output_names=NAMES, config=TrainConfig(seed=5))
    plain, trained = load_model(tmp_path), load_trained(tmp_path)
    assert isinstance(trained, TrainedModel) and isinstance(trained, LoadedModel)
    assert trained.config == TrainConfig(seed=5)
    assert plain.info["config"] == config_to_dict(TrainConfig(seed=5))
    assert (trained.output_names, trained.input_shape, trained.path) == (
        plain.output_names,
        plain.input_shape,
        plain.path,
    )
    x = _images()
    assert torch.equal(trained.predict_batch(x), plain.predict_batch(x))
    assert TrainedModel.from_loaded(plain).config == trained.config


def test_model_json_layout(tmp_path: Path) -> None:
    # The order of the fields of model.json is that of every earlier version.
    save_trained(
        tmp_path,
        _network(),
        build_head("classification", 2),
        output_names=NAMES,
        config=TrainConfig(),
        extra={"best_epoch": 1},
    )
    info = json.loads((tmp_path / MODEL_INFO_NAME).read_text())
    assert list(info) == [
        "format",
        "format_version",
        "galaxy_xai_version",
        "build_spec",
        "head",
        "task",
        "output_names",
        "input_shape",
        "config",
        "best_epoch",
        "weights",
        "weights_sha256",
    ]


def test_a_bad_training_config_is_refused_by_train_only(tmp_path: Path) -> None:
    save_model(
        tmp_path,
        _network(),
        build_head("classification", 2),
        output_names=NAMES,
        config={"no_such_setting": 1},
    )
    assert load_model(tmp_path).output_names == NAMES  # using a model needs no config
    with pytest.raises(ConfigError, match="no_such_setting"):
        load_trained(tmp_path)


def test_using_a_model_does_not_import_train(tmp_path: Path) -> None:
    save_model(tmp_path, _network(), build_head("classification", 2), output_names=NAMES, config={})
    code = (
        "import sys\n"
        "from galaxy_xai.explain.dataset import load_models\n"
        "from galaxy_xai.models import load_model\n"
        f"(model,), _ = load_models([{str(tmp_path)!r}])\n"
        f"assert load_model({str(tmp_path)!r}).output_names == model.output_names\n"
        "print(sorted(m for m in sys.modules if m.startswith('galaxy_xai.train')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "[]"
