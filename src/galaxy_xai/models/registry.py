"""The model registry: build any architecture by name with the same keyword signature."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.names import ARCHITECTURES

__all__ = ["available_models", "build_from_spec", "build_model", "register_model"]

# name -> "module:Class" (imported on first use) or a callable registered at run time
_REGISTRY: dict[str, str | Callable[..., nn.Module]] = dict(ARCHITECTURES)


def register_model(name: str, factory: Callable[..., nn.Module]) -> None:
    """Add an architecture: ``factory(in_channels, num_outputs, image_size, **kwargs)``."""
    _REGISTRY[name.lower()] = factory


def available_models() -> list[str]:
    """Names accepted by :func:`build_model`."""
    return sorted(_REGISTRY)


def _resolve(name: str) -> Callable[..., nn.Module]:
    entry = _REGISTRY[name]
    if not isinstance(entry, str):
        return entry
    module_name, attr = entry.split(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ParameterError("model", name, f"is registered but cannot be imported: {exc}") from exc


def build_model(
    name: str, *, in_channels: int, num_outputs: int, image_size: int, **kwargs: Any
) -> nn.Module:
    """Build the architecture ``name`` for ``(N, in_channels, image_size, image_size)`` inputs.

    Parameters
    ----------
    name
        One of :func:`available_models` (``gamornet``, ``vgg``, ``resnet``, ``compact``,
        ``convnet``).
    in_channels
        Image channels.
    num_outputs
        Width of the raw outputs (classes, Galaxy Zoo answers, regressed quantities).
    image_size
        Input height = width, in pixels.
    **kwargs
        Architecture options (e.g. ``width``, ``depth``, ``dropout``).

    Returns
    -------
    torch.nn.Module
        Maps ``(N, C, H, W)`` to ``(N, num_outputs)`` raw outputs. It carries
        ``build_spec`` (the arguments that rebuild it, saved in checkpoints) and
        ``input_shape``.

    Raises
    ------
    ParameterError
        For an unknown name or an option the architecture does not take.
    """
    key = str(name).lower()
    if key not in _REGISTRY:
        raise ParameterError("model", name, f"must be one of {', '.join(available_models())}")
    factory = _resolve(key)
    try:  # positional: the distillation ConvNet calls its second argument num_classes
        model = factory(in_channels, num_outputs, image_size, **kwargs)
    except TypeError as exc:
        raise ParameterError("model kwargs", kwargs, f"not accepted by '{key}': {exc}") from exc
    model.build_spec = {  # type: ignore[assignment]
        "name": key,
        "in_channels": int(in_channels),
        "num_outputs": int(num_outputs),
        "image_size": int(image_size),
        "kwargs": dict(kwargs),
    }
    if not hasattr(model, "input_shape"):
        model.input_shape = (int(in_channels), int(image_size), int(image_size))  # type: ignore[assignment]
    return model


def build_from_spec(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a model from its ``build_spec`` (as saved in checkpoints)."""
    return build_model(
        spec["name"],
        in_channels=spec["in_channels"],
        num_outputs=spec["num_outputs"],
        image_size=spec["image_size"],
        **spec.get("kwargs", {}),
    )
