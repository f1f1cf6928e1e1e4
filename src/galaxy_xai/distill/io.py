"""Distilled sets on disk: tensors plus everything needed to use them again.

``distilled.pt`` (``torch.save`` of plain tensors and JSON-like values, loadable with
``weights_only=True``) holds:

- ``images``: ``(K * ipc, C, H, W)`` float32 in the network's input space
  (normalised with the training mean/std, ZCA-whitened if the buffer was);
- ``labels``: ``(K * ipc,)`` int64; ``syn_lr``: the learnt learning rate (float);
- ``class_names``, ``ipc``, ``image_shape``, ``model`` (ConvNet settings),
  ``normalisation`` (mean, std per channel), ``zca`` (path of the buffer's transform
  or None), ``buffer`` (path), ``split`` (ids per part), ``teacher`` (settings),
  ``iteration`` and ``method``.

:func:`pixel_images` turns the tensors back into pixel values for figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from galaxy_xai.errors import DataMissingError, ModelMismatchError
from galaxy_xai.io import atomic_output
from galaxy_xai.models.files import safe_torch_load

__all__ = ["DistilledSet", "load_distilled", "save_distilled"]

DISTILLED_FORMAT = "galaxy-xai-distilled"


@dataclass
class DistilledSet:
    """A distilled set read by :func:`load_distilled` (see the module doc)."""

    images: torch.Tensor
    labels: torch.Tensor
    syn_lr: float
    meta: dict[str, Any]

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def ipc(self) -> int:
        return int(self.meta["ipc"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def zca(self) -> Any:
        """The ZCA transform the images live in, or None.

        Raises
        ------
        DataMissingError
            If the set was distilled in ZCA space but its ZCA file is missing.
        """
        from galaxy_xai.distill.zca import ZCA

        path = self.meta.get("zca")
        if not path:
            return None
        if not Path(path).is_file():
            raise DataMissingError(f"ZCA transform '{path}' of this distilled set is missing")
        return ZCA.load(path)

    def pixel_images(self) -> torch.Tensor:
        """Images back in the dataset's pixel units: inverse ZCA, then un-normalise."""
        x = self.images.detach().clone()
        zca = self.zca()
        if zca is not None:
            x = zca.invert(x)
        mean = torch.tensor(self.meta["normalisation"]["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(self.meta["normalisation"]["std"]).view(1, -1, 1, 1)
        return x * std + mean


def save_distilled(
    path: str | os.PathLike[str],
    images: torch.Tensor,
    labels: torch.Tensor,
    syn_lr: float,
    meta: dict[str, Any],
) -> Path:
    """Write a distilled set atomically (see the module doc for ``meta``)."""
    payload = {
        "format": DISTILLED_FORMAT,
        "images": images.detach().cpu().float().clone(),
        "labels": labels.detach().cpu().long().clone(),
        "syn_lr": float(syn_lr),
        "meta": meta,
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_distilled(path: str | os.PathLike[str]) -> DistilledSet:
    """Read ``distilled.pt`` (or the ``distilled.pt`` inside a run folder).

    Raises
    ------
    DataMissingError
        If there is no such file (the message mentions a checkpoint if one exists).
    ModelMismatchError
        If the file is not a galaxy-xai distilled set.
    """
    path = Path(path)
    if path.is_dir():
        folder, path = path, path / "distilled.pt"
        if not path.is_file():
            hint = (
                "; the run has a checkpoint: finish it with 'galaxy-xai distill run --resume'"
                if (folder / "checkpoint.pt").is_file()
                else ""
            )
            raise DataMissingError(f"'{folder}' holds no distilled.pt{hint}")
    if not path.is_file():
        raise DataMissingError(f"distilled set '{path}' does not exist")
    payload = safe_torch_load(path, what="distilled set")
    if not isinstance(payload, dict) or payload.get("format") != DISTILLED_FORMAT:
        raise ModelMismatchError(f"'{path}' is not a galaxy-xai distilled set")
    return DistilledSet(payload["images"], payload["labels"], payload["syn_lr"], payload["meta"])
