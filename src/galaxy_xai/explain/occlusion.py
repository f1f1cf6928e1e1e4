"""Occlusion (Zeiler & Fergus 2014) through captum.

A square window of ``window_px`` pixels, moved by ``stride_px``, replaces part of the
image with the baseline (0: empty sky); a pixel's attribution is the mean drop of the
target output over the windows that covered it. Model-agnostic and gradient-free, it
is slow (one forward pass per window position) but a useful check on gradient maps.

References
----------
Zeiler & Fergus 2014, ECCV, arXiv 1311.2901.
"""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Occlusion

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import Prepared
from galaxy_xai.explain.integrated import make_baseline

__all__ = ["default_window", "occlusion"]


def default_window(height: int, width: int) -> tuple[int, int]:
    """Default (window, stride) in pixels: 1/8 of the smaller side, half-overlapping."""
    window = max(2, min(height, width) // 8)
    return window, max(1, window // 2)


def occlusion(
    prepared: Prepared,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    window_px: int | None = None,
    stride_px: int | None = None,
    baseline: Any = 0.0,
    batch_size: int = 64,
) -> torch.Tensor:
    """``(N, C, H, W)`` occlusion attributions (all channels occluded together).

    Raises
    ------
    ParameterError
        If the window or stride is not a positive size that fits the image.
    """
    _, channels, height, width = x.shape
    default_w, default_s = default_window(height, width)
    window = default_w if window_px is None else window_px
    stride = (
        (default_s if window_px is None else max(1, window // 2))
        if stride_px is None
        else stride_px
    )
    for name, value in (("window_px", window), ("stride_px", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(name, value, "must be a positive integer (pixels)")
    if window > min(height, width):
        raise ParameterError(
            "window_px", window, f"is larger than the images ({height} x {width} px)"
        )
    occ = Occlusion(prepared.forward)
    base = make_baseline(baseline, x)
    n_positions = ((height - window) // stride + 1) * ((width - window) // stride + 1)
    parts = []
    per_chunk = max(1, min(len(x), batch_size))
    for start in range(0, len(x), per_chunk):
        rows = x[start : start + per_chunk]
        per_eval = max(1, min(n_positions, batch_size // len(rows)))
        with torch.no_grad():
            attr = occ.attribute(
                rows,
                sliding_window_shapes=(channels, window, window),
                strides=(channels, stride, stride),
                baselines=base[start : start + per_chunk],
                target=targets[start : start + per_chunk].tolist(),
                perturbations_per_eval=per_eval,
            )
        parts.append(attr.detach())
    return torch.cat(parts)
