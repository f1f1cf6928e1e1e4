"""Names that the command line and the library share, each table defined once here.

The ``commands`` modules build their ``choices`` and help text from these tables at
parser build time, so this module imports nothing (no torch, no numpy); the library
modules that act on the names import them from here:

- :data:`ARCHITECTURES`: architecture name -> ``"module:Class"``
  (:mod:`galaxy_xai.models.registry` builds its registry from it);
- :data:`IMPORT_FORMATS`: the catalogue formats of ``data import``
  (:data:`galaxy_xai.data.readers.READERS` has one reader per name);
- :data:`TRANSFER_PRESETS`: the transfer-learning presets of Ghosh et al. (2020)
  (:mod:`galaxy_xai.train.transfer`, ``TransferConfig.preset``).

- :data:`TASKS`: the training tasks (``--task``; :mod:`galaxy_xai.models.heads`).

Survey presets of the simulator are :data:`galaxy_xai.simulate.presets.PRESET_NAMES`
(the keys of its preset table, light to import).
"""

from __future__ import annotations

import typing
from typing import Literal

__all__ = ["ARCHITECTURES", "IMPORT_FORMATS", "TASKS", "TRANSFER_PRESETS", "Task", "TransferPreset"]

#: What a network learns: its head and loss (:mod:`galaxy_xai.models.heads`).
Task = Literal["classification", "vote_fraction", "dirichlet", "regression"]
TASKS: tuple[str, ...] = typing.get_args(Task)

#: Architecture name -> ``"module:Class"`` of the ``nn.Module`` (imported on first use).
ARCHITECTURES: dict[str, str] = {
    "gamornet": "galaxy_xai.models.gamornet:GaMorNet",
    "vgg": "galaxy_xai.models.vgg:VGG",
    "resnet": "galaxy_xai.models.resnet:ResNet",
    "compact": "galaxy_xai.models.compact:CompactCNN",
    "convnet": "galaxy_xai.models.convnet:ConvNet",  # the distillation ConvNet
}

#: Catalogue formats of ``galaxy-xai data import FORMAT`` (one reader each).
IMPORT_FORMATS: tuple[str, ...] = (
    "gz1",
    "gz2-kaggle",
    "gz2-kaggle-folders",
    "gz2-hart16",
    "gz-decals",
    "galaxy10",
    "galaxy-builder",
    "fits",
    "folder",
)

#: Transfer presets of Ghosh et al. (2020): which layers are loaded, re-initialised, frozen.
TransferPreset = Literal["sdss", "candels"]
TRANSFER_PRESETS: tuple[str, ...] = typing.get_args(TransferPreset)
