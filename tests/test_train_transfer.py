"""Transfer learning: the GaMorNet presets, layer selection, freezing, mismatches."""

from __future__ import annotations

import pytest
import torch

from _train_helpers import blob_ring_dataset, tiny_config
from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.models import build_model
from galaxy_xai.models.heads import build_head
from galaxy_xai.train import apply_transfer, load_trained, resolve_layers, train
from galaxy_xai.train.config import TrainConfig
from galaxy_xai.train.io import save_trained

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
GAMORNET = {"width": 0.05, "dense_units": 64}


def _gamornet(num_outputs=3, seed=0):
    torch.manual_seed(seed)
    return build_model(
        "gamornet", in_channels=1, num_outputs=num_outputs, image_size=48, **GAMORNET
    )


@pytest.fixture
def source(tmp_path):
    model = _gamornet(seed=1)
    return save_trained(tmp_path / "source", model, build_head("classification", 3),
                        output_names=["d", "i", "b"], config=TrainConfig())  # fmt: skip


def _same(a, b):
    return all(
        torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_sdss_preset_loads_conv_and_reinitialises_dense(source):
    src = load_trained(source).model
    model = _gamornet(num_outputs=2, seed=5)  # new task with 2 classes
    report = apply_transfer(model, source, preset="sdss")
    assert report.loaded == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert report.reinitialised == ["fc1", "fc2", "fc3"] and report.frozen == []
    for name in report.loaded:
        assert _same(getattr(model, name), getattr(src, name))
    assert not torch.equal(model.fc1.weight, src.fc1.weight)
    assert model.fc1.weight.abs().max() <= 0.04 + 1e-7  # GaMorNet's own (TFLearn) init
    assert all(p.requires_grad for p in model.parameters())


def test_candels_preset_freezes_conv_1_to_3(source):
    src = load_trained(source).model
    model = _gamornet(seed=5)
    report = apply_transfer(model, source, preset="candels")
    assert report.loaded[-1] == "fc1" and report.reinitialised == ["fc2", "fc3"]
    assert report.frozen == ["conv1", "conv2", "conv3"]
    assert _same(model.fc1, src.fc1) and not _same(model.fc2, src.fc2)
    frozen = {n.split(".")[0] for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1", "conv2", "conv3"}
    # a training step leaves frozen layers untouched
    before = model.conv1[0].weight.clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(torch.randn(4, 1, 48, 48)).sum().backward()
    opt.step()
    assert torch.equal(model.conv1[0].weight, before)


def test_layers_by_index_glob_and_group():
    model = _gamornet()
    assert resolve_layers(model, ["0", -1]) == ["conv1", "fc3"]
    assert resolve_layers(model, ["fc*"]) == ["fc1", "fc2", "fc3"]
    assert resolve_layers(model, ["conv"])[-1] == "conv5"
    compact = build_model("compact", in_channels=1, num_outputs=2, image_size=16, depth=2)
    assert resolve_layers(compact, ["dense"]) == ["fc1", "fc2"]
    convnet = build_model("convnet", in_channels=1, num_outputs=2, image_size=16, width=8, depth=2)
    assert resolve_layers(convnet, ["conv", "dense"]) == ["features", "classifier"]
    with pytest.raises(ParameterError, match=r"layer='fc9': matches no layer.*conv1"):
        resolve_layers(model, ["fc9"])
    with pytest.raises(ParameterError, match="layer='12': index outside the 8 layers"):
        resolve_layers(model, ["12"])


def test_checkpoint_from_another_architecture(source, tmp_path):
    compact = build_model("compact", in_channels=1, num_outputs=3, image_size=48)
    with pytest.raises(
        ModelMismatchError, match="is a 'gamornet' network, it cannot initialise a 'compact'"
    ):
        apply_transfer(compact, source, preset="sdss")
    wider = build_model(
        "gamornet", in_channels=1, num_outputs=3, image_size=48, width=0.1, dense_units=64
    )
    with pytest.raises(
        ModelMismatchError, match=r"layer 'conv1'.*shape \(5, 1, 11, 11\).*\(10, 1, 11, 11\)"
    ):
        apply_transfer(wider, source, preset="sdss")
    with pytest.raises(
        ModelMismatchError, match="fc3"
    ):  # 2 outputs, output layer not re-initialised
        apply_transfer(_gamornet(num_outputs=2), source, reinit=["fc1"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        apply_transfer(_gamornet(), tmp_path / "nothing.pt")


def test_fine_tuning_run_with_preset(tmp_path):
    data = blob_ring_dataset(tmp_path / "d.h5", n=24, size=48)
    gamornet = {"name": "gamornet", "kwargs": GAMORNET}
    pre = train(tiny_config(data, model=gamornet), tmp_path / "pre")
    config = tiny_config(data, model=gamornet,
                         transfer={"checkpoint": str(pre), "preset": "candels", "lr_scale": 0.5})  # fmt: skip
    run = train(config, tmp_path / "fine")
    a, b = load_trained(pre).model, load_trained(run).model
    assert _same(a.conv1, b.conv1) and _same(a.conv3, b.conv3)  # frozen
    assert not _same(a.conv4, b.conv4)  # trained further
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(0.005)
