"""The training configuration: frozen dataclasses with every default in one place.

Load one from YAML/TOML with :func:`load_train_config` (unknown keys are rejected);
``galaxy-xai train`` saves the resolved config with the package version as
``RUN/config.yaml`` and inside every checkpoint. Example ``train.yaml``::

    task: classification
    data:
      path: gz1.h5
      target: label
      class_map: {0: elliptical, 1: spiral, 2: spiral, 3: edge-on, 4: null, 5: merger}
    model: {name: compact, kwargs: {width: 16}}
    optim: {name: adamw, lr: 0.002, schedule: cosine, class_weighting: balanced}
    trainer: {max_epochs: 20, batch_size: 64}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from galaxy_xai.config import load_config
from galaxy_xai.errors import ParameterError
from galaxy_xai.names import TASKS, Task, TransferPreset

__all__ = [
    "TASKS",
    "AugmentConfig",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "TrainerConfig",
    "TransferConfig",
    "load_train_config",
]


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, which target, and how it is split.

    Raises
    ------
    ParameterError
        If ``train_fraction``, ``val_fraction`` or ``test_fraction`` is negative, they do
        not sum to 1, ``train_fraction`` is 0, or ``class_map`` is given but is not a
        non-empty mapping.
    """

    path: str = ""  # dataset file written by `data import` or `simulate`
    target: str | tuple[str, ...] = "label"  # catalogue column(s) to learn
    # source label value -> class name; null drops the value; values not listed are an
    # error. None: classes are the dataset's label_names (or the sorted unique values).
    class_map: dict[str, str | None] | None = None
    output_names: tuple[str, ...] = ()  # names of the outputs (default: class / column names)
    question_groups: tuple[tuple[str, ...], ...] = ()  # dirichlet: answer columns per question
    train_fraction: float = 0.7
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0  # splits depend only on (split_seed, id)
    in_memory: Literal["auto", "always", "never"] = "auto"  # auto: cache if < 2 GiB
    num_workers: int = 0  # DataLoader workers (0 = main process; best on small CPUs)

    def __post_init__(self) -> None:
        fractions = (self.train_fraction, self.val_fraction, self.test_fraction)
        if min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
            raise ParameterError(
                "data.train/val/test_fraction", fractions, "must be >= 0 and sum to 1"
            )
        if self.train_fraction <= 0:
            raise ParameterError("data.train_fraction", self.train_fraction, "must be > 0")
        if self.class_map is not None:
            if not isinstance(self.class_map, Mapping) or not self.class_map:
                raise ParameterError(
                    "data.class_map", self.class_map, "must be a non-empty mapping"
                )
            clean = {}
            for key, value in self.class_map.items():
                k = str(int(key)) if isinstance(key, float) and key == int(key) else str(key)
                clean[k] = None if value is None else str(value)
            object.__setattr__(self, "class_map", clean)
        if isinstance(self.target, list):
            object.__setattr__(self, "target", tuple(self.target))

    @property
    def target_columns(self) -> list[str]:
        """The target as a list of column names."""
        return [self.target] if isinstance(self.target, str) else list(self.target)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture (see ``galaxy_xai.models.available_models()``) and its options."""

    name: str = "compact"  # fast CPU default; "gamornet", "vgg", "resnet", "convnet"
    kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {width: 0.25} for gamornet


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser, learning-rate schedule and loss weighting.

    Raises
    ------
    ParameterError
        If ``lr`` <= 0 or ``weight_decay`` < 0.
    """

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3  # GaMorNet used 1e-4 (SGD/momentum); 1e-3 suits Adam from scratch
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    schedule: Literal["none", "plateau", "cosine"] = "plateau"
    plateau_patience: int = 2  # epochs without val-loss improvement before lr *= factor
    plateau_factor: float = 0.5
    class_weighting: Literal["none", "balanced", "sqrt"] = "none"  # rare classes (mergers)

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ParameterError("optim.lr", self.lr, "must be > 0")
        if self.weight_decay < 0:
            raise ParameterError("optim.weight_decay", self.weight_decay, "must be >= 0")


