"""The distillation ConvNet: shapes, instance norm, functional_call, Grad-CAM layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call

from galaxy_xai.errors import ParameterError
from galaxy_xai.models.convnet import ConvNet


def test_literature_defaults_and_shapes() -> None:
    net = ConvNet(3, 4, 32)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, nn.GroupNorm)]
    pools = [m for m in net.modules() if isinstance(m, nn.AvgPool2d)]
    assert len(convs) == len(norms) == len(pools) == 3
    assert all(c.out_channels == 128 and c.kernel_size == (3, 3) for c in convs)
    # instance norm as in the MTT code: one group per channel, affine
    assert all(n.num_groups == n.num_channels == 128 and n.affine for n in norms)
    assert net.classifier.in_features == 128 * 4 * 4
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 4)
    assert net.gradcam_layer is net.features[-1]


def test_prediction_does_not_depend_on_the_batch() -> None:
    # instance norm has no batch statistics: one image gives the same logits alone
    net = ConvNet(1, 3, 16, width=16, depth=2)
    x = torch.randn(5, 1, 16, 16)
    torch.testing.assert_close(net(x)[2:3], net(x[2:3]))


def test_functional_call_with_other_parameters_matches_a_copy() -> None:
    net = ConvNet(1, 3, 16, width=8, depth=2)
    other = ConvNet(1, 3, 16, width=8, depth=2)
    x = torch.randn(4, 1, 16, 16)
    params = {k: v.detach() for k, v in other.named_parameters()}
    torch.testing.assert_close(functional_call(net, params, (x,)), other(x))


def test_gradcam_layer_output_is_the_last_feature_map() -> None:
    net = ConvNet(1, 2, 16, width=8, depth=2)
    seen = {}
    net.gradcam_layer.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    net(torch.randn(1, 1, 16, 16))
    assert seen["out"].shape == (1, 8, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 0}, "width=0"),
        ({"depth": 5}, "depth=5.*shrink a 16 px"),
        ({"norm": "weird"}, "norm='weird'"),
        ({"activation": "tanhh"}, "activation='tanhh'"),
        ({"pooling": "sum"}, "pooling='sum'"),
    ],
)
def test_bad_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        ConvNet(1, 2, 16, **kwargs)


def test_other_norms_and_poolings_run() -> None:
    for norm in ("batchnorm", "layernorm", "groupnorm", "none"):
        for pooling in ("maxpool", "none"):
            net = ConvNet(1, 2, 8, width=8, depth=1, norm=norm, pooling=pooling, activation="gelu")
            assert net(torch.randn(2, 1, 8, 8)).shape == (2, 2)
