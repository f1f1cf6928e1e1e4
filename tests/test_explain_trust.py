"""Sanity check (Adebayo et al. 2018) and faithfulness metrics of galaxy_xai.explain."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain import (
    attribute,
    deletion_insertion,
    faithfulness,
    randomized_copy,
    rank_correlation,
    sanity_check,
)
from galaxy_xai.explain.sanity import parameter_layers, structural_similarity


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 12 * 12, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv1(x)))
        return self.fc(torch.relu(self.conv2(x)).flatten(1))


class Linear(nn.Module):
    """f(x) = sum(w * x): its true pixel importance is w, known exactly."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).sum((1, 2, 3))[:, None]


def _blob_images(n: int = 4) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        cy, cx = 3 + 6 * torch.rand(2, generator=gen)
        out.append(torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0))
    return torch.stack(out)[:, None] + 0.05 * torch.rand(n, 1, 12, 12, generator=gen)


@pytest.fixture
def trained() -> Net:
    """A network trained for a few steps to find the blob's brightest quadrant."""
    torch.manual_seed(0)
    net = Net()
    x = _blob_images(32)
    labels = (x[:, 0, :6].sum((1, 2)) > x[:, 0, 6:].sum((1, 2))).long()
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), labels).backward()
        opt.step()
    return net.eval()


def test_parameter_layers_in_forward_order(trained):
    assert parameter_layers(trained, _blob_images(1)) == ["conv1", "bn", "conv2", "fc"]


def test_randomised_copy_is_a_reinitialised_deep_copy(trained):
    copy = randomized_copy(trained, ["fc", "conv2"], seed=1)
    assert copy is not trained
    assert not torch.equal(copy.fc.weight, trained.fc.weight)
    assert torch.equal(copy.conv1.weight, trained.conv1.weight)
    again = randomized_copy(trained, ["fc", "conv2"], seed=1)
    assert torch.equal(copy.conv2.weight, again.conv2.weight)  # seeded
    same = randomized_copy(trained, [])
    x = _blob_images(3)
    maps = attribute(trained, x, method="gradient", target=1)
    np.testing.assert_allclose(
        rank_correlation(maps, attribute(same, x, method="gradient", target=1)), 1.0
    )
    with pytest.raises(ParameterError, match=r"layers='head': is not a submodule"):
        randomized_copy(trained, ["head"])


def test_cascading_randomisation_destroys_the_maps(trained):
    x = _blob_images(4)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    result = sanity_check(
        trained,
        x,
        methods=["gradient", "smoothgrad", "gradcam"],
        target=1,
        n_samples=4,
        ssim=True,
    )
    for method in ("gradient", "smoothgrad", "gradcam"):
        entry = result[method]
        assert [step["layer"] for step in entry["layers"]] == ["fc", "conv2", "bn", "conv1"]
        assert entry["spearman"] == entry["layers"][-1]["spearman"]
        assert entry["spearman"] < 0.8, (method, entry["spearman"])
        assert -1.0 <= entry["ssim"] <= 1.0
    assert result["gradient"]["n_images"] == 4
    for key, value in trained.state_dict().items():  # the trained model is untouched
        torch.testing.assert_close(value, before[key])


def test_independent_randomisation_ends_fully_random(trained):
    x = _blob_images(3)
    result = sanity_check(trained, x, methods=["gradient"], target=0, mode="independent")
    assert [s["layer"] for s in result["gradient"]["layers"]] == [
        "fc",
        "conv2",
        "bn",
        "conv1",
        "all",
    ]
    full = sanity_check(trained, x, methods=["gradient"], target=0, mode="full")
    assert [s["layer"] for s in full["gradient"]["layers"]] == ["all"]
    assert full["gradient"]["spearman"] == pytest.approx(result["gradient"]["spearman"])
    with pytest.raises(ParameterError, match=r"mode='random': must be one of cascading"):
        sanity_check(trained, x, methods=["gradient"], target=0, mode="random")


