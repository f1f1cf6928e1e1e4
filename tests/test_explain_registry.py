"""The registry of attribution methods: one declaration makes a method available everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient
from torch import nn

from galaxy_xai.cli import build_parser
from galaxy_xai.errors import ParameterError
from galaxy_xai.explain import (
    DEFAULT_ABS,
    METHOD_SPECS,
    METHODS,
    attribute,
    batch_method,
    explain_dataset,
    noise_tunnel,
    open_maps,
    register_method,
    row_method,
    unregister_method,
)
from galaxy_xai.explain.gradients import input_gradients, noise_sigmas, sample_noise
from galaxy_xai.explain.methods import (
    INTEGRATED_GRADIENTS,
    SMOOTHGRAD,
    NoiseTunnelOptions,
    OcclusionOptions,
    cli_option_fields,
    default_check_methods,
)

BUILT_IN = (
    "gradient",
    "smoothgrad",
    "smoothgrad_sq",
    "vargrad",
    "integrated_gradients",
    "gradcam",
    "occlusion",
)


class TinyNet(nn.Module):
    """conv-ReLU, pool, dropout, linear."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.pool(torch.relu(self.conv(x))).flatten(1)))


@pytest.fixture
def net() -> TinyNet:
    torch.manual_seed(2)
    return TinyNet().eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(3))


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered by a test, removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_method(name)
    assert tuple(METHODS) == BUILT_IN


def _explain_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["explain"]


def _explain_action(name: str) -> argparse.Action:
    return next(a for a in _explain_parser()._actions if name in a.option_strings)


def _input_x_gradient(prepared, rows, targets, _options):
    return rows * input_gradients(prepared, rows, targets)


def test_built_in_methods_and_derived_tables():
    assert tuple(METHODS) == BUILT_IN and METHODS[0] == "gradient" and "gradcam" in METHODS
    assert dict(DEFAULT_ABS) == {name: name in ("gradient", "smoothgrad") for name in BUILT_IN}
    assert default_check_methods() == ("gradient", "smoothgrad", "integrated_gradients", "gradcam")
    assert METHOD_SPECS["gradcam"].output_channels == 1
    assert METHOD_SPECS["smoothgrad"].base is METHOD_SPECS["gradient"]
    assert [f.name for f in cli_option_fields()] == ["n_steps", "layer", "window_px", "stride_px"]
    assert _explain_action("--method").choices == BUILT_IN
    assert _explain_action("--methods").choices == BUILT_IN


def test_registering_a_method_makes_it_available_everywhere(net, images, registered):
    register_method(
        row_method("input_x_gradient", _input_x_gradient, default_abs=False, checked=True)
    )
    registered.append("input_x_gradient")
    maps = attribute(net, images, method="input_x_gradient", target=1, keep_channels=True)
    ref = InputXGradient(net).attribute(images.clone().requires_grad_(), target=1)
    np.testing.assert_allclose(maps, ref.detach().numpy(), rtol=1e-5, atol=1e-8)
    # batching (a per-row method is streamed in chunks) does not change the maps
    small = attribute(net, images, method="input_x_gradient", target=1, batch_size=3)
    np.testing.assert_allclose(small, maps.sum(1), rtol=1e-5, atol=1e-8)
    assert METHODS[-1] == "input_x_gradient" and DEFAULT_ABS["input_x_gradient"] is False
    assert default_check_methods()[-1] == "input_x_gradient"
    # the CLI takes the new name (choices read from the registry when the parser is built)
    assert "input_x_gradient" in _explain_action("--method").choices
    assert "input_x_gradient" in _explain_action("--methods").choices
    # the noise tunnel composes over it: no noise and one sample is the method itself
    register_method(noise_tunnel(METHOD_SPECS["input_x_gradient"], "smoothgrad", name="sg_ixg"))
    registered.append("sg_ixg")
    tunnel = attribute(net, images, method="sg_ixg", target=1, noise_level=0.0, n_samples=2)
    np.testing.assert_allclose(tunnel, maps.sum(1), rtol=1e-5, atol=1e-8)


@dataclass(frozen=True)
class PowerOptions:
    power: int = field(default=1, metadata={"cli": "count", "help": "power of the gradient"})


def _gradient_power(call, x, targets, options):
    return input_gradients(call.prepared, x, targets) ** options.power


def test_a_method_with_its_own_options_and_cli_flag(net, images, registered):
    register_method(batch_method("gradient_power", _gradient_power, options=PowerOptions))
    registered.append("gradient_power")
    grad = attribute(net, images, method="gradient", target=0, abs=False, keep_channels=True)
    squared = attribute(net, images, method="gradient_power", target=0, power=2)
    np.testing.assert_allclose(squared, (grad**2).sum(1), rtol=1e-5, atol=1e-12)
    same = attribute(net, images, method="gradient_power", target=0, options=PowerOptions(2))
    np.testing.assert_array_equal(same, squared)
    # an option of one method only is ignored by the others
    np.testing.assert_array_equal(
        attribute(net, images, method="gradient", target=0, power=3),
        attribute(net, images, method="gradient", target=0),
    )
    flag = _explain_action("--power")  # default None: the help shows the option's own
    assert flag.default is None and flag.help == "power of the gradient"
    assert flag.default_source == (f"{__name__}:PowerOptions", "power")
    help_text = " ".join(_explain_parser().format_help().split())
    assert "power of the gradient (default: 1)" in help_text
    # under MC dropout a batch method runs one image at a time, each with its own mask
    torch.manual_seed(4)
    dropped = TinyNet(dropout=0.5).eval()
    options = {"target": 0, "mc_dropout": True, "seed": 5}
    a = attribute(dropped, images, method="gradient_power", abs=False, **options)
    b = attribute(dropped, images, method="gradient", abs=False, **options)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


