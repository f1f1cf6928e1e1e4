"""GaMorNet (Ghosh et al. 2020, ApJ 895, 112): the Galaxy Morphology Network.

An AlexNet-like network, reproduced layer by layer from the released TFLearn code
(``gamornet.tflearn_module``)::

    conv1  96 11x11 stride 4, ReLU -> max-pool 3/2 -> LRN
    conv2 256  5x5,          ReLU -> max-pool 3/2 -> LRN
    conv3 384  3x3, conv4 384 3x3, conv5 256 3x3 (ReLU) -> max-pool 3/2 -> LRN
    fc1 4096 tanh -> dropout 0.5 -> fc2 4096 tanh -> dropout 0.5 -> fc3 (3 classes)

All convolutions and pools pad 'same' as TFLearn does. The published inputs are
167x167x1 (SDSS) and 83x83x1 (CANDELS); other sizes work (the dense input adapts to the
feature-map size). ``width`` scales every layer for CPU-sized runs; the defaults are
the published sizes. The network returns logits: the softmax lives in the
classification head.
"""

from __future__ import annotations

import torch
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.models.base import Conv2dSame, GalaxyNet, MaxPool2dSame

__all__ = ["GaMorNet", "tflearn_init"]


def tflearn_init(module: nn.Module) -> None:
    """TFLearn's default initialisation, which the released GaMorNet code relies on.

    ``conv_2d``: ``uniform_scaling`` (uniform in +-sqrt(3 / fan_in)); ``fully_connected``:
    ``truncated_normal`` (std 0.02, cut at 2 std); biases zero. PyTorch's defaults give
    this ReLU/LRN/tanh network (no batch norm) activations so small that it hardly
    trains on dark, sky-dominated galaxy images.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            bound = (3.0 / fan_in) ** 0.5
            nn.init.uniform_(m.weight, -bound, bound)
        elif isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02, a=-0.04, b=0.04)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _lrn() -> nn.LocalResponseNorm:
    # TFLearn's local_response_normalization defaults: depth_radius=5, bias=1,
    # alpha=1e-4, beta=0.75 (per element); PyTorch's alpha is divided by the window.
    return nn.LocalResponseNorm(size=11, alpha=1e-4 * 11, beta=0.75, k=1.0)


class GaMorNet(GalaxyNet):
    """GaMorNet as published, with a width multiplier.

    Parameters
    ----------
    in_channels
        Image channels (1 in the paper).
    num_outputs
        Classes (3 in the paper: disk-dominated, indeterminate, bulge-dominated).
    image_size
        Input height = width in pixels (167 SDSS, 83 CANDELS).
    width
        Multiplier of every convolution's channel count (1.0 = 96/256/384/384/256).
    dense_units
        Units of the two hidden dense layers (4096 in the paper), also scaled by
        ``width``.
    dropout
        Dropout probability after each hidden dense layer (0.5 in the paper).
    input_scale
        Fixed factor the images are multiplied by before ``conv1`` (1.0 = as published).
        Sky-dominated 8-bit cutouts read back in [0, 1] have pixel standard deviations
        of ~0.1; a scale of ~8 brings them to unit variance, which makes training from
        scratch far less likely to stall on the majority class.

    Raises
    ------
    ParameterError
        If ``in_channels``, ``num_outputs`` or ``image_size`` is out of range (see
        :class:`GalaxyNet`), ``width`` or ``input_scale`` <= 0, ``dropout`` is not in
        [0, 1), or ``image_size`` is too small for the five convolutions and three pools.
    """

    conv_layers = ("conv1", "conv2", "conv3", "conv4", "conv5")
    dense_layers = ("fc1", "fc2", "fc3")

    def __init__(
        self,
        in_channels: int = 1,
        num_outputs: int = 3,
        image_size: int = 167,
        *,
        width: float = 1.0,
        dense_units: int = 4096,
        dropout: float = 0.5,
        input_scale: float = 1.0,
    ) -> None:
        super().__init__(in_channels, num_outputs, image_size)
        if not width > 0:
            raise ParameterError("width", width, "must be > 0")
        if not input_scale > 0:
            raise ParameterError("input_scale", input_scale, "must be > 0")
        self.input_scale = float(input_scale)
        if not 0 <= dropout < 1:
            raise ParameterError("dropout", dropout, "must lie in [0, 1)")
        c = [max(1, round(n * width)) for n in (96, 256, 384, 384, 256)]
        units = max(1, round(dense_units * width))
        relu = nn.ReLU
        self.conv1 = nn.Sequential(Conv2dSame(in_channels, c[0], 11, stride=4), relu())
        self.pool1, self.lrn1 = MaxPool2dSame(3, 2), _lrn()
        self.conv2 = nn.Sequential(Conv2dSame(c[0], c[1], 5), relu())
        self.pool2, self.lrn2 = MaxPool2dSame(3, 2), _lrn()
        self.conv3 = nn.Sequential(Conv2dSame(c[1], c[2], 3), relu())
        self.conv4 = nn.Sequential(Conv2dSame(c[2], c[3], 3), relu())
        self.conv5 = nn.Sequential(Conv2dSame(c[3], c[4], 3), relu())
        self.pool3, self.lrn3 = MaxPool2dSame(3, 2), _lrn()
        n_flat = self._flat_features(self.features_module())
        self.fc1 = nn.Linear(n_flat, units)
        self.act1, self.dropout1 = nn.Tanh(), nn.Dropout(dropout)
        self.fc2 = nn.Linear(units, units)
        self.act2, self.dropout2 = nn.Tanh(), nn.Dropout(dropout)
        self.fc3 = nn.Linear(units, num_outputs)
        tflearn_init(self)

    def reset_layer(self, name: str) -> None:
        """Give layer ``name`` fresh weights (TFLearn's initialisation, as at build)."""
        tflearn_init(getattr(self, name))

    def features_module(self) -> nn.Sequential:
        """The convolutional part as one ``nn.Sequential`` (shares the layers)."""
        return nn.Sequential(
            self.conv1, self.pool1, self.lrn1,
            self.conv2, self.pool2, self.lrn2,
            self.conv3, self.conv4, self.conv5, self.pool3, self.lrn3,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_scale != 1.0:
            x = x * self.input_scale
        x = self.lrn1(self.pool1(self.conv1(x)))  # (N, 96w, H/8, W/8)
        x = self.lrn2(self.pool2(self.conv2(x)))  # (N, 256w, H/16, W/16)
        x = self.lrn3(self.pool3(self.conv5(self.conv4(self.conv3(x)))))  # (N, 256w, H/32, W/32)
        x = self.dropout1(self.act1(self.fc1(torch.flatten(x, 1))))
        x = self.dropout2(self.act2(self.fc2(x)))
        return self.fc3(x)  # (N, num_outputs) logits
