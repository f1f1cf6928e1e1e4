"""Grad-CAM (Selvaraju et al. 2017) through captum, upsampled to the image.

The map of a convolutional layer's output :math:`A^k` is
:math:`\\mathrm{ReLU}(\\sum_k \\alpha_k A^k)` with :math:`\\alpha_k` the spatial mean of
:math:`\\partial y_t / \\partial A^k`; it is upsampled bilinearly to the image size.
The layer is the model's ``gradcam_layer`` attribute when it has one (the models of
:mod:`galaxy_xai.models` do), else its last ``nn.Conv2d``, or the one named by ``layer``.

References
----------
Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017, ICCV, arXiv 1610.02391.
"""

from __future__ import annotations

import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import Prepared

__all__ = ["gradcam", "gradcam_layer"]


def gradcam_layer(module: nn.Module, layer: str | nn.Module | None = None) -> nn.Module:
    """The layer Grad-CAM looks at.

    Parameters
    ----------
    module
        The network.
    layer
        A submodule, the dotted name of one (``"features.2"``), or None for the
        model's ``gradcam_layer`` attribute or else its last ``nn.Conv2d``.

    Raises
    ------
    ParameterError
        If the named layer does not exist, or the model has no convolution.
    """
    if isinstance(layer, nn.Module):
        return layer
    if isinstance(layer, str):
        try:
            return module.get_submodule(layer)
        except AttributeError:
            names = [n for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]
            raise ParameterError(
                "layer", layer, f"is not a submodule of the model (convolutions: {names})"
            ) from None
    chosen = getattr(module, "gradcam_layer", None)
    if isinstance(chosen, nn.Module):
        return chosen
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ParameterError(
            "method", "gradcam", "needs a convolutional layer and the model has no nn.Conv2d"
        )
    return convs[-1]


def gradcam(
    prepared: Prepared,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: str | nn.Module | None = None,
    batch_size: int = 64,
) -> torch.Tensor:
    """``(N, 1, H, W)`` Grad-CAM maps, non-negative, upsampled to the images' size.

    Raises
    ------
    ParameterError
        If the output of ``layer`` (default: the model's ``gradcam_layer``) is not a
        spatial ``(N, K, h, w)`` map.
    """
    cam = LayerGradCam(prepared.forward, gradcam_layer(prepared.module, layer))
    parts = []
    for start in range(0, len(x), batch_size):
        rows = x[start : start + batch_size]
        with torch.enable_grad():
            attr = cam.attribute(
                rows.detach().requires_grad_(True),
                target=targets[start : start + batch_size].tolist(),
                relu_attributions=True,
            )
        if attr.ndim != 4:
            raise ParameterError(
                "layer",
                layer,
                f"Grad-CAM needs a spatial (N, K, h, w) layer output, got {tuple(attr.shape)}",
            )
        up = LayerAttribution.interpolate(attr.detach(), tuple(x.shape[2:]), "bilinear")
        parts.append(up.clamp_min(0.0))
    return torch.cat(parts)
