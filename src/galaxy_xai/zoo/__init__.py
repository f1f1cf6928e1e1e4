"""Trained models that ship with galaxy-xai (the zoo), and the recipes that made them.

Load one by name, predict, explain or fine-tune it as any trained run::

    from galaxy_xai import zoo
    zoo.names()                        # ['bar-sdss', 'gz1-morphology', ...]
    trained = zoo.load("gz1-morphology")
    zoo.card("gz1-morphology")["test_metrics"]["accuracy"]

On the command line, ``zoo:NAME`` goes wherever a run folder does (``--model
zoo:gz1-morphology``, ``train --transfer-from zoo:gz1-morphology``). Shipped models are
package data; ``galaxy-xai models install`` adds others to the user model folder
(:func:`galaxy_xai.models.shipped.user_models_dir`). Every load checks the weights'
sha256 against the card and the model file, and reads nothing but tensors and JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from galaxy_xai.models.shipped import (
    ZOO_PREFIX,
    is_zoo_name,
    model_names,
    read_card,
    shipped_dir,
    user_models_dir,
    zoo_model_dir,
)

if TYPE_CHECKING:
    from galaxy_xai.train.io import TrainedModel

__all__ = [
    "ZOO_PREFIX",
    "card",
    "is_zoo_name",
    "load",
    "names",
    "path",
    "shipped_dir",
    "user_models_dir",
]


def names() -> list[str]:
    """Names of every shipped and installed model, sorted."""
    return list(model_names())


def path(name: str) -> Path:
    """The folder of model ``name`` (``"bar-sdss"`` or ``"zoo:bar-sdss"``), card checked.

    Raises
    ------
    DataMissingError
        If there is no such model (the message lists the known ones).
    ModelMismatchError
        If its card does not match its weights.
    """
    return zoo_model_dir(name)


def card(name: str) -> dict[str, Any]:
    """The model card of ``name`` (see :func:`path` for the errors)."""
    return read_card(path(name))


def load(name: str) -> TrainedModel:
    """Model ``name`` loaded for prediction, explanation or fine-tuning.

    Returns
    -------
    galaxy_xai.train.TrainedModel
        In eval mode on the CPU; ``split`` holds the ids it was trained and tested on.
    """
    from galaxy_xai.train.io import load_trained

    bare = name[len(ZOO_PREFIX) :] if is_zoo_name(name) else name
    return load_trained(ZOO_PREFIX + bare)
