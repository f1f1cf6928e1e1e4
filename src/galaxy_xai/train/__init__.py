"""Training (Lightning), transfer learning, prediction with MC dropout, evaluation.

Main entry points::

    from galaxy_xai.train import TrainConfig, train, load_trained, predict, evaluate
    run = train(load_train_config("train.yaml"), "runs/gz1")
    trained = load_trained(run)
    table = predict(trained, "catalogue.h5", out="preds.parquet", mc_samples=20)
"""

from typing import TYPE_CHECKING

from galaxy_xai.train.config import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    TrainerConfig,
    TransferConfig,
    load_train_config,
)
from galaxy_xai.train.io import TrainedModel, load_trained, save_trained
from galaxy_xai.train.metrics import (
    classification_metrics,
    expected_calibration_error,
    macro_f1,
    reliability_bins,
    thresholded_predictions,
)
from galaxy_xai.train.predict import enable_mc_dropout, evaluate, predict, predict_arrays
from galaxy_xai.train.targets import Targets, prepare_targets
from galaxy_xai.train.transfer import PRESETS, apply_transfer, layer_groups, resolve_layers

if TYPE_CHECKING:
    # Seen by type checkers only; at runtime ``train`` is loaded lazily by ``__getattr__``.
    from galaxy_xai.train.run import train


def __getattr__(name: str) -> object:
    # ``train`` pulls in Lightning (~5 s to import): load it on first use so that
    # ``galaxy-xai --help`` and prediction-only code stay fast.
    if name == "train":
        from galaxy_xai.train.run import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRESETS",
    "AugmentConfig",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "Targets",
    "TrainConfig",
    "TrainedModel",
    "TrainerConfig",
    "TransferConfig",
    "apply_transfer",
    "classification_metrics",
    "enable_mc_dropout",
    "evaluate",
    "expected_calibration_error",
    "layer_groups",
    "load_train_config",
    "load_trained",
    "macro_f1",
    "predict",
    "predict_arrays",
    "prepare_targets",
    "reliability_bins",
    "resolve_layers",
    "save_trained",
    "thresholded_predictions",
    "train",
]
