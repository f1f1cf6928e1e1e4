"""On-the-fly augmentation of training batches with kornia (runs on the batch's device).

The saliency paper's set (Bhambra et al. 2022): rotations by any angle, horizontal and
vertical flips, small shifts, brightness changes. Galaxy morphology (apart from the
handedness of spiral arms, which a flip swaps) does not depend on any of them.

Beyond that set, :class:`CentreMask` hides a random central disc of some images, so
that a network learns a central structure (a bar) from its outer parts too and its
saliency maps cover the whole structure rather than its brightest centre.
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn

from galaxy_xai.train.config import AugmentConfig

__all__ = ["BatchAugment", "CentreMask", "build_augment"]


class CentreMask(nn.Module):
    """Replace a random central disc of some images by the mean of the ring around it.

    Bar networks trained on whole galaxies tend to decide from the bar's bright centre,
    where the bar, bulge and disk differ most, and their saliency maps are central
    blobs. With the centre hidden in some training images (barred and unbarred alike,
    so the mask says nothing about the label), the network must also recognise the bar
    from its outer parts, and its maps follow the bar along its length.

    Parameters
    ----------
    probability
        Chance that an image is masked, in [0, 1].
    radius
        ``(low, high)`` disc radius range as fractions of the image side; each masked
        image draws its radius uniformly from it.
    ring_px
        Width (pixels) of the ring just outside the disc whose mean fills the disc, per
        channel, so the fill matches the local brightness.
    """

    def __init__(
        self, probability: float, radius: tuple[float, float], *, ring_px: float = 1.5
    ) -> None:
        super().__init__()
        self.probability = float(probability)
        self.radius = (float(radius[0]), float(radius[1]))
        self.ring_px = float(ring_px)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.probability <= 0:
            return x
        n, _, h, w = x.shape
        chosen = torch.rand(n, device=x.device) < self.probability
        side = float(min(h, w))
        low, high = self.radius
        r = (low + (high - low) * torch.rand(n, 1, 1, device=x.device)) * side  # (N, 1, 1) px
        yy = torch.arange(h, device=x.device, dtype=torch.float32) - (h - 1) / 2
        xx = torch.arange(w, device=x.device, dtype=torch.float32) - (w - 1) / 2
        dist = torch.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2)[None]  # (1, H, W)
        disc = (dist < r) & chosen[:, None, None]  # (N, H, W)
        ring = ((dist >= r) & (dist < r + self.ring_px)).to(x.dtype)[:, None]  # (N, 1, H, W)
        fill = (x * ring).sum((2, 3), keepdim=True) / ring.sum((2, 3), keepdim=True).clamp(min=1)
        return torch.where(disc[:, None], fill.expand_as(x), x)


class BatchAugment(nn.Module):
    """Centre mask, random rotation, flips, shift/zoom and brightness of an (N, C, H, W) batch."""

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
        # before the geometric ops: the disc is centred on the galaxy, then shifted with it
        self.centre_mask = (
            CentreMask(cfg.centre_mask_probability, cfg.centre_mask_radius)
            if cfg.centre_mask_probability > 0
            else None
        )

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.centre_mask is not None:
            x = self.centre_mask(x)
        if len(self.ops):
            x = self.ops(x)  # (N, C, H, W)
        if self.brightness > 0:
            delta = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) * 2 - 1) * self.brightness
            x = x + delta.to(x.dtype)
        return x


def build_augment(cfg: AugmentConfig) -> BatchAugment | None:
    """The augmentation module of ``cfg``, or None when disabled."""
    return BatchAugment(cfg) if cfg.enabled else None
