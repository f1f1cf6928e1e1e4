"""Properties of the attribution methods of galaxy_xai.explain."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from galaxy_xai.explain import METHODS, attribute, attribute_mc_dropout
from galaxy_xai.explain.gradients import noise_sigmas, sample_noise


class TinyNet(nn.Module):
    """conv-BN-ReLU, conv-ReLU, pool, dropout, linear: every layer type the methods meet."""

    def __init__(self, channels: int = 1, outputs: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(6 * 8 * 8, outputs)
        self.output_names = ["smooth", "bar", "ring"][:outputs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(self.drop(x.flatten(1)))


@pytest.fixture
def net() -> TinyNet:
    torch.manual_seed(3)
    model = TinyNet()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.bn.running_mean.uniform_(-0.2, 0.2)
        model.bn.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(1))


FAST = {"n_samples": 6, "n_steps": 8}


@pytest.mark.parametrize("method", METHODS)
def test_batching_does_not_change_maps(net, images, method):
    a = attribute(net, images, method=method, target=1, batch_size=64, **FAST)
    b = attribute(net, images, method=method, target=1, batch_size=4, **FAST)
    assert a.shape == (5, 16, 16) and a.dtype == np.float32
    assert np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())
    # one image alone gets the same map as inside the batch (its noise is keyed by image)
    c = attribute(net, images[2:3], method=method, target=1, noise_keys=[2], **FAST)
    np.testing.assert_allclose(c[0], a[2], rtol=1e-5, atol=1e-5 * np.abs(a).max())


def test_smoothgrad_without_noise_is_the_gradient(net, images):
    grad = attribute(net, images, method="gradient", target="bar")
    smooth = attribute(net, images, method="smoothgrad", target="bar", noise_level=0.0, n_samples=7)
    np.testing.assert_allclose(smooth, grad, rtol=1e-6, atol=1e-9)
    sq = attribute(net, images, method="smoothgrad_sq", target="bar", noise_level=0.0, n_samples=3)
    signed = attribute(net, images, method="gradient", target="bar", abs=False, keep_channels=True)
    np.testing.assert_allclose(sq, (signed**2).sum(1), rtol=1e-5, atol=1e-12)
    var = attribute(net, images, method="vargrad", target="bar", noise_level=0.0, n_samples=3)
    np.testing.assert_allclose(var, 0.0, atol=1e-10)


def test_gradient_equals_captum_saliency(net, images):
    ours = attribute(net, images, method="gradient", target=2, keep_channels=True)
    ref = Saliency(net).attribute(images.clone().requires_grad_(), target=2, abs=True)
    np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-5, atol=1e-8)


def test_noise_methods_match_captum_on_the_same_noise(net, images):
    """SmoothGrad, SmoothGrad^2 and VarGrad computed by hand with captum's Saliency."""
    n, level, seed = 5, 0.2, 7
    sigmas = noise_sigmas(images, level)
    grads = []
    for i in range(len(images)):
        noise = sample_noise((n, 1, 16, 16), seed=seed, key=i, sigma=float(sigmas[i]), device="cpu")
        noisy = (images[i : i + 1] + noise).requires_grad_()
        grads.append(Saliency(net).attribute(noisy, target=1, abs=False).detach().numpy())
    g = np.stack(grads).astype(np.float64)  # (N, n, C, H, W)
    options = {"target": 1, "noise_level": level, "n_samples": n, "seed": seed, "batch_size": 3}
    for method, expected in [
        ("smoothgrad", np.abs(g).mean(1)),
        ("smoothgrad_sq", (g**2).mean(1)),
        ("vargrad", g.var(1)),
    ]:
        ours = attribute(net, images, method=method, keep_channels=True, **options)
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-7 * np.abs(expected).max())
    # the noise scales with each image's range (Smilkov et al.): sigma = level * (max - min)
    np.testing.assert_allclose(sigmas, level * (images.amax((1, 2, 3)) - images.amin((1, 2, 3))))


def test_seeded_noise_is_reproducible_and_seed_dependent(net, images):
    a = attribute(net, images, method="smoothgrad", target=1, n_samples=4, seed=1)
    b = attribute(net, images, method="smoothgrad", target=1, n_samples=4, seed=1)
    c = attribute(net, images, method="smoothgrad", target=1, n_samples=4, seed=2)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6


