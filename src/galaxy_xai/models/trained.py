"""Trained networks as files: :func:`save_model` and :func:`load_model`.

A saved model carries what it needs to be used (nanoGPT style): the architecture's
build spec, the head (task, output names, class weights, regression scaling), the input
shape and the package version, beside the weights (the file format itself is
:mod:`galaxy_xai.models.files`). The training config it records is kept as the plain
mapping it is stored as (``LoadedModel.info["config"]``): what it means belongs to
``galaxy_xai.train``, whose :func:`galaxy_xai.train.load_trained` returns the same model
with the config parsed. Code that only uses a trained network (attribution, feature
measurement, reports) loads it from here and does not depend on the training code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from galaxy_xai.errors import ModelMismatchError
from galaxy_xai.models.files import read_model, write_model
from galaxy_xai.models.heads import Head, RegressionHead, build_head
from galaxy_xai.models.registry import build_from_spec

__all__ = ["LoadedModel", "head_spec", "load_model", "model_info", "save_model"]


@dataclass
class LoadedModel:
    """A trained network read back from its files, with everything needed to use it.

    Attributes
    ----------
    model : nn.Module
        The network, in eval mode, on the CPU; maps ``(N, C, H, W)`` to raw outputs.
    head : Head
        Turns raw outputs into predictions (``head.predict``).
    output_names : list of str
        Class names, Galaxy Zoo answers or regressed columns, one per output.
    task : str
        ``"classification"``, ``"vote_fraction"``, ``"dirichlet"`` or ``"regression"``.
    input_shape : tuple of int
        ``(C, H, W)`` the network takes.
    split : dict of str to list of str, or None
        Catalogue ids per split part (``train``/``val``/``test``) of the training run.
    path : Path
        Where it was loaded from.
    version : str
        galaxy-xai version that trained it.
    preprocessing : dict
        How its input images were made (``data import`` options and framing), where the
        model records it (shipped models do); empty otherwise.
    info : dict
        The model's whole JSON description as read (its ``config`` field is the
        training config as a plain mapping).
    """

    model: nn.Module
    head: Head
    output_names: list[str]
    task: str
    input_shape: tuple[int, int, int]
    split: dict[str, list[str]] | None
    path: Path
    version: str = ""
    preprocessing: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def import_hint(self) -> str:
        """How to import data to fit this model, from its ``preprocessing`` (or '')."""
        command = self.preprocessing.get("import_command")
        return f"; import the images to fit: {command}" if isinstance(command, str) else ""

    @torch.no_grad()
    def predict_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Predictions ``(N, K)`` (probabilities, fractions or values) of a batch."""
        return self.head.predict(self.model(images))


def head_spec(head: Head) -> dict[str, Any]:
    """The JSON-ready description of a head that :func:`load_model` rebuilds it from."""
    spec: dict[str, Any] = {"task": head.task, "num_outputs": head.num_outputs}
    weights = getattr(head, "class_weights", None)
    if weights is not None:
        spec["class_weights"] = [float(w) for w in weights]
    if hasattr(head, "groups"):
        spec["groups"] = head.groups
    if head.task == "regression":
        # A regression head keeps ``mean``/``std`` as buffers (see RegressionHead).
        reg = cast(RegressionHead, head)
        spec["mean"] = [float(v) for v in reg.mean]
        spec["std"] = [float(v) for v in reg.std]
    return spec


