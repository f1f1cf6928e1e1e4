"""Transfer learning, the GaMorNet protocol: load weights, re-initialise, freeze, lower LR.

Ghosh et al. (2020, ApJ 895, 112, sec. 4) trained GaMorNet on simulations and then
fine-tuned on real images:

- ``sdss``: load all convolutional layers, re-initialise the three dense layers,
  train everything;
- ``candels``: load the convolutional layers and the first dense layer, re-initialise
  the other two, freeze convolutional layers 1-3.

Presets are defined on the model's ordered ``conv_layers`` and ``dense_layers``, so
they apply to every architecture; explicit layer selections take names (``fc1``),
globs (``conv*``), indices into ``layer_names()`` (``0``, ``-1``) or the groups
``conv`` and ``dense``.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.models.files import read_model
from galaxy_xai.names import TRANSFER_PRESETS

__all__ = [
    "PRESETS",
    "TransferReport",
    "apply_transfer",
    "layer_groups",
    "load_source_weights",
    "preset_layers",
    "resolve_layers",
]

log = logging.getLogger(__name__)

#: Transfer presets of Ghosh et al. (2020) (defined in :mod:`galaxy_xai.names`).
PRESETS = TRANSFER_PRESETS


def layer_groups(model: nn.Module) -> tuple[list[str], list[str]]:
    """Ordered (convolutional, dense) top-level layer names of ``model``.

    Uses the model's ``conv_layers``/``dense_layers`` when it declares them; otherwise
    classifies its top-level children with parameters by whether they contain a
    convolution (e.g. the distillation ConvNet's ``features`` and ``classifier``).
    """
    conv = list(getattr(model, "conv_layers", ()) or ())
    dense = list(getattr(model, "dense_layers", ()) or ())
    if conv or dense:
        return conv, dense
    children = list(model.named_children())
    for name, child in children:
        if not any(True for _ in child.parameters()):
            continue
        aliased = any(  # an alias of a sub-module of another layer (e.g. gradcam_layer)
            other is not child and any(m is child for m in other.modules()) for _, other in children
        )
        if aliased:
            continue
        has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in child.modules())
        (conv if has_conv else dense).append(name)
    return conv, dense


def resolve_layers(model: nn.Module, selectors: Iterable[str | int]) -> list[str]:
    """Top-level layer names chosen by names, globs, indices or ``conv``/``dense``.

    Raises
    ------
    ParameterError
        If a selector matches no layer (the message lists the layers).
    """
    conv, dense = layer_groups(model)
    names = conv + dense
    chosen: list[str] = []
    for sel in selectors:
        text = str(sel).strip()
        if text in ("conv", "dense"):
            matched = conv if text == "conv" else dense
        elif text.lstrip("-").isdigit():
            i = int(text)
            if not -len(names) <= i < len(names):
                raise ParameterError("layer", sel, f"index outside the {len(names)} layers {names}")
            matched = [names[i]]
        else:
            matched = [n for n in names if fnmatch.fnmatchcase(n, text)]
        if not matched:
            raise ParameterError(
                "layer", sel, f"matches no layer of {type(model).__name__} (layers: {names})"
            )
        chosen += [m for m in matched if m not in chosen]
    return chosen


def preset_layers(model: nn.Module, preset: str) -> dict[str, list[str]]:
    """``load``/``reinit``/``freeze`` layer lists of a preset for ``model``.

    Raises
    ------
    ParameterError
        If ``preset`` is not one of :data:`PRESETS`.
    """
    conv, dense = layer_groups(model)
    if preset == "sdss":
        return {"load": conv, "reinit": dense, "freeze": []}
    if preset == "candels":
        keep = dense[:1] if len(dense) > 1 else []  # the output layer is always new
        return {"load": conv + keep, "reinit": dense[len(keep) :], "freeze": conv[:3]}
    raise ParameterError("transfer.preset", preset, f"must be one of {', '.join(PRESETS)}")


def load_source_weights(checkpoint: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """State dict and architecture spec of a run folder, ``model.json``, ``model.pt`` or ``.ckpt``.

    Read without unpickling (see :func:`galaxy_xai.models.files.read_model`). A run
    folder must hold a finished model; name its ``checkpoints/last.ckpt`` to start from
    an unfinished one.

    Raises
    ------
    DataMissingError
        If nothing is found at ``checkpoint``, or the run has not finished.
    ModelMismatchError
        If the file holds no galaxy-xai model weights, is damaged or fails its checksum.
    """
    model = read_model(checkpoint)
    return dict(model.state), dict(model.info["build_spec"])


@dataclass
class TransferReport:
    """What :func:`apply_transfer` did (layer names)."""

    loaded: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)
    source_architecture: str = ""


def _reset(module: nn.Module) -> None:
    for m in module.modules():
        if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
            m.reset_parameters()


def apply_transfer(
    model: nn.Module,
    checkpoint: str | Path,
    *,
    preset: str | None = None,
    load: Iterable[str | int] = (),
    reinit: Iterable[str | int] = (),
    freeze: Iterable[str | int] = (),
) -> TransferReport:
    """Initialise ``model`` from ``checkpoint`` following a preset or explicit layer lists.

    Parameters
    ----------
    model
        The network to fine-tune (built for the new data; it may have another number
        of outputs, as long as the layers that change are re-initialised).
    checkpoint
        Run folder, ``model.json`` or Lightning ``.ckpt`` of the pre-trained network.
    preset
        ``"sdss"`` or ``"candels"`` (see module doc); explicit lists extend it.
    load, reinit, freeze
        Layer selectors. With neither a preset nor ``load``, every layer not
        re-initialised is loaded.

    Raises
    ------
    ModelMismatchError
        If the checkpoint is from another architecture, or a loaded layer is missing
        from it or has other shapes (the message names the layer and both shapes).
    """
    state, spec = load_source_weights(checkpoint)
    target_name = getattr(model, "build_spec", {}).get("name")
    source_name = spec.get("name")
    if source_name and target_name and source_name != target_name:
        raise ModelMismatchError(
            f"transfer checkpoint '{checkpoint}' is a '{source_name}' network, "
            f"it cannot initialise a '{target_name}' network"
        )
    plan = preset_layers(model, preset) if preset else {"load": [], "reinit": [], "freeze": []}
    reinit_names = list(dict.fromkeys(plan["reinit"] + resolve_layers(model, reinit)))
    load_names = list(dict.fromkeys(plan["load"] + resolve_layers(model, load)))
    if not load_names:
        conv, dense = layer_groups(model)
        load_names = [n for n in conv + dense if n not in reinit_names]
    load_names = [n for n in load_names if n not in reinit_names]
    freeze_names = list(dict.fromkeys(plan["freeze"] + resolve_layers(model, freeze)))

    own = model.state_dict()
    new_state: dict[str, torch.Tensor] = {}
    for layer in load_names:
        keys = [k for k in own if k.startswith(layer + ".")]
        for key in keys:
            if key not in state:
                raise ModelMismatchError(
                    f"transfer checkpoint '{checkpoint}' ({source_name or 'unknown architecture'}) "
                    f"has no weights '{key}' for layer '{layer}'"
                )
            if tuple(state[key].shape) != tuple(own[key].shape):
                raise ModelMismatchError(
                    f"layer '{layer}': checkpoint '{checkpoint}' has '{key}' of shape "
                    f"{tuple(state[key].shape)} but the model needs {tuple(own[key].shape)} "
                    "(another width, channel count or image size?); re-initialise it instead"
                )
            new_state[key] = state[key]
    model.load_state_dict(new_state, strict=False)
    reset_layer = getattr(model, "reset_layer", None)
    for layer in reinit_names:
        if callable(reset_layer):  # the architecture's own init
            reset_layer(layer)
        else:
            _reset(getattr(model, layer))
    for layer in freeze_names:
        for p in getattr(model, layer).parameters():
            p.requires_grad_(False)
    report = TransferReport(load_names, reinit_names, freeze_names, source_name or "")
    log.info(
        "transfer from %s: loaded %s, re-initialised %s, frozen %s",
        checkpoint, load_names, reinit_names, freeze_names,
    )  # fmt: skip
    return report