def test_a_registered_method_writes_its_own_channels(tiny_dataset, tmp_path, registered):
    def one_channel(call, x, targets, _options):
        return input_gradients(call.prepared, x, targets).sum(1, keepdim=True)

    register_method(batch_method("summed", one_channel, output_channels=1))
    registered.append("summed")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2048, 2))
    out = explain_dataset(
        model.eval(),
        tiny_dataset,
        tmp_path / "m.h5",
        method="summed",
        target=1,
        limit=3,
        keep_channels=True,
    )
    with open_maps(Path(out)) as maps:
        assert maps.maps.shape == (3, 1, 32, 32) and maps.metadata["method"] == "summed"


def test_noise_tunnel_over_integrated_gradients(net, images, registered):
    register_method(noise_tunnel(INTEGRATED_GRADIENTS, "smoothgrad", name="smooth_ig"))
    registered.append("smooth_ig")
    options = {"target": 2, "n_steps": 8, "seed": 3}
    ig = attribute(net, images, method="integrated_gradients", **options)
    quiet = attribute(net, images, method="smooth_ig", noise_level=0.0, n_samples=2, **options)
    np.testing.assert_allclose(quiet, ig, rtol=1e-5, atol=1e-7)
    # with noise: the mean of the IG maps of the same noisy copies (keyed per image)
    n, level = 3, 0.1
    noisy = attribute(net, images, method="smooth_ig", noise_level=level, n_samples=n, **options)
    sigmas = noise_sigmas(images, level)
    expected = []
    for i in range(len(images)):
        noise = sample_noise((n, 1, 16, 16), seed=3, key=i, sigma=float(sigmas[i]), device="cpu")
        copies = images[i : i + 1] + noise
        expected.append(attribute(net, copies, method="integrated_gradients", **options).mean(0))
    np.testing.assert_allclose(noisy, np.stack(expected), rtol=1e-4, atol=1e-7)
    again = attribute(
        net, images, method="smooth_ig", noise_level=level, n_samples=n, batch_size=2, **options
    )
    np.testing.assert_allclose(again, noisy, rtol=1e-5, atol=1e-7)
    # the base method's options travel in the tunnel's options
    with pytest.raises(ParameterError, match=r"n_steps=0: must be a positive integer"):
        attribute(net, images, method="smooth_ig", target=2, n_steps=0)


def test_keywords_route_to_the_method_options(net, images):
    by_keyword = attribute(net, images, method="smoothgrad", target=1, n_samples=4, noise_level=0.1)
    by_options = attribute(
        net, images, method="smoothgrad", target=1, options=NoiseTunnelOptions(0.1, 4)
    )
    np.testing.assert_array_equal(by_keyword, by_options)
    overridden = attribute(
        net,
        images,
        method="smoothgrad",
        target=1,
        options=NoiseTunnelOptions(0.3, 9),
        noise_level=0.1,
        n_samples=4,
    )
    np.testing.assert_array_equal(overridden, by_keyword)
    # an option of other methods only is checked as they check it, then ignored
    with pytest.raises(ParameterError, match=r"n_samples=0: must be a positive integer"):
        attribute(net, images, method="gradient", target=1, n_samples=0)
    np.testing.assert_array_equal(
        attribute(net, images, method="gradient", target=1, window_px=3, n_steps=5),
        attribute(net, images, method="gradient", target=1),
    )
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'n_sample'"):
        attribute(net, images, method="smoothgrad", target=1, n_sample=4)
    with pytest.raises(ParameterError, match=r"options='OcclusionOptions'.*NoiseTunnelOptions"):
        attribute(net, images, method="smoothgrad", target=1, options=OcclusionOptions())


def test_registry_errors(registered):
    with pytest.raises(ParameterError, match=r"name='gradient': is registered already"):
        register_method(METHOD_SPECS["gradient"])
    with pytest.raises(ParameterError, match=r"method='lrp': unknown; choose one of gradient"):
        unregister_method("lrp")
    with pytest.raises(ParameterError, match=r"base='smoothgrad': is a noise tunnel already"):
        noise_tunnel(SMOOTHGRAD, "vargrad", name="twice")
    with pytest.raises(ParameterError, match=r"nt_type='mean': must be one of smoothgrad"):
        noise_tunnel(METHOD_SPECS["gradient"], "mean", name="mean")
    with pytest.raises(ParameterError, match=r"options=.*must be a dataclass"):
        register_method(batch_method("bad", _gradient_power, options=dict))
    assert "bad" not in METHODS