def save_model(
    path: str | os.PathLike[str],
    model: nn.Module,
    head: Head,
    *,
    output_names: list[str],
    config: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` + ``model.json`` (weights plus their own description).

    Parameters
    ----------
    path
        The run folder, or the ``model.json`` path (see :func:`galaxy_xai.models.files.write_model`).
    model, head
        The network (with its ``build_spec`` and ``input_shape``) and its head.
    output_names
        One name per output.
    config
        The training config as a JSON-ready mapping (``galaxy_xai.train`` writes its
        resolved ``TrainConfig``; see :func:`galaxy_xai.config.config_to_dict`).
    extra
        More JSON-ready fields (e.g. ``best_epoch``), written after the ones above.

    Returns
    -------
    Path
        The ``model.json`` written.

    Raises
    ------
    AttributeError
        If the model has no ``build_spec`` or ``input_shape`` (it was not made by
        :func:`galaxy_xai.models.build_model`).
    """
    info = {**model_info(model, head, output_names, config), **(extra or {})}
    return write_model(path, model.state_dict(), info)


def model_info(
    model: nn.Module,
    head: Head,
    output_names: Sequence[str],
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """What a model file (and a training checkpoint) records about its network.

    Returns
    -------
    dict
        ``galaxy_xai_version``, ``build_spec``, ``head``, ``task``, ``output_names``,
        ``input_shape`` and ``config``, in that order.

    Raises
    ------
    AttributeError
        If the model has no ``build_spec`` or ``input_shape`` (it was not made by
        :func:`galaxy_xai.models.build_model`).
    """
    from galaxy_xai import __version__

    return {
        "galaxy_xai_version": __version__,
        "build_spec": model.build_spec,
        "head": head_spec(head),
        "task": head.task,
        "output_names": list(output_names),
        # set by build_model; torch types dynamic Module attributes as Tensor | Module
        "input_shape": list(cast("tuple[int, ...]", model.input_shape)),
        "config": dict(config),
    }


def _head_from_spec(spec: dict[str, Any]) -> Head:
    return build_head(
        spec["task"],
        spec["num_outputs"],
        class_weights=spec.get("class_weights"),
        groups=spec.get("groups"),
        mean=spec.get("mean"),
        std=spec.get("std"),
    )


def _check_input_shape(model: torch.nn.Module, input_shape: list[int], path: Path) -> None:
    """Refuse a model whose recorded input shape its network cannot take (one pass)."""
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    except (RuntimeError, ValueError) as exc:
        raise ModelMismatchError(
            f"model '{path}' records input shape {input_shape}, which its network cannot "
            f"take: {' '.join(str(exc).split())[:200]}"
        ) from None


def load_model(path: str | os.PathLike[str], *, allow_unfinished: bool = False) -> LoadedModel:
    """Load a trained model: a run folder, ``model.json``, a Lightning ``.ckpt``, or ``model.pt``.

    Nothing is unpickled (see :mod:`galaxy_xai.models.files`): weights come from
    safetensors, checkpoints and earlier versions' ``model.pt`` through a weights-only
    load.

    Parameters
    ----------
    path
        Run folder or model file.
    allow_unfinished
        Let a run folder without a finished model give its ``checkpoints/last.ckpt``
        (half-trained weights); otherwise such a folder is refused.

    Raises
    ------
    DataMissingError
        If there is no model at ``path``, or only an unfinished checkpoint and
        ``allow_unfinished`` is false.
    ModelMismatchError
        If the file is not a galaxy-xai model, is damaged or fails its checksum, or its
        weights do not fit its architecture.
    DataFormatError
        If the run's ``split.json`` is damaged.
    """
    # Imported here: the dataset package (pandas, h5py) is not needed to import models.
    from galaxy_xai.data.splits import read_split_file

    file = read_model(path, allow_unfinished=allow_unfinished)
    info = file.info
    try:
        model = build_from_spec(info["build_spec"])
        model.load_state_dict(file.state)
        head = _head_from_spec(info["head"])
    except (RuntimeError, KeyError, TypeError) as exc:
        name = info["build_spec"].get("name") if isinstance(info["build_spec"], dict) else None
        raise ModelMismatchError(
            f"weights in '{file.path}' do not fit architecture {name!r}: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from exc
    model.eval()
    head.eval()
    _check_input_shape(model, info["input_shape"], file.path)
    split = read_split_file(file.run_dir / "split.json")
    return LoadedModel(
        model=model,
        head=head,
        output_names=[str(n) for n in info["output_names"]],
        task=str(info["task"]),
        input_shape=tuple(int(v) for v in info["input_shape"]),  # type: ignore[arg-type]
        split=split,
        path=file.path,
        version=str(info.get("galaxy_xai_version", "")),
        preprocessing=dict(info.get("preprocessing") or {}),
        info=info,
    )
