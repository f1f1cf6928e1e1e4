"""The control: a CNN that regresses the bar length directly (Bhambra et al. 2022 sect. 4.3).

The paper's baseline for the saliency measurement. It is trained with the same
``galaxy_xai.train`` machinery as every other network, on the *same* training
galaxies as the bar network (pass their ids, or a run's ``split.json``), and is
evaluated on the same test galaxies. Only barred galaxies (a finite, positive length)
are learned from: the question is how long a bar is, not whether there is one.

Augmentations that change lengths are turned off (no zoom); rotations, flips and
small shifts leave a bar's length unchanged and stay on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["BarDirectConfig", "predict_direct", "train_direct_regressor"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BarDirectConfig:
    """The settings of ``galaxy-xai workflows bar-direct`` (``--config FILE`` keys).

    The same names and defaults as the keywords of :func:`train_direct_regressor`
    (``tests/test_cli_vocabulary.py`` keeps them equal).
    """

    target_col: str = "bar_length_px"  # true bar length column
    split_file: str | None = None  # a run's split.json: train on the same galaxies
    epochs: int = 30
    architecture: str | None = None  # None: the compact CNN
    seed: int = 0


def train_direct_regressor(
    data: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    target_col: str = "bar_length_px",
    train_ids: Sequence[str] | None = None,
    split_file: str | os.PathLike[str] | None = None,
    part: str = "train",
    epochs: int = 30,
    architecture: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    val_fraction: float = 0.15,
    transfer_from: str | os.PathLike[str] | None = None,
    seed: int = 0,
    resume: bool = False,
) -> Path:
    """Train the direct bar-length regressor; returns its run folder.

    Parameters
    ----------
    data
        Dataset file with a ``target_col`` column (full bar length, pixels).
    out_dir
        Output folder: ``train_data.h5`` (the galaxies trained on) and ``run/``.
    target_col
        Column to regress.
    train_ids, split_file, part
        The training galaxies: explicit ids, or part ``part`` of a ``split.json``
        (e.g. the bar network's); default every barred galaxy of ``data``.
        A validation part for early stopping is carved out of these (``val_fraction``).
    epochs, batch_size, lr, architecture, model_kwargs, seed
        Training settings (``galaxy_xai.train.TrainConfig``).
    transfer_from
        Optional run folder / ``model.json`` to start from (e.g. a regressor trained on
        simulations, fine-tuned here on real galaxies).
    resume
        Continue an interrupted run.

    Raises
    ------
    ParameterError
        Fewer than 8 barred training galaxies, or both ``train_ids`` and ``split_file``.
    DataFormatError
        A missing column or training id.
    """
    from galaxy_xai.data import read_split_ids, subset_dataset
    from galaxy_xai.train import TrainConfig, load_train_config, train

    if train_ids is not None and split_file is not None:
        raise ParameterError(
            "split_file", str(split_file), "give train_ids or split_file, not both"
        )
    if split_file is not None:
        train_ids, _ = read_split_ids(split_file, part)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    subset = out_dir / "train_data.h5"

    def barred(cat: pd.DataFrame) -> np.ndarray:
        if target_col not in cat.columns:
            raise DataFormatError(
                f"dataset '{data}' has no column {target_col!r} (found: {', '.join(cat.columns)})"
            )
        values = pd.to_numeric(cat[target_col], errors="coerce").to_numpy()
        return np.isfinite(values) & (values > 0)

    if not (resume and subset.is_file()):
        _, n = subset_dataset(data, subset, ids=train_ids, where=barred)
    else:
        from galaxy_xai.data import open_dataset

        with open_dataset(subset) as ds:
            n = len(ds)
    if n < 8:
        raise ParameterError(
            "train_ids",
            n,
            f"the direct regressor needs >= 8 training galaxies with {target_col} > 0",
        )
    model: dict[str, Any] = {"name": architecture or "compact", "kwargs": dict(model_kwargs or {})}
    config = load_train_config(
        {
            "task": "regression",
            "seed": seed,
            "data": {
                "path": str(subset),
                "target": target_col,
                "train_fraction": 1.0 - val_fraction,
                "val_fraction": val_fraction,
                "test_fraction": 0.0,
                "split_seed": seed,
            },
            "model": model,
            "optim": {"name": "adam", "lr": lr, "schedule": "plateau"},
            "augment": {"enabled": True, "scale": [1.0, 1.0], "shift_fraction": 0.03},
            "trainer": {"max_epochs": epochs, "batch_size": batch_size, "patience": 8},
            "transfer": {"checkpoint": str(transfer_from)} if transfer_from else {},
        }
    )
    assert isinstance(config, TrainConfig)
    log.info("direct regressor: %d barred training galaxies -> %s", n, out_dir / "run")
    return train(config, out_dir / "run", resume=resume)


def predict_direct(
    run: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    ids: Sequence[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Bar lengths (pixels) predicted by a direct regressor for (some of) a dataset.

    Returns a table ``id, bar_length_px`` (the column name ``bars evaluate`` reads).

    Raises
    ------
    ParameterError
        If ``run`` holds a classification or Dirichlet model, not a regressor.
    DataFormatError
        If an id of ``ids`` is not in the dataset.
    DataMissingError
        If ``run`` or ``data`` does not exist.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.data.subset import id_positions
    from galaxy_xai.io import atomic_output
    from galaxy_xai.train import load_trained, predict

    trained = load_trained(run)
    if trained.task != "regression":
        raise ParameterError("run", str(run), f"is a {trained.task} model, not a regressor")
    with open_dataset(data) as ds:  # opened once: predict reads the same open file
        indices = None
        if ids is not None:
            indices, missing = id_positions(ids, ds.catalog["id"].astype(str))
            if missing:
                raise DataFormatError(f"id {missing[0]!r} is not in dataset '{data}'")
        table = predict(trained, ds, indices=indices)
    column = trained.output_names[0]
    result = pd.DataFrame(
        {"id": table["id"].astype(str), "bar_length_px": table[column].to_numpy(dtype=float)}
    )
    if out is not None:
        with atomic_output(out) as tmp:
            result.to_csv(tmp, index=False, float_format="%.6g")
    return result
