"""Run folders and trained models: ``RUN/model.pt`` and :func:`load_trained`.

``model.pt`` carries its own config (nanoGPT style): the architecture's build spec,
the head (task, output names, class weights, regression scaling), the input shape, the
resolved training config and the package version, beside the weights.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from galaxy_xai.errors import DataMissingError, ModelMismatchError
from galaxy_xai.io import atomic_output
from galaxy_xai.models.heads import Head, RegressionHead, build_head
from galaxy_xai.models.registry import build_from_spec
from galaxy_xai.train.config import TrainConfig, load_train_config

__all__ = ["MODEL_FORMAT", "TrainedModel", "load_trained", "save_trained"]

MODEL_FORMAT = "galaxy-xai-model"


@dataclass
class TrainedModel:
    """A trained network with everything needed to use it.

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
    config : TrainConfig
        The resolved training config.
    split : dict of str to list of str, or None
        Catalogue ids per split part (``train``/``val``/``test``) of the training run.
    path : Path
        Where it was loaded from.
    version : str
        galaxy-xai version that trained it.
    """

    model: nn.Module
    head: Head
    output_names: list[str]
    task: str
    input_shape: tuple[int, int, int]
    config: TrainConfig
    split: dict[str, list[str]] | None
    path: Path
    version: str = ""

    @torch.no_grad()
    def predict_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Predictions ``(N, K)`` (probabilities, fractions or values) of a batch."""
        return self.head.predict(self.model(images))


def _head_spec(head: Head) -> dict[str, Any]:
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


def save_trained(
    path: str | os.PathLike[str],
    model: nn.Module,
    head: Head,
    *,
    output_names: list[str],
    config: TrainConfig,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.pt`` (weights plus their own config) atomically."""
    from galaxy_xai import __version__
    from galaxy_xai.config import config_to_dict

    payload = {
        "format": MODEL_FORMAT,
        "galaxy_xai_version": __version__,
        "build_spec": model.build_spec,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "head": _head_spec(head),
        "task": head.task,
        "output_names": list(output_names),
        # set by build_model; torch types dynamic Module attributes as Tensor | Module
        "input_shape": list(cast("tuple[int, ...]", model.input_shape)),
        "config": config_to_dict(config),
        **(extra or {}),
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def _head_from_spec(spec: dict[str, Any]) -> Head:
    return build_head(
        spec["task"],
        spec["num_outputs"],
        class_weights=spec.get("class_weights"),
        groups=spec.get("groups"),
        mean=spec.get("mean"),
        std=spec.get("std"),
    )


def load_trained(path: str | os.PathLike[str]) -> TrainedModel:
    """Load a trained model from a run folder, its ``model.pt`` or a Lightning ``.ckpt``.

    Raises
    ------
    DataMissingError
        If there is no model at ``path`` (a run folder without ``model.pt`` has not
        finished: resume it with ``galaxy-xai train --resume``).
    ModelMismatchError
        If the file is not a galaxy-xai model or its weights do not fit its architecture.
    """
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent
    if path.is_dir():
        if (path / "model.pt").is_file():
            path = path / "model.pt"
        elif (path / "checkpoints" / "last.ckpt").is_file():
            path = path / "checkpoints" / "last.ckpt"
        else:
            raise DataMissingError(
                f"run folder '{path}' holds no model.pt (training has not finished: "
                "rerun 'galaxy-xai train --resume')"
            )
    if not path.is_file():
        raise DataMissingError(f"trained model '{path}' does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ModelMismatchError(f"'{path}' is not a readable model file: {exc}") from exc
    if not isinstance(blob, dict):
        raise ModelMismatchError(f"'{path}' is not a galaxy-xai model")
    if blob.get("format") == MODEL_FORMAT:
        info, state = blob, blob["state_dict"]
    elif "galaxy_xai" in blob and "state_dict" in blob:  # Lightning checkpoint
        info = blob["galaxy_xai"]
        state = {k[6:]: v for k, v in blob["state_dict"].items() if k.startswith("model.")}
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    else:
        raise ModelMismatchError(f"'{path}' is not a galaxy-xai model (no architecture recorded)")
    model = build_from_spec(info["build_spec"])
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelMismatchError(
            f"weights in '{path}' do not fit architecture {info['build_spec']['name']!r}: {exc}"
        ) from exc
    model.eval()
    head = _head_from_spec(info["head"])
    head.eval()
    split = None
    split_file = run_dir / "split.json"
    if split_file.is_file():
        split = json.loads(split_file.read_text())
    return TrainedModel(
        model=model,
        head=head,
        output_names=list(info["output_names"]),
        task=info["task"],
        input_shape=tuple(info["input_shape"]),  # type: ignore[arg-type]
        config=load_train_config(info["config"]),
        split=split,
        path=path,
        version=str(info.get("galaxy_xai_version", "")),
    )
