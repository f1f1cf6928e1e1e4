"""Integrated Gradients (Sundararajan, Taly & Yan 2017) through captum.

The attribution of pixel :math:`i` is
:math:`(x_i - x'_i) \\int_0^1 \\partial y_t(x' + \\alpha (x - x')) / \\partial x_i \\, d\\alpha`,
approximated with ``n_steps`` Gauss-Legendre points; the attributions sum to
:math:`y_t(x) - y_t(x')` (completeness). The baseline :math:`x'` is a constant image
(0 by default: an empty sky after background subtraction) or any array of the images'
shape.

References
----------
Sundararajan, Taly & Yan 2017, ICML, arXiv 1703.01365.
"""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import IntegratedGradients

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import Prepared

__all__ = ["integrated_gradients", "make_baseline"]


def make_baseline(baseline: Any, x: torch.Tensor) -> torch.Tensor:
    """A baseline tensor shaped like ``x`` from a number or an array.

    Raises
    ------
    ParameterError
        If an array baseline cannot be broadcast to the images' shape.
    """
    if isinstance(baseline, int | float):
        return torch.full_like(x, float(baseline))
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    try:
        return torch.broadcast_to(base, x.shape).clone()
    except RuntimeError:
        raise ParameterError(
            "baseline",
            tuple(base.shape),
            f"cannot be broadcast to the images' shape {tuple(x.shape)}",
        ) from None


def integrated_gradients(
    prepared: Prepared,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    baseline: Any = 0.0,
    n_steps: int = 50,
    batch_size: int = 64,
) -> torch.Tensor:
    """``(N, C, H, W)`` Integrated Gradients of output ``targets[i]`` of image ``i``.

    Parameters
    ----------
    prepared
        The model.
    x
        ``(N, C, H, W)`` images.
    targets
        ``(N,)`` output index per image.
    baseline
        Reference image: a number (constant image) or an array broadcastable to ``x``.
    n_steps
        Points of the path integral.
    batch_size
        Most model inputs per forward/backward pass.
    """
    ig = IntegratedGradients(prepared.forward)
    base = make_baseline(baseline, x)
    with torch.enable_grad():
        attr = ig.attribute(
            x,
            baselines=base,
            target=targets.tolist(),
            n_steps=n_steps,
            internal_batch_size=max(batch_size, len(x)),
        )
    return attr.detach()
