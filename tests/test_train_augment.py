"""On-the-fly training augmentation: the centre mask and its configuration."""

from __future__ import annotations

import math

import pytest
import torch

from galaxy_xai.errors import ConfigError
from galaxy_xai.train import load_train_config
from galaxy_xai.train.augment import BatchAugment, CentreMask
from galaxy_xai.train.config import AugmentConfig


def _images(n: int = 6, channels: int = 2, side: int = 32) -> torch.Tensor:
    """Distinct, smoothly varying images: a ramp per image and channel."""
    ramp = torch.linspace(0.0, 1.0, side)[None, :].expand(side, side)
    level = torch.arange(n * channels, dtype=torch.float32).reshape(n, channels, 1, 1)
    return ramp[None, None] + level


def test_centre_mask_fills_a_central_disc_with_the_ring_mean() -> None:
    x = _images(side=32)
    radius_frac = 0.25  # 8 px of a 32 px side
    y = CentreMask(1.0, (radius_frac, radius_frac), ring_px=1.5)(x)
    yy, xx = torch.meshgrid(torch.arange(32.0) - 15.5, torch.arange(32.0) - 15.5, indexing="ij")
    dist = torch.sqrt(yy**2 + xx**2)
    disc, ring = dist < 8.0, (dist >= 8.0) & (dist < 9.5)
    for i in range(len(x)):
        for c in range(x.shape[1]):
            expected = x[i, c][ring].mean()
            assert torch.allclose(y[i, c][disc], expected.expand(int(disc.sum())))
            assert torch.equal(y[i, c][~disc], x[i, c][~disc])  # outside untouched


def test_centre_mask_probability_and_radius_range() -> None:
    torch.manual_seed(0)
    side, n = 40, 2000
    x = torch.rand(n, 1, side, side)
    y = CentreMask(0.3, (0.1, 0.2))(x)
    changed = (y != x).flatten(1).sum(1).float()
    masked = changed > 0
    assert abs(masked.float().mean().item() - 0.3) < 0.04
    # disc areas between pi (0.1 side)^2 and pi (0.2 side)^2 pixels, give or take the edge
    low, high = math.pi * (0.1 * side) ** 2, math.pi * (0.2 * side) ** 2
    assert changed[masked].min() >= 0.8 * low and changed[masked].max() <= 1.1 * high
    assert changed[masked].std() > 0  # radii are drawn per image


def test_centre_mask_off_returns_the_batch_unchanged() -> None:
    x = _images()
    assert CentreMask(0.0, (0.1, 0.2))(x) is x
    aug = BatchAugment(
        AugmentConfig(rotation_degrees=0, flips=False, shift_fraction=0, brightness=0)
    )
    assert aug.centre_mask is None and torch.equal(aug(x), x)


def test_batch_augment_applies_the_configured_centre_mask() -> None:
    cfg = AugmentConfig(
        rotation_degrees=0, flips=False, shift_fraction=0, brightness=0,
        centre_mask_probability=1.0, centre_mask_radius=(0.25, 0.25),
    )  # fmt: skip
    x = _images(side=32)
    assert torch.equal(BatchAugment(cfg)(x), CentreMask(1.0, (0.25, 0.25))(x))


@pytest.mark.parametrize(
    ("augment", "message"),
    [
        (
            {"centre_mask_probability": 1.5},
            r"augment.centre_mask_probability=1.5: must be in \[0, 1\]",
        ),
        ({"centre_mask_radius": [0.3, 0.1]}, r"augment.centre_mask_radius=\(0.3, 0.1\)"),
        ({"centre_mask_radius": [0.1, 0.5]}, r"augment.centre_mask_radius=.*< 0.5"),
        ({"centre_mask_radius": [0.0, 0.2]}, r"augment.centre_mask_radius=.*0 < low"),
    ],
)
def test_impossible_centre_mask_settings_are_named(augment: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_train_config({"augment": augment})


def test_centre_mask_settings_load_from_a_mapping() -> None:
    cfg = load_train_config(
        {"augment": {"centre_mask_probability": 0.5, "centre_mask_radius": [0.1, 0.3]}}
    )
    assert cfg.augment.centre_mask_probability == 0.5
    assert cfg.augment.centre_mask_radius == (0.1, 0.3)
