"""A ResNet-style family (pre-activation, He et al. 2016 "v2") at configurable width/depth.

Bhambra et al. (2022) explained ResNet50V2 with swish activations; this family keeps
its pre-activation residual units (norm -> activation -> conv) with SiLU by default and
lets width and the number of units per stage vary, so that CPU-sized members exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.models.base import GalaxyNet, activation

__all__ = ["PreActBlock", "ResNet"]


class PreActBlock(nn.Module):
    """Pre-activation basic residual unit: (BN, act, 3x3 conv) twice plus a shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, act: str) -> None:
        super().__init__()
        self.norm1, self.act1 = nn.BatchNorm2d(in_ch), activation(act)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.norm2, self.act2 = nn.BatchNorm2d(out_ch), activation(act)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)
            if stride != 1 or in_ch != out_ch
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.act1(self.norm1(x))
        skip = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = self.conv2(self.act2(self.norm2(out)))
        return out + skip


class ResNet(GalaxyNet):
    """Pre-activation ResNet.

    Parameters
    ----------
    in_channels, num_outputs, image_size
        Input channels, raw outputs, input height = width (pixels).
    width
        Channels of the first stage; each later stage doubles.
    depth
        Residual units per stage (``(2, 2, 2, 2)`` is ResNet-18-like); an int ``k``
        means ``k`` stages of two units.
    activation
        ``"silu"`` (swish) by default.
    stem_stride
        Stride of the 5x5 stem convolution (2 halves the image at once).
    dropout
        Dropout before the output layer (``nn.Dropout``, for MC dropout).

    Raises
    ------
    ParameterError
        If ``in_channels``, ``num_outputs`` or ``image_size`` is out of range (see
        :class:`GalaxyNet`), ``depth`` has no stage or a stage of < 1 unit, ``width``
        or ``stem_stride`` < 1, ``dropout`` is not in [0, 1), ``activation`` is
        unknown, or ``image_size`` is too small for the stages.
    """

    dense_layers = ("fc",)

    def __init__(
        self,
        in_channels: int = 3,
        num_outputs: int = 37,
        image_size: int = 128,
        *,
        width: int = 64,
        depth: int | Sequence[int] = (2, 2, 2, 2),
        activation: str = "silu",
        stem_stride: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(in_channels, num_outputs, image_size)
        stages = [2] * depth if isinstance(depth, int) else [int(d) for d in depth]
        if not stages or min(stages) < 1:
            raise ParameterError("depth", depth, "needs at least one stage of >= 1 unit")
        if width < 1 or stem_stride < 1:
            raise ParameterError("width/stem_stride", (width, stem_stride), "must be >= 1")
        if not 0 <= dropout < 1:
            raise ParameterError("dropout", dropout, "must lie in [0, 1)")
        self.stem = nn.Conv2d(in_channels, width, 5, stride=stem_stride, padding=2, bias=False)
        names = ["stem"]
        channels = width
        for i, units in enumerate(stages, start=1):
            out = width * 2 ** (i - 1)
            blocks = [
                PreActBlock(
                    channels if j == 0 else out, out, 2 if (j == 0 and i > 1) else 1, activation
                )
                for j in range(units)
            ]
            setattr(self, f"stage{i}", nn.Sequential(*blocks))
            names.append(f"stage{i}")
            channels = out
        self.post = nn.Sequential(nn.BatchNorm2d(channels), _activation(activation))
        names.append("post")
        self.conv_layers = tuple(names)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_outputs)
        self._flat_features(nn.Sequential(*(getattr(self, n) for n in names)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.conv_layers:
            x = getattr(self, name)(x)  # (N, C_i, H_i, W_i)
        x = torch.flatten(self.avgpool(x), 1)  # (N, C)
        return self.fc(self.dropout(x))  # (N, num_outputs)


def _activation(name: str) -> nn.Module:
    return activation(name)
