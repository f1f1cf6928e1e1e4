"""Architectures: published GaMorNet layout, families, registry, names used by others."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.models import available_models, build_from_spec, build_model


@pytest.mark.parametrize(
    ("name", "kwargs", "size", "channels"),
    [
        ("gamornet", {"width": 0.1, "dense_units": 64}, 64, 1),
        ("vgg", {"width": 4, "depth": (1, 1, 2)}, 32, 3),
        ("resnet", {"width": 4, "depth": (1, 1)}, 32, 3),
        ("compact", {"width": 4, "depth": 3}, 32, 1),
        ("convnet", {"width": 8, "depth": 2}, 32, 3),
    ],
)
def test_every_model_maps_images_to_outputs(name, kwargs, size, channels):
    model = build_model(name, in_channels=channels, num_outputs=5, image_size=size, **kwargs)
    x = torch.randn(3, channels, size, size)
    out = model(x)
    assert out.shape == (3, 5)
    assert torch.isfinite(out).all()
    assert model.build_spec["name"] == name
    # rebuilt from its spec, the same weights give the same outputs
    clone = build_from_spec(model.build_spec)
    clone.load_state_dict(model.state_dict())
    model.eval()
    clone.eval()
    torch.testing.assert_close(clone(x), model(x))
    # batching does not change the result in eval mode
    torch.testing.assert_close(model(x[:1]), model(x)[:1], rtol=1e-4, atol=1e-5)


def test_gamornet_is_the_published_network():
    model = build_model("gamornet", in_channels=1, num_outputs=3, image_size=167)
    conv1 = model.conv1[0]
    assert (conv1.out_channels, conv1.kernel_size, conv1.stride) == (96, (11, 11), (4, 4))
    widths = [getattr(model, n)[0].out_channels for n in model.conv_layers]
    kernels = [getattr(model, n)[0].kernel_size[0] for n in model.conv_layers]
    assert widths == [96, 256, 384, 384, 256]
    assert kernels == [11, 5, 3, 3, 3]
    # TFLearn 'same' padding: 167 -> 42 -> 21 -> 11 -> 6, so fc1 sees 256 * 6 * 6 inputs
    assert model.fc1.in_features == 256 * 6 * 6
    assert (model.fc1.out_features, model.fc2.out_features, model.fc3.out_features) == (
        4096,
        4096,
        3,
    )
    assert isinstance(model.act1, nn.Tanh) and isinstance(model.act2, nn.Tanh)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 3
    assert model.layer_names() == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3"]
    candels = build_model("gamornet", in_channels=1, num_outputs=3, image_size=83)
    assert candels.fc1.in_features == 256 * 3 * 3  # 83 -> 21 -> 11 -> 6 -> 3


def test_width_multiplier_scales_every_layer():
    model = build_model(
        "gamornet", in_channels=1, num_outputs=3, image_size=83, width=0.25, dense_units=1024
    )
    assert [getattr(model, n)[0].out_channels for n in model.conv_layers] == [24, 64, 96, 96, 64]
    assert model.fc1.out_features == 256


def test_saliency_paper_backbones_use_swish():
    vgg = build_model("vgg", in_channels=3, num_outputs=37, image_size=32, width=4, depth=(1, 1))
    res = build_model("resnet", in_channels=3, num_outputs=37, image_size=32, width=4, depth=2)
    for model in (vgg, res):
        assert any(isinstance(m, nn.SiLU) for m in model.modules())
        assert not any(isinstance(m, nn.ReLU) for m in model.modules())


def test_gradcam_layer_is_the_last_conv_block():
    model = build_model("compact", in_channels=1, num_outputs=2, image_size=32, depth=3)
    acts = {}
    model.gradcam_layer.register_forward_hook(lambda m, i, o: acts.setdefault("a", o))
    model(torch.zeros(2, 1, 32, 32))
    assert acts["a"].shape == (2, 64, 8, 8)  # block3 output before its pool
    assert model.gradcam_layer is model.block3


def test_check_input_names_both_shapes():
    model = build_model("compact", in_channels=1, num_outputs=2, image_size=32)
    with pytest.raises(
        ModelMismatchError, match=r"built for images \(N, 1, 32, 32\).*\(2, 3, 32, 32\)"
    ):
        model.check_input(torch.zeros(2, 3, 32, 32))


def test_registry_errors():
    assert {"gamornet", "vgg", "resnet", "compact", "convnet"} <= set(available_models())
    with pytest.raises(ParameterError, match="model='alexnet'"):
        build_model("alexnet", in_channels=1, num_outputs=2, image_size=32)
    with pytest.raises(ParameterError, match="not accepted by 'compact'"):
        build_model("compact", in_channels=1, num_outputs=2, image_size=32, colour=True)
    with pytest.raises(ParameterError, match=r"depth=4.*image_size >= 2\*\*depth \(got 8\)"):
        build_model("compact", in_channels=1, num_outputs=2, image_size=8, depth=4)
    with pytest.raises(ParameterError, match="num_outputs=0"):
        build_model("vgg", in_channels=1, num_outputs=0, image_size=32)
    with pytest.raises(ParameterError, match="activation='mish'"):
        build_model("resnet", in_channels=1, num_outputs=2, image_size=32, activation="mish")
    with pytest.raises(ParameterError, match="dropout=1.5"):
        build_model("gamornet", in_channels=1, num_outputs=2, image_size=64, dropout=1.5)


def test_gamornet_uses_tflearn_initialisation():
    torch.manual_seed(0)
    model = build_model("gamornet", in_channels=1, num_outputs=3, image_size=83, width=0.25)
    for name in model.conv_layers:
        conv = getattr(model, name)[0]
        bound = (3.0 / conv.weight[0].numel()) ** 0.5  # uniform_scaling: +-sqrt(3 / fan_in)
        assert conv.weight.abs().max() <= bound
        assert conv.weight.abs().max() > 0.9 * bound  # spread over the whole interval
        assert torch.all(conv.bias == 0)
    for name in model.dense_layers:
        fc = getattr(model, name)
        assert fc.weight.abs().max() <= 0.04 + 1e-7  # truncated normal, std 0.02, cut at 2 std
        assert 0.013 < float(fc.weight.detach().std()) < 0.02
        assert torch.all(fc.bias == 0)
    # reset_layer gives a layer fresh weights from the same distribution
    before = model.fc1.weight.detach().clone()
    model.fc1.weight.data.fill_(1.0)
    model.reset_layer("fc1")
    assert not torch.equal(model.fc1.weight, before)
    assert model.fc1.weight.abs().max() <= 0.04 + 1e-7