def test_rank_correlation_and_ssim_properties():
    rng = np.random.default_rng(0)
    a = rng.random((3, 8, 8))
    np.testing.assert_allclose(rank_correlation(a, a**3), 1.0)  # ranks only
    np.testing.assert_allclose(rank_correlation(a, -a), -1.0)
    assert np.isnan(rank_correlation(a[:1], np.zeros((1, 8, 8)))[0])  # constant map
    np.testing.assert_allclose(structural_similarity(a, 2 * a + 1), 1.0, atol=1e-4)
    assert structural_similarity(a, rng.random((3, 8, 8))).max() < 0.5


def test_deletion_and_insertion_reward_the_true_importance():
    weight = torch.zeros(1, 1, 12, 12)
    weight[..., 3:7, 4:9] = 1.0
    model = Linear(weight)
    x = 0.5 + 0.5 * torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    truth = np.broadcast_to(weight[0, 0].numpy(), (4, 12, 12))
    good = deletion_insertion(model, x, truth, n_steps=12, insertion_baseline=0.0)
    bad = deletion_insertion(model, x, -truth, n_steps=12, insertion_baseline=0.0)
    assert good["deletion_curve"][0] == pytest.approx(float(model(x).detach().mean()), rel=1e-5)
    assert good["deletion_curve"][-1] == pytest.approx(0.0, abs=1e-6)
    assert good["deletion_auc"] < 0.3 * bad["deletion_auc"]
    assert good["insertion_auc"] > 2 * bad["insertion_auc"]
    assert len(good["fractions"]) == 13


def test_faithfulness_of_gradients_on_a_linear_model():
    weight = torch.randn(1, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    model = Linear(weight)
    x = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(3))
    result = faithfulness(
        model,
        x,
        methods=["gradient", "smoothgrad"],
        abs=False,
        n_samples=4,
        n_steps=8,
        infidelity_samples=4,
        sensitivity_samples=2,
    )
    # the signed gradient of a linear model is exact: no infidelity, no sensitivity
    assert result["gradient"]["infidelity"] == pytest.approx(0.0, abs=1e-8)
    assert result["gradient"]["sensitivity_max"] == pytest.approx(0.0, abs=1e-6)
    assert set(result["smoothgrad"]) == {
        "deletion_auc",
        "insertion_auc",
        "infidelity",
        "sensitivity_max",
    }
    assert result["gradient"]["deletion_auc"] < result["random"]["deletion_auc"]
    assert result["gradient"]["insertion_auc"] > result["random"]["insertion_auc"]


class _MeanOfChannels(nn.Module):
    """Runs ``net`` on the mean of the input channels (a 3-channel tiny model)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.mean = nn.Conv2d(3, 1, 1, bias=False)  # (N, 3, H, W) -> (N, 1, H, W)
        nn.init.constant_(self.mean.weight, 1 / 3)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.mean(x))


def test_faithfulness_of_gradcam_on_three_channel_images(trained):
    """Grad-CAM's one-channel maps, repeated per channel, feed captum's metrics.

    On three identical copies of a gray image the 3-channel model sees exactly the gray
    one, so its deletion/insertion curves are those of the 1-channel model.
    """
    gray = _blob_images(3)
    rgb = gray.expand(-1, 3, -1, -1).contiguous()
    options = dict(methods=["gradcam"], target=0, n_steps=6, infidelity_samples=3,
                   sensitivity_samples=2)  # fmt: skip
    one = faithfulness(trained, gray, **options)
    three = faithfulness(_MeanOfChannels(trained).eval(), rgb, **options)
    for key in ("deletion_auc", "insertion_auc"):
        assert three["gradcam"][key] == pytest.approx(one["gradcam"][key], rel=1e-4), key
    assert np.isfinite(three["gradcam"]["infidelity"])
    assert 0 <= three["gradcam"]["sensitivity_max"] < np.inf