@dataclass(frozen=True)
class AugmentConfig:
    """On-the-fly kornia augmentation of training batches (Bhambra et al. 2022's set).

    Raises
    ------
    ParameterError
        If ``centre_mask_probability`` is not in [0, 1], or ``centre_mask_radius`` is
        not ``(low, high)`` with 0 < low <= high < 0.5.
    """

    enabled: bool = True
    rotation_degrees: float = 180.0  # rotations by any angle in [-d, d]
    flips: bool = True  # horizontal and vertical
    shift_fraction: float = 0.05  # translations up to this fraction of the image side
    brightness: float = 0.1  # additive brightness change up to +-this (image units)
    scale: tuple[float, float] = (1.0, 1.0)  # zoom range (1, 1) = none
    # centre masking: with this probability per image, a central disc (radius drawn
    # from centre_mask_radius, as fractions of the image side) is replaced by the mean
    # of the ring around it, so the network must also learn a structure (a bar) from
    # its outer parts; see galaxy_xai.train.augment.CentreMask. 0 = off.
    centre_mask_probability: float = 0.0
    centre_mask_radius: tuple[float, float] = (0.05, 0.22)

    def __post_init__(self) -> None:
        if not 0.0 <= self.centre_mask_probability <= 1.0:
            raise ParameterError(
                "augment.centre_mask_probability", self.centre_mask_probability,
                "must be in [0, 1]",
            )  # fmt: skip
        low, high = self.centre_mask_radius
        if not 0.0 < low <= high < 0.5:
            raise ParameterError(
                "augment.centre_mask_radius", self.centre_mask_radius,
                "must be (low, high) with 0 < low <= high < 0.5 (fractions of the image side)",
            )  # fmt: skip


@dataclass(frozen=True)
class TrainerConfig:
    """Options passed to the Lightning ``Trainer``.

    Raises
    ------
    ParameterError
        If ``max_epochs``, ``batch_size`` or ``num_nodes`` < 1, ``max_time_s`` is given
        and <= 0, or ``patience`` < 0.
    """

    max_epochs: int = 10
    batch_size: int = 32
    patience: int = 5  # early stopping on val loss (0 = off)
    precision: str = "32-true"  # "16-mixed", "bf16-mixed", ...
    accelerator: str = "auto"  # "cpu", "gpu", "auto"
    devices: int | str = 1  # int or "auto"
    strategy: str = "auto"  # "ddp", "ddp_spawn", ...
    num_nodes: int = 1
    deterministic: bool = False
    gradient_clip_val: float = 0.0  # 0 = no clipping
    log_every_n_steps: int = 10
    # wall-clock limit of fitting (s), checked after every step (Lightning's max_time);
    # the best checkpoint so far is used. None = no limit.
    max_time_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_epochs", "batch_size", "num_nodes"):
            if getattr(self, name) < 1:
                raise ParameterError(f"trainer.{name}", getattr(self, name), "must be >= 1")
        if self.max_time_s is not None and not self.max_time_s > 0:
            raise ParameterError("trainer.max_time_s", self.max_time_s, "must be > 0 (or null)")
        if self.patience < 0:
            raise ParameterError("trainer.patience", self.patience, "must be >= 0")


@dataclass(frozen=True)
class TransferConfig:
    """Transfer learning (Ghosh et al. 2020 protocol): load, re-initialise, freeze.

    Layers are named by attribute (``conv1``, ``fc2``), by glob (``conv*``), by index in
    the model's ``layer_names()`` (``0``, ``-1``), or by group (``conv``, ``dense``).

    Raises
    ------
    ParameterError
        If ``lr_scale`` <= 0.
    """

    checkpoint: str | None = None  # RUN, model.json or a Lightning .ckpt
    preset: TransferPreset | None = None  # fills load/reinit/freeze
    load: tuple[str, ...] = ()  # layers to load (default: all that are not re-initialised)
    reinit: tuple[str, ...] = ()  # layers given fresh weights
    freeze: tuple[str, ...] = ()  # layers not trained
    lr_scale: float = 0.1  # learning rate multiplied by this when fine-tuning

    def __post_init__(self) -> None:
        if not self.lr_scale > 0:
            raise ParameterError("transfer.lr_scale", self.lr_scale, "must be > 0")
        for name in ("load", "reinit", "freeze"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(str(v) for v in value))


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``galaxy-xai train`` needs; saved with every run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    task: Task = "classification"
    seed: int = 0  # weights, augmentation and batch order

    def with_overrides(self, **sections: object) -> TrainConfig:
        """A copy with some fields of some sections replaced, e.g. ``trainer={"max_epochs": 2}``.

        ``None`` values are ignored; top-level scalars (``task``, ``seed``) go by name.
        """
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                clean = {k: v for k, v in value.items() if v is not None}
                if clean:
                    changes[name] = replace(getattr(self, name), **clean)
            else:
                changes[name] = value
        return replace(self, **changes)


def load_train_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | TrainConfig | None = None,
) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML/TOML file, a mapping, or defaults.

    A saved ``RUN/config.yaml`` (with its ``galaxy_xai_version`` wrapper) loads too.

    Raises
    ------
    ConfigError
        On an unknown key or a value of the wrong type; the message names it.
    """
    if isinstance(source, TrainConfig):
        return source
    data: Mapping[str, Any] | None
    if source is not None and not isinstance(source, Mapping):
        from galaxy_xai.config import read_config_file

        data = read_config_file(source)
    else:
        data = source
    if isinstance(data, Mapping) and "config" in data and "galaxy_xai_version" in data:
        data = data["config"]
    return load_config(TrainConfig, data)