def test_integrated_gradients_completeness_and_captum(net, images):
    ours = attribute(
        net, images, method="integrated_gradients", target=1, n_steps=64, keep_channels=True
    )
    with torch.no_grad():
        gap = (net(images)[:, 1] - net(torch.zeros_like(images))[:, 1]).numpy()
    np.testing.assert_allclose(ours.sum((1, 2, 3)), gap, rtol=0.02, atol=1e-3)
    ref = IntegratedGradients(net).attribute(images, baselines=0.0, target=1, n_steps=64)
    np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_gradcam_upsampled_and_equal_to_captum(net, images):
    ours = attribute(net, images, method="gradcam", target=0, layer="conv2", keep_channels=True)
    assert ours.shape == (5, 1, 16, 16) and ours.min() >= 0
    raw = LayerGradCam(net, net.conv2).attribute(images, target=0, relu_attributions=True)
    ref = LayerAttribution.interpolate(raw, (16, 16), "bilinear").detach().numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)
    # default layer: the last convolution (conv2) of a model without ``gradcam_layer``
    np.testing.assert_allclose(attribute(net, images, method="gradcam", target=0), ref[:, 0])


def test_occlusion_equals_captum(net, images):
    ours = attribute(
        net, images, method="occlusion", target=1, window_px=4, stride_px=2, keep_channels=True
    )
    ref = Occlusion(net).attribute(
        images, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), target=1, baselines=0.0
    )
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5, atol=1e-7)


def test_attribution_leaves_the_model_as_it_was(net, images):
    net.train()
    frozen = net.fc.weight.requires_grad_(False)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    attribute(net, images, method="smoothgrad", target=1, n_samples=3)
    assert net.training and net.bn.training
    assert not frozen.requires_grad and net.conv1.weight.requires_grad
    for key, value in net.state_dict().items():  # BatchNorm statistics untouched
        torch.testing.assert_close(value, state[key])


def test_channels_kept_or_summed(images):
    torch.manual_seed(0)
    rgb = TinyNet(channels=3).eval()
    x = images.repeat(1, 3, 1, 1)
    kept = attribute(rgb, x, method="smoothgrad", target=0, n_samples=3, keep_channels=True)
    summed = attribute(rgb, x, method="smoothgrad", target=0, n_samples=3)
    assert kept.shape == (5, 3, 16, 16)
    np.testing.assert_allclose(kept.sum(1), summed, rtol=1e-5)


def test_per_image_targets(net, images):
    per_image = attribute(net, images, method="gradient", target=[0, 1, 2, 1, "ring"])
    one = attribute(net, images, method="gradient", target=1)
    two = attribute(net, images, method="gradient", target=2)
    np.testing.assert_allclose(per_image[1], one[1])
    np.testing.assert_allclose(per_image[4], two[4])


def test_mc_dropout_draws_differ_batch_norm_stays_eval(images):
    torch.manual_seed(0)
    model = TinyNet(dropout=0.5).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    options = {"method": "smoothgrad", "target": 1, "n_samples": 4}
    draws = attribute_mc_dropout(model, images, n_draws=3, seed=5, **options)
    again = attribute_mc_dropout(model, images, n_draws=3, seed=5, batch_size=3, **options)
    assert draws.shape == (3, 5, 16, 16)
    np.testing.assert_allclose(draws, again, rtol=1e-5, atol=1e-9)  # seeded, batch-invariant
    assert np.abs(draws[0] - draws[1]).max() > 1e-4  # different networks drawn
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])
    # the mask is shared by all noise samples of an image: without noise, each draw
    # is the gradient of one thinned network, so a draw repeated gives the same map
    plain = attribute(model, images, method="gradient", target=1)
    dropped = attribute(model, images, method="gradient", target=1, mc_dropout=True, seed=9)
    assert np.abs(plain - dropped).max() > 1e-4


def test_trained_model_wrapper_supplies_names_and_shape(net, images):
    class Trained:  # the TrainedModel contract: .model, .output_names, .input_shape, .task
        model = net
        output_names = ("smooth", "bar", "ring")
        input_shape = (1, 16, 16)
        task = "classification"

    by_name = attribute(Trained(), images, method="gradient", target="ring")
    by_index = attribute(net, images, method="gradient", target=2)
    np.testing.assert_array_equal(by_name, by_index)
