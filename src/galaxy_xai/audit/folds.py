"""Out-of-sample class probabilities for every labelled galaxy of a dataset.

Either k-fold training (stratified, seeded folds; each galaxy predicted by the network
that did not see it) or a given trained model. Fold runs are resumable run folders.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError

__all__ = ["AUDIT_TRAIN_DEFAULTS", "Probabilities", "from_model", "labelled_rows", "out_of_fold"]

log = logging.getLogger(__name__)

#: Training settings of each fold (a train config without ``data``): the compact CNN
#: and optimiser of ``gz1-classify``'s quick mode, fewer epochs. Override with a train
#: config file (``--config``) or ``--arch``/``--epochs``.
AUDIT_TRAIN_DEFAULTS: dict[str, Any] = {
    "model": {"name": "compact", "kwargs": {"width": 16, "depth": 4, "dense_units": 64,
                                            "dropout": 0.2}},
    "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "schedule": "cosine",
              "class_weighting": "sqrt"},
    "augment": {"rotation_degrees": 180.0, "flips": True, "shift_fraction": 0.05,
                "brightness": 0.0},
    "trainer": {"max_epochs": 8, "batch_size": 64, "patience": 0, "accelerator": "cpu"},
    "seed": 0,
}  # fmt: skip


@dataclass(frozen=True)
class Probabilities:
    """Out-of-sample probabilities of the labelled galaxies.

    Attributes
    ----------
    rows
        Dataset rows (labelled galaxies, in dataset order).
    ids
        Their ids.
    labels
        Given class index per galaxy.
    class_names
        Class names (column order of ``probs``).
    probs
        ``(N, K)`` probabilities.
    fold
        Fold that predicted each galaxy (-1 with a given model).
    models
        The model (run folder / file / ``zoo:NAME``) of each fold, or the one given.
    """

    rows: np.ndarray
    ids: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    probs: np.ndarray
    fold: np.ndarray
    models: list[str]


def labelled_rows(
    data: str | os.PathLike[str],
    *,
    label_col: str = "label",
    class_map: Mapping[str, str | None] | None = None,
    ids: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(rows, ids, labels, class_names)`` of a dataset's labelled galaxies.

    Labels are resolved as ``train`` resolves them (``class_map``; null drops a value);
    ``ids`` keeps only these galaxies (the class names stay the whole dataset's).

    Raises
    ------
    DataFormatError
        A missing column, or label values the class map does not cover.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.train.config import DataConfig
    from galaxy_xai.train.targets import prepare_targets

    cfg = DataConfig(path=str(data), target=label_col,
                     class_map=dict(class_map) if class_map is not None else None)  # fmt: skip
    with open_dataset(data) as ds:
        targets = prepare_targets(ds, cfg, "classification")
    keep = np.ones(len(targets.rows), dtype=bool)
    if ids is not None:  # the classes stay those of the whole dataset
        keep = np.isin(targets.ids, np.asarray(ids, dtype=str))
    return (targets.rows[keep], targets.ids[keep], targets.values[keep],
            list(targets.output_names))  # fmt: skip


def from_model(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    label_col: str = "label",
    class_map: Mapping[str, str | None] | None = None,
    ids: np.ndarray | None = None,
) -> Probabilities:
    """Probabilities from a given trained model (out of sample only if it never saw
    these galaxies: the caller's responsibility, stated in the audit); ``ids``: only
    these galaxies.

    Raises
    ------
    DataFormatError
        Label classes that are not outputs of the model; images that do not fit it.
    ParameterError
        A model that is not a classifier.
    """
    from galaxy_xai.audit.labels import model_class_columns
    from galaxy_xai.train import load_trained
    from galaxy_xai.train.predict import predict

    rows, all_ids, labels, names = labelled_rows(data, label_col=label_col, class_map=class_map,
                                                 ids=ids)  # fmt: skip
    trained = load_trained(model)
    if trained.task != "classification":
        raise ParameterError("model", str(model), f"is a {trained.task} model, not a classifier")
    cols = model_class_columns(trained.output_names, names, where=f"model '{model}'")
    table = predict(trained, data, indices=rows)
    probs = table[[f"prob_{n}" for n in trained.output_names]].to_numpy()[:, cols]
    return Probabilities(rows, all_ids, labels, names, probs, np.full(len(rows), -1),
                         [str(model)])  # fmt: skip


def fold_train_config(
    base: Mapping[str, Any],
    path: str | os.PathLike[str],
    label_col: str,
    class_map: Mapping[str, str | None] | None,
    names: Sequence[str],
) -> dict[str, Any]:
    """A train config of ``base`` on ``path``: 90% trained on, 10% validation (its
    curves; no test part: the held-out fold is the test).

    ``names`` fixes the class order when there is no ``class_map``, so that every fold
    has the same outputs.
    """
    cfg = copy.deepcopy(dict(base))
    cfg["task"] = "classification"
    cfg["data"] = {
        **dict(cfg.get("data") or {}),
        "path": str(path), "target": label_col,
        "class_map": dict(class_map) if class_map is not None else None,
        "output_names": list(names) if class_map is None else [],
        "train_fraction": 0.9, "val_fraction": 0.1, "test_fraction": 0.0,
    }  # fmt: skip
    return cfg


def train_subset(
    data: str | os.PathLike[str],
    ids: Sequence[str],
    run_dir: str | os.PathLike[str],
    train_config: Mapping[str, Any],
    *,
    label_col: str = "label",
    class_map: Mapping[str, str | None] | None = None,
    names: Sequence[str] = (),
    resume: bool = False,
) -> Path:
    """Train ``train_config`` on the galaxies ``ids`` of ``data`` (their subset is written
    beside ``run_dir`` as ``<run_dir name>_train.h5``); a finished run is kept with
    ``resume``.

    Raises
    ------
    DataFormatError
        An id the dataset does not hold.
    ConfigError
        A bad train setting.
    """
    from galaxy_xai.data import subset_dataset
    from galaxy_xai.models.files import MODEL_INFO_NAME
    from galaxy_xai.train import load_train_config, train

    run_dir = Path(run_dir)
    if resume and (run_dir / MODEL_INFO_NAME).is_file():
        return run_dir
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    subset = run_dir.parent / f"{run_dir.name}_train.h5"
    subset_dataset(data, subset, ids=list(ids))
    config = fold_train_config(train_config, subset, label_col, class_map, names)
    return train(load_train_config(config), run_dir, resume=resume)


def out_of_fold(
    data: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    folds: int = 5,
    label_col: str = "label",
    class_map: Mapping[str, str | None] | None = None,
    train_config: Mapping[str, Any] | None = None,
    ids: np.ndarray | None = None,
    seed: int = 0,
    resume: bool = False,
) -> Probabilities:
    """k-fold out-of-sample probabilities: each galaxy predicted by a network trained
    on the other folds.

    Parameters
    ----------
    data
        Dataset file with a label column.
    out_dir
        Work folder: ``fold_<k>/`` holds each fold's training set and run folder.
    folds
        Number of folds (>= 2); stratified by label, shuffled with ``seed``
        (``sklearn.model_selection.StratifiedKFold``).
    label_col, class_map
        The labels, resolved as ``train`` resolves them.
    train_config
        Train settings without ``data`` (default :data:`AUDIT_TRAIN_DEFAULTS`).
    ids
        Audit only these galaxies (default all labelled ones).
    seed
        Fold seed.
    resume
        Keep finished folds and continue an interrupted one.

    Returns
    -------
    Probabilities

    Raises
    ------
    ParameterError
        ``folds`` < 2, or a class with fewer galaxies than folds.
    """
    from sklearn.model_selection import StratifiedKFold

    from galaxy_xai.train import load_trained
    from galaxy_xai.train.predict import predict

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ParameterError("folds", folds, "must be an integer >= 2")
    rows, all_ids, labels, names = labelled_rows(data, label_col=label_col, class_map=class_map,
                                                 ids=ids)  # fmt: skip
    counts = np.bincount(labels, minlength=len(names))
    if (counts[counts > 0] < folds).any():
        small = names[int(np.flatnonzero((counts > 0) & (counts < folds))[0])]
        raise ParameterError(
            "folds", folds, f"class {small!r} has only {counts[names.index(small)]} galaxies"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = np.zeros((len(rows), len(names)))
    fold_of = np.full(len(rows), -1, dtype=np.int64)
    base = train_config if train_config is not None else AUDIT_TRAIN_DEFAULTS
    models = []
    for k, (fit, held) in enumerate(splitter.split(np.zeros(len(rows)), labels)):
        log.info("audit fold %d/%d: %d galaxies to train on", k + 1, folds, len(fit))
        run_dir = train_subset(data, list(all_ids[fit]), out / f"fold_{k}" / "run", base,
                               label_col=label_col, class_map=class_map, names=names,
                               resume=resume)  # fmt: skip
        trained = load_trained(run_dir)
        if list(trained.output_names) != names:
            raise ParameterError("resume", str(run_dir), "fold run has other classes: rerun")
        table = predict(trained, data, indices=rows[held])
        probs[held] = table[[f"prob_{n}" for n in names]].to_numpy()
        fold_of[held] = k
        models.append(str(run_dir))
    return Probabilities(rows, all_ids, labels, names, probs, fold_of, models)
