"""A VGG-style family at configurable width and depth (Simonyan & Zisserman 2015).

Bhambra et al. (2022, MNRAS 511, 5032) explained VGG16 with swish activations and
sigmoid outputs over the 37 Galaxy Zoo 2 answers; ``VGG(depth=(2, 2, 3, 3, 3),
width=64, activation="silu")`` is that backbone (with batch normalisation, which makes
it trainable from scratch; switch it off with ``batch_norm=False``). The head is
global average pooling then three dense layers, as VGG16's three.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.models.base import GalaxyNet, activation

__all__ = ["VGG"]


class VGG(GalaxyNet):
    """VGG-style network: stages of 3x3 convolutions, each followed by a 2x2 max-pool.

    Parameters
    ----------
    in_channels, num_outputs, image_size
        Input channels, raw outputs, input height = width (pixels).
    width
        Channels of the first stage; each later stage doubles, up to ``8 * width``.
    depth
        Convolutions per stage (VGG16: ``(2, 2, 3, 3, 3)``); an int ``k`` means ``k``
        stages of two convolutions.
    activation
        ``"silu"`` (swish, as in the saliency paper), ``"relu"``, ``"gelu"``.
    batch_norm
        Batch normalisation after every convolution.
    dense_units
        Units of the two hidden dense layers.
    dropout
        Dropout probability after each hidden dense layer (``nn.Dropout``, so MC
        dropout works).

    Raises
    ------
    ParameterError
        If ``in_channels``, ``num_outputs`` or ``image_size`` is out of range (see
        :class:`GalaxyNet`), ``depth`` has no stage or a stage of < 1 convolution,
        ``image_size`` < ``2**stages``, ``width`` or ``dense_units`` < 1, ``dropout`` is
        not in [0, 1), or ``activation`` is unknown.
    """

    dense_layers = ("fc1", "fc2", "fc3")

    def __init__(
        self,
        in_channels: int = 3,
        num_outputs: int = 37,
        image_size: int = 128,
        *,
        width: int = 64,
        depth: int | Sequence[int] = (2, 2, 3, 3, 3),
        activation: str = "silu",
        batch_norm: bool = True,
        dense_units: int = 256,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(in_channels, num_outputs, image_size)
        stages = [2] * depth if isinstance(depth, int) else [int(d) for d in depth]
        if not stages or min(stages) < 1:
            raise ParameterError("depth", depth, "needs at least one stage of >= 1 convolution")
        if image_size < 2 ** len(stages):
            raise ParameterError(
                "image_size", image_size, f"is too small for {len(stages)} pooling stages"
            )
        if width < 1 or dense_units < 1:
            raise ParameterError("width/dense_units", (width, dense_units), "must be >= 1")
        if not 0 <= dropout < 1:
            raise ParameterError("dropout", dropout, "must lie in [0, 1)")
        act_name = activation
        names = []
        channels = in_channels
        for i, n_conv in enumerate(stages, start=1):
            out = width * min(2 ** (i - 1), 8)
            layers: list[nn.Module] = []
            for _ in range(n_conv):
                layers.append(nn.Conv2d(channels, out, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(_act(act_name))
                channels = out
            setattr(self, f"block{i}", nn.Sequential(*layers))
            setattr(self, f"pool{i}", nn.MaxPool2d(2))
            names.append(f"block{i}")
        self.conv_layers = tuple(names)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(channels, dense_units)
        self.act1, self.dropout1 = _act(act_name), nn.Dropout(dropout)
        self.fc2 = nn.Linear(dense_units, dense_units)
        self.act2, self.dropout2 = _act(act_name), nn.Dropout(dropout)
        self.fc3 = nn.Linear(dense_units, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, name in enumerate(self.conv_layers, start=1):
            x = getattr(self, f"pool{i}")(getattr(self, name)(x))  # (N, C_i, H/2^i, W/2^i)
        x = torch.flatten(self.avgpool(x), 1)  # (N, C)
        x = self.dropout1(self.act1(self.fc1(x)))
        x = self.dropout2(self.act2(self.fc2(x)))
        return self.fc3(x)  # (N, num_outputs)


def _act(name: str) -> nn.Module:
    return activation(name)
