"""What every recipe shares: the recipe and outcome records, data records, test metrics.

Each recipe imports or simulates its data inside its output folder, trains there
(every stage resumable: rerun with ``resume=True`` after an interruption), scores
the model on galaxies it never saw, and packs the finished model with its card into
``OUT/model/`` (:func:`galaxy_xai.zoo.package.pack_model`). What ships in the package
is that folder, unchanged.

Recipes read the real data from ``data_root`` (the folder described by
``../shared/data/README.md``; ``GALAXY_XAI_DATA``). They pin one torch thread: on a
shared 2-core machine one thread is the predictable choice, and the same thread count
reproduces the same weights.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.errors import DataMissingError
from galaxy_xai.stats import accuracy, bootstrap_ci95, macro_f1

__all__ = [
    "Recipe",
    "RecipeOutcome",
    "RecipeRunConfig",
    "bootstrap_ci95",
    "classification_test_metrics",
    "data_root_from_env",
    "file_record",
    "folder_record",
    "offset_stage",
    "train_stage",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecipeRunConfig:
    """How ``galaxy-xai models train`` runs a recipe (its ``--config`` keys)."""

    data_root: str | None = None  # real-data folder; None: $GALAXY_XAI_DATA
    # torch threads: the shipped models were trained with 1, and the same thread count
    # reproduces the same weights
    threads: int = 1


@dataclass
class RecipeOutcome:
    """What a recipe hands to the packer.

    Attributes
    ----------
    run_dir : Path
        The run folder of the final training stage (its ``model.json`` is shipped).
    test_metrics : dict
        Figures on held-out galaxies, with bootstrap intervals.
    data : list of dict
        The files the model saw: ``path`` (relative to the data root), ``sha256``,
        ``n_images``, ``role``.
    preprocessing : dict
        How input images must be made (the ``data import`` options), with
        ``import_command``.
    stages : list of dict
        Each training stage's resolved config (paths relative to the recipe folder).
    notes : list of str
        Anything a user should know (caveats, what the figures mean).
    """

    run_dir: Path
    test_metrics: dict[str, Any]
    data: list[dict[str, Any]]
    preprocessing: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """A shipped model's recipe.

    Attributes
    ----------
    name : str
        The model's name (``zoo:NAME``).
    version : str
        The model's version; raised whenever the recipe's result changes.
    summary : str
        One line: what it predicts from what.
    run : callable
        ``run(out, data_root, resume) -> RecipeOutcome``.
    licence, citation
        Of the training data and of the method.
    budget_minutes : float
        What the recipe is sized for on 2 CPU cores.
    aim : str
        The quality the zoo aims at for this model (shown on its card beside the figures).
    """

    name: str
    version: str
    summary: str
    run: Callable[[Path, Path, bool], RecipeOutcome]
    licence: str
    citation: tuple[str, ...]
    budget_minutes: float = 60.0
    aim: str = ""


def data_root_from_env(value: str | os.PathLike[str] | None = None) -> Path:
    """The real-data folder: ``value``, else ``GALAXY_XAI_DATA``.

    Raises
    ------
    DataMissingError
        If neither names a folder.
    """
    raw = value if value is not None else os.environ.get("GALAXY_XAI_DATA")
    if not raw:
        raise DataMissingError(
            "the recipe needs the real-data folder: pass --data-root DIR or set GALAXY_XAI_DATA"
        )
    root = Path(raw)
    if not root.is_dir():
        raise DataMissingError(f"real-data folder '{root}' does not exist")
    return root


def file_record(path: Path, root: Path, role: str, n_images: int | None = None) -> dict[str, Any]:
    from galaxy_xai.models.files import sha256_file

    return {"path": str(path.relative_to(root)), "sha256": sha256_file(path),
            "n_images": n_images, "role": role}  # fmt: skip


def folder_record(folder: Path, root: Path, role: str, pattern: str) -> dict[str, Any]:
    """One sha256 over the sorted names and bytes of the files matching ``pattern``."""
    import hashlib

    digest = hashlib.sha256()
    files = sorted(folder.glob(pattern))
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return {"path": str(folder.relative_to(root)) + "/" + pattern, "sha256": digest.hexdigest(),
            "n_images": len(files), "role": role}  # fmt: skip


def train_stage(config: dict[str, Any], run_dir: Path, resume: bool) -> Path:
    from galaxy_xai.models.files import MODEL_INFO_NAME
    from galaxy_xai.train import load_train_config, train

    if (run_dir / MODEL_INFO_NAME).is_file() and resume:
        log.info("stage %s already finished", run_dir.name)
        return run_dir
    return train(load_train_config(config), run_dir, resume=resume)


def offset_stage(run_dir: Path, data: Path, out_dir: Path) -> tuple[Path, dict[str, float]]:
    """The run with class offsets chosen on its validation split, and the offsets.

    See :mod:`galaxy_xai.train.offsets`; deterministic, so a resumed recipe redoes it.
    """
    from galaxy_xai.train import load_trained
    from galaxy_xai.train.offsets import apply_class_offsets, fit_class_offsets
    from galaxy_xai.train.predict import split_predictions

    trained = load_trained(run_dir)
    probs, truth = split_predictions(trained, data, split="val")
    offsets = fit_class_offsets(probs, truth)
    apply_class_offsets(run_dir, offsets, out_dir, chosen_on="val")
    return out_dir, {
        n: round(float(v), 4) for n, v in zip(trained.output_names, offsets, strict=True)
    }


def classification_test_metrics(
    run_dir: Path, data: Path, *, split: str = "test", n_resamples: int = 1000
) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class F1 on a run's ``split``, with bootstrap intervals.

    Intervals are percentile bootstraps over galaxies
    (:func:`galaxy_xai.stats.bootstrap_ci95`: ``scipy.stats.bootstrap``, paired, 1000
    resamples, seed 0); the interval's macro-F1 counts a class absent from a resample
    as F1 = 0 (``sklearn.metrics.f1_score``, ``absent="zero"``).
    """
    from galaxy_xai.train import evaluate, load_trained

    trained = load_trained(run_dir)
    result = evaluate(trained, data, split=split)
    cm = np.asarray(result["confusion_matrix"])
    truth = np.repeat(np.arange(len(cm)), cm.sum(1))
    pred = np.concatenate([np.repeat(np.arange(len(cm)), row) for row in cm])
    k = len(cm)

    def interval(stat: Callable[[np.ndarray, np.ndarray], float]) -> list[float]:
        return bootstrap_ci95((truth, pred), stat, n_resamples=n_resamples)

    def macro(t: np.ndarray, p: np.ndarray) -> float:
        return macro_f1(t, p, k, absent="zero")

    return {
        "split": split,
        "n": int(result["n"]),
        "accuracy": round(float(result["accuracy"]), 4),
        "accuracy_ci95": interval(accuracy),
        "macro_f1": round(float(result["macro_f1"]), 4),
        "macro_f1_ci95": interval(macro),
        "f1_per_class": {k: round(float(v), 4) for k, v in result["f1_per_class"].items()},
        "ece": round(float(result["ece"]), 4),
        "confusion_matrix": cm.tolist(),
        "class_names": list(result["class_names"]),
    }
