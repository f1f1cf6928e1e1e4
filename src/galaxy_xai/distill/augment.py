"""Differentiable siamese augmentation (DSA) for distillation and its evaluation.

Zhao & Bilen (2021) showed that synthetic sets learn far better when every image the
network sees is augmented *differentiably*, so gradients flow back into the pixels.
One random transform is drawn per call and applied to the whole batch ("siamese":
the same transform for every image of the batch). Everything is plain torch
(``affine_grid``/``grid_sample``), so gradients reach the input images.

Strategy names follow the distillation code bases: ``color`` (brightness, saturation,
contrast), ``crop`` (shift by up to 1/8 of the side), ``cutout`` (zero a square of
half the side), ``flip`` (left-right), ``scale`` (x and y in [1/1.2, 1.2]) and
``rotate`` (+-15 degrees). In ``"single"`` mode (the MTT default) one of them is
chosen per call; ``"all"`` applies each in turn.

Note for galaxy morphology: a mirror flip turns a clockwise spiral into an
anticlockwise one. Leave ``flip`` out when those classes are kept apart.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from galaxy_xai.errors import ParameterError

__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "SiameseAugment"]

STRATEGIES = ("color", "crop", "cutout", "flip", "scale", "rotate")
DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"  # Cazenavette et al. 2022


class SiameseAugment:
    """One random differentiable transform per call, shared by the whole batch.

    Parameters
    ----------
    strategy
        Underscore-joined subset of ``color, crop, cutout, flip, scale, rotate``,
        or ``"none"``.
    mode
        ``"single"``: one operation chosen at random per call (MTT's default);
        ``"all"``: every operation in turn.
    scale
        Largest scale factor (each axis drawn in [1/scale, scale]).
    rotate_deg
        Largest rotation (degrees).
    crop_fraction
        Largest shift as a fraction of the image side.
    cutout_fraction
        Side of the zeroed square as a fraction of the image side.
    brightness, saturation, contrast
        Ranges of the colour jitter (added brightness in +-brightness/2, saturation
        factor in [0, saturation], contrast factor in [0.5, 0.5 + contrast]).

    Raises
    ------
    ParameterError
        On an unknown strategy or mode.
    """

    def __init__(
        self,
        strategy: str = DEFAULT_STRATEGY,
        *,
        mode: str = "single",
        scale: float = 1.2,
        rotate_deg: float = 15.0,
        crop_fraction: float = 0.125,
        cutout_fraction: float = 0.5,
        brightness: float = 1.0,
        saturation: float = 2.0,
        contrast: float = 0.5,
    ) -> None:
        ops = [] if strategy in ("none", "") else strategy.split("_")
        unknown = [op for op in ops if op not in STRATEGIES]
        if unknown:
            raise ParameterError(
                "augment", strategy, f"unknown operation(s) {unknown}; choose from {STRATEGIES}"
            )
        if mode not in ("single", "all"):
            raise ParameterError("mode", mode, "must be 'single' or 'all'")
        self.strategy = strategy
        self.ops = ops
        self.mode = mode
        self.scale = scale
        self.rotate_deg = rotate_deg
        self.crop_fraction = crop_fraction
        self.cutout_fraction = cutout_fraction
        self.brightness = brightness
        self.saturation = saturation
        self.contrast = contrast

    def __repr__(self) -> str:
        return f"SiameseAugment({self.strategy!r}, mode={self.mode!r})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch ``(N, C, H, W)``; differentiable with respect to ``x``."""
        if not self.ops:
            return x
        if self.mode == "single":
            pick = int(torch.randint(len(self.ops), (1,), generator=generator))
            ops = [self.ops[pick]]
        else:
            ops = self.ops
        for op in ops:
            x = getattr(self, f"_{op}")(x, generator)
        return x

    # ------------------------------------------------------------------ operations
    @staticmethod
    def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    def _affine(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        grid = F.affine_grid(
            theta.to(x.dtype).expand(x.shape[0], 2, 3), list(x.shape), align_corners=False
        )
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _color(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        x = x + self._uniform(-0.5, 0.5, g) * self.brightness
        if x.shape[1] > 1:
            mean = x.mean(dim=1, keepdim=True)
            x = (x - mean) * self._uniform(0.0, self.saturation, g) + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * self._uniform(0.5, 0.5 + self.contrast, g) + mean

    def _crop(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        # affine_grid works in [-1, 1]: a shift of f * side is 2 f.
        dx = 2 * self._uniform(-self.crop_fraction, self.crop_fraction, g)
        dy = 2 * self._uniform(-self.crop_fraction, self.crop_fraction, g)
        theta = torch.tensor([[[1.0, 0.0, dx], [0.0, 1.0, dy]]])
        return self._affine(x, theta)

    def _cutout(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        ch, cw = (
            max(int(h * self.cutout_fraction + 0.5), 1),
            max(int(w * self.cutout_fraction + 0.5), 1),
        )
        cy = int(torch.randint(h, (1,), generator=g))
        cx = int(torch.randint(w, (1,), generator=g))
        mask = torch.ones((h, w), dtype=x.dtype, device=x.device)
        mask[max(cy - ch // 2, 0) : cy - ch // 2 + ch, max(cx - cw // 2, 0) : cx - cw // 2 + cw] = 0
        return x * mask

    def _flip(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        return x.flip(-1) if float(torch.rand((), generator=g)) < 0.5 else x

    def _scale(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        sx = self._uniform(1.0 / self.scale, self.scale, g)
        sy = self._uniform(1.0 / self.scale, self.scale, g)
        theta = torch.tensor([[[sx, 0.0, 0.0], [0.0, sy, 0.0]]])
        return self._affine(x, theta)

    def _rotate(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        angle = math.radians(self._uniform(-self.rotate_deg, self.rotate_deg, g))
        c, s = math.cos(angle), math.sin(angle)
        theta = torch.tensor([[[c, -s, 0.0], [s, c, 0.0]]])
        return self._affine(x, theta)
