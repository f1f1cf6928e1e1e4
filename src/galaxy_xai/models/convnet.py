"""The ConvNet of the dataset-distillation literature.

``depth`` blocks of [3x3 convolution with ``width`` filters, normalisation, activation,
2x2 pooling] followed by one linear classifier, as in Cazenavette et al. (2022,
"Dataset Distillation by Matching Training Trajectories") and Guan et al. (2023,
arXiv 2311.17967). Instance normalisation is ``GroupNorm(width, width, affine=True)``
exactly as in their code, so the network has no running statistics and works with
:func:`torch.func.functional_call` on any batch size, including one image.

References
----------
Cazenavette, Wang, Torralba, Efros & Zhu 2022, CVPR, arXiv 2203.11932.
Guan, Zhao, Wang, Li & Kempe 2023, arXiv 2311.17967.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from galaxy_xai.errors import ParameterError

__all__ = ["ConvNet"]

_NORMS = ("instancenorm", "batchnorm", "layernorm", "groupnorm", "none")
_ACTIVATIONS = ("relu", "leakyrelu", "sigmoid", "gelu")
_POOLINGS = ("avgpool", "maxpool", "none")


def _norm(kind: str, width: int, size: int) -> nn.Module:
    if kind == "instancenorm":
        return nn.GroupNorm(width, width, affine=True)
    if kind == "batchnorm":
        return nn.BatchNorm2d(width)
    if kind == "layernorm":
        return nn.LayerNorm([width, size, size], elementwise_affine=True)
    if kind == "groupnorm":
        return nn.GroupNorm(4 if width % 4 == 0 else 1, width, affine=True)
    return nn.Identity()


def _activation(kind: str) -> nn.Module:
    factories: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "leakyrelu": lambda: nn.LeakyReLU(0.01),
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
    }
    return factories[kind]()


class ConvNet(nn.Module):
    """Depth x [conv3x3, norm, activation, pool 2] then a linear classifier.

    Parameters
    ----------
    in_channels
        Image channels C (1 for grey, 3 for RGB).
    num_classes
        Number of output logits.
    image_size
        Side H = W of the square input images (px); with pooling it must stay >= 1
        after ``depth`` halvings.
    width
        Filters per convolution (128 in the literature).
    depth
        Number of convolutional blocks (3 for 32 px images).
    norm
        ``"instancenorm"`` (GroupNorm with one group per channel, the default of the
        distillation literature), ``"batchnorm"``, ``"layernorm"``, ``"groupnorm"``
        or ``"none"``.
    activation
        ``"relu"``, ``"leakyrelu"``, ``"sigmoid"`` or ``"gelu"``.
    pooling
        ``"avgpool"``, ``"maxpool"`` or ``"none"`` (2x2, stride 2).

    Attributes
    ----------
    features : nn.Sequential
        The convolutional blocks.
    classifier : nn.Linear
        The final linear layer on the flattened features.
    gradcam_layer : nn.Module
        The last convolutional block (its output is the last spatial feature map),
        used by Grad-CAM in :mod:`galaxy_xai.explain`.
    config : dict
        The constructor arguments (for saving with weights).

    Raises
    ------
    ParameterError
        On a non-positive size, an unknown option, or an image too small for ``depth``.

    Examples
    --------
    >>> net = ConvNet(1, 10, 16, width=16, depth=2)
    >>> net(torch.zeros(4, 1, 16, 16)).shape
    torch.Size([4, 10])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: int,
        *,
        width: int = 128,
        depth: int = 3,
        norm: str = "instancenorm",
        activation: str = "relu",
        pooling: str = "avgpool",
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("image_size", image_size),
            ("width", width),
            ("depth", depth),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(name, value, "must be a positive integer")
        if norm not in _NORMS:
            raise ParameterError("norm", norm, f"must be one of {', '.join(_NORMS)}")
        if activation not in _ACTIVATIONS:
            raise ParameterError(
                "activation", activation, f"must be one of {', '.join(_ACTIVATIONS)}"
            )
        if pooling not in _POOLINGS:
            raise ParameterError("pooling", pooling, f"must be one of {', '.join(_POOLINGS)}")
        if pooling != "none" and image_size >> depth < 1:
            raise ParameterError(
                "depth",
                depth,
                f"{depth} poolings shrink a {image_size} px image below 1 px; "
                f"use depth <= {max(image_size.bit_length() - 1, 1)}",
            )
        self.config = {
            "in_channels": in_channels,
            "num_classes": num_classes,
            "image_size": image_size,
            "width": width,
            "depth": depth,
            "norm": norm,
            "activation": activation,
            "pooling": pooling,
        }
        blocks: list[nn.Module] = []
        channels, size = in_channels, image_size
        for _ in range(depth):
            layers: list[nn.Module] = [
                nn.Conv2d(channels, width, kernel_size=3, padding=1),
                _norm(norm, width, size),
                _activation(activation),
            ]
            if pooling == "avgpool":
                layers.append(nn.AvgPool2d(2, 2))
            elif pooling == "maxpool":
                layers.append(nn.MaxPool2d(2, 2))
            if pooling != "none":
                size //= 2
            blocks.append(nn.Sequential(*layers))
            channels = width
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(width * size * size, num_classes)
        self.gradcam_layer = self.features[-1]
        self.num_classes = num_classes
        self.input_shape = (in_channels, image_size, image_size)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened features before the classifier, ``(N, width * s * s)``."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` of images ``x`` ``(N, C, H, W)``."""
        return self.classifier(self.embed(x))
