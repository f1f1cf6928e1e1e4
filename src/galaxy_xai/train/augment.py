"""On-the-fly augmentation of training batches with kornia (runs on the batch's device).

The saliency paper's set (Bhambra et al. 2022): rotations by any angle, horizontal and
vertical flips, small shifts, brightness changes. Galaxy morphology (apart from the
handedness of spiral arms, which a flip swaps) does not depend on any of them.
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn

from galaxy_xai.train.config import AugmentConfig

__all__ = ["BatchAugment", "build_augment"]


class BatchAugment(nn.Module):
    """Random rotation, flips, shift/zoom and additive brightness of an (N, C, H, W) batch."""

    def __init__(self, cfg: AugmentConfig) -> None:
        super().__init__()
        ops: list[nn.Module] = []
        if cfg.rotation_degrees > 0:
            ops.append(K.RandomRotation(degrees=cfg.rotation_degrees, p=1.0))
        if cfg.flips:
            ops += [K.RandomHorizontalFlip(p=0.5), K.RandomVerticalFlip(p=0.5)]
        if cfg.shift_fraction > 0 or tuple(cfg.scale) != (1.0, 1.0):
            ops.append(
                K.RandomAffine(
                    degrees=0.0,
                    translate=(cfg.shift_fraction, cfg.shift_fraction),
                    scale=(cfg.scale[0], cfg.scale[1]),
                    p=1.0,
                )
            )
        self.ops = nn.Sequential(*ops)
        self.brightness = float(cfg.brightness)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.ops):
            x = self.ops(x)  # (N, C, H, W)
        if self.brightness > 0:
            delta = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) * 2 - 1) * self.brightness
            x = x + delta.to(x.dtype)
        return x


def build_augment(cfg: AugmentConfig) -> BatchAugment | None:
    """The augmentation module of ``cfg``, or None when disabled."""
    return BatchAugment(cfg) if cfg.enabled else None
