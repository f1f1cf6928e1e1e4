"""Trained models with their training config: ``RUN/model.json`` + ``RUN/model.safetensors``.

The file format and the loading of the network, its head and outputs live in
:mod:`galaxy_xai.models.trained` (code that only uses a network loads it from there);
this module adds what belongs to training: the resolved :class:`TrainConfig` a model
records, written by :func:`save_trained` and parsed by :func:`load_trained`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from torch import nn

from galaxy_xai.models.files import MODEL_FORMAT
from galaxy_xai.models.heads import Head
from galaxy_xai.models.trained import LoadedModel, load_model, save_model
from galaxy_xai.train.config import TrainConfig, load_train_config

__all__ = ["MODEL_FORMAT", "TrainedModel", "load_trained", "save_trained"]


@dataclass(kw_only=True)
class TrainedModel(LoadedModel):
    """A trained network with everything needed to use it, and its training config.

    Attributes
    ----------
    config : TrainConfig
        The resolved training config.

    The other attributes are those of :class:`galaxy_xai.models.trained.LoadedModel`:
    ``model`` (eval mode, CPU), ``head``, ``output_names``, ``task``, ``input_shape``
    ``(C, H, W)``, ``split``, ``path``, ``version``, ``preprocessing`` and ``info``.
    """

    config: TrainConfig

    @classmethod
    def from_loaded(cls, loaded: LoadedModel) -> TrainedModel:
        """The same model with its recorded training config parsed.

        Raises
        ------
        ConfigError, ParameterError
            If the recorded config is not a valid training config.
        """
        config = load_train_config(loaded.info["config"])
        kept = {f.name: getattr(loaded, f.name) for f in fields(LoadedModel)}
        return cls(**kept, config=config)


def save_trained(
    path: str | os.PathLike[str],
    model: nn.Module,
    head: Head,
    *,
    output_names: list[str],
    config: TrainConfig,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` + ``model.json`` (weights plus their own config).

    Parameters
    ----------
    path
        The run folder, or the ``model.json`` path (see :func:`galaxy_xai.models.files.write_model`).
    model, head
        The network (with its ``build_spec`` and ``input_shape``) and its head.
    output_names
        One name per output.
    config
        The resolved training config.
    extra
        More JSON-ready fields (e.g. ``best_epoch``).

    Returns
    -------
    Path
        The ``model.json`` written.

    Raises
    ------
    AttributeError
        If the model has no build spec (see :func:`galaxy_xai.models.trained.save_model`).
    """
    from galaxy_xai.config import config_to_dict

    return save_model(
        path, model, head, output_names=output_names, config=config_to_dict(config), extra=extra
    )


def load_trained(path: str | os.PathLike[str], *, allow_unfinished: bool = False) -> TrainedModel:
    """Load a trained model: a run folder, ``model.json``, a Lightning ``.ckpt``, or ``model.pt``.

    :func:`galaxy_xai.models.trained.load_model`, with the training config parsed.

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
    ConfigError, ParameterError
        If its recorded training config is not valid.
    """
    return TrainedModel.from_loaded(load_model(path, allow_unfinished=allow_unfinished))
