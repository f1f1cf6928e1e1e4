"""Shared pieces of the architectures: the common base class and TF-style 'same' layers."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from galaxy_xai.errors import ModelMismatchError, ParameterError

__all__ = ["ACTIVATIONS", "Conv2dSame", "GalaxyNet", "MaxPool2dSame", "activation"]

#: Activation names accepted by the configurable families.
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "swish": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (``relu``, ``silu``/``swish``, ``gelu``, ``tanh``).

    Raises
    ------
    ParameterError
        If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ParameterError("activation", name, f"must be one of {sorted(ACTIVATIONS)}") from None


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) for one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow 'SAME' padding (output = ceil(input / stride)).

    GaMorNet was written in TFLearn, whose layers pad 'same' by default, also for
    strided convolutions, which ``padding="same"`` in PyTorch does not allow.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ph = _same_pad(x.shape[-2], self.kernel_size[0], self.stride[0])
        pw = _same_pad(x.shape[-1], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, (*pw, *ph)))


class MaxPool2dSame(nn.MaxPool2d):
    """``nn.MaxPool2d`` with TensorFlow 'SAME' padding (pads with -inf)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = int(self.kernel_size), int(self.stride)  # type: ignore[arg-type]
        ph = _same_pad(x.shape[-2], k, s)
        pw = _same_pad(x.shape[-1], k, s)
        return super().forward(F.pad(x, (*pw, *ph), value=float("-inf")))


class GalaxyNet(nn.Module):
    """Base of every galaxy-xai architecture.

    Subclasses map ``(N, C, H, W)`` images to ``(N, num_outputs)`` raw outputs and
    declare, by top-level attribute name, their convolutional layers (``conv_layers``)
    and dense layers (``dense_layers``), in order: transfer learning selects layers by
    these names or by their index in :meth:`layer_names`. ``gradcam_layer`` is the last
    convolutional block (for Grad-CAM).

    Attributes
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` the network was built for.
    num_outputs : int
    conv_layers, dense_layers : tuple of str

    Raises
    ------
    ParameterError
        If ``in_channels`` or ``num_outputs`` is not an integer >= 1, or ``image_size``
        not an integer >= 4.
    """

    conv_layers: tuple[str, ...] = ()
    dense_layers: tuple[str, ...] = ()

    def __init__(self, in_channels: int, num_outputs: int, image_size: int) -> None:
        super().__init__()
        for name, value, low in (
            ("in_channels", in_channels, 1),
            ("num_outputs", num_outputs, 1),
            ("image_size", image_size, 4),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(name, value, f"must be an integer >= {low}")
        self.input_shape = (int(in_channels), int(image_size), int(image_size))
        self.num_outputs = int(num_outputs)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last convolutional block, whose activations Grad-CAM weights."""
        return getattr(self, self.conv_layers[-1])

    def layer_names(self) -> list[str]:
        """Convolutional then dense layer names, in forward order (index = position)."""
        return [*self.conv_layers, *self.dense_layers]

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`ModelMismatchError` if ``x`` is not ``(N, C, H, W)`` as built.

        Raises
        ------
        ModelMismatchError
            If ``x`` is not 4-D with the ``(C, H, W)`` of :attr:`input_shape`.
        """
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ModelMismatchError(
                f"{type(self).__name__} was built for images (N, {', '.join(map(str, self.input_shape))})"
                f" but got {tuple(x.shape)}"
            )

    def _flat_features(self, features: nn.Module) -> int:
        """Number of features ``features`` gives for one image of ``input_shape``."""
        with torch.no_grad():
            try:
                out = features(torch.zeros(1, *self.input_shape))
            except RuntimeError as exc:
                raise ParameterError(
                    "image_size",
                    self.input_shape[-1],
                    f"is too small for {type(self).__name__} ({exc})",
                ) from exc
        return int(out.numel())
