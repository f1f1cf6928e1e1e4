"""What the stages share: artefact paths, training runs and the classification panel."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from galaxy_xai.demo.runner import Context
from galaxy_xai.errors import DataMissingError

__all__ = [
    "bar_labels",
    "bar_saliency",
    "bar_set",
    "bar_train_set",
    "classification_panel",
    "describe",
    "morph_labels",
    "morph_model",
    "rows_of",
    "run_dir",
    "scalars",
    "source_set",
    "target_set",
    "train_config",
    "train_run",
]


# --------------------------------------------------------------------------- artefacts
def source_set(ctx: Context) -> Path:
    """The simulated training set."""
    return ctx.stage_dir("simulate") / "source.h5"


def target_set(ctx: Context) -> Path:
    """The small, differently observed labelled set the morphology network transfers to."""
    return ctx.stage_dir("simulate") / "target.h5"


def bar_train_set(ctx: Context) -> Path:
    """The bar network's training set: disk galaxies, half of them barred."""
    return ctx.stage_dir("simulate") / "bar_train.h5"


def bar_set(ctx: Context) -> Path:
    """The independent barred galaxies the bar measurement is calibrated and tested on."""
    return ctx.stage_dir("simulate") / "barred.h5"


def run_dir(ctx: Context, stage: str) -> Path:
    """The training run folder of ``stage``."""
    return ctx.stage_dir(stage) / "run"


# --------------------------------------------------------------------------- training
def train_config(
    ctx: Context,
    *,
    data: Path,
    target: str,
    output_names: tuple[str, ...] = (),
    class_map: dict[str, str | None] | None = None,
    model: str,
    model_kwargs: dict[str, Any],
    epochs: int,
    seed: int,
    transfer_from: Path | str | None = None,
    transfer_lr_scale: float | None = None,
    schedule: Literal["none", "plateau", "cosine"] = "none",
) -> Any:
    """A CPU, deterministic :class:`galaxy_xai.train.TrainConfig` for one demo network.

    ``transfer_lr_scale``: the learning-rate factor of the loaded layers when
    ``transfer_from`` is given (None: :class:`~galaxy_xai.train.TransferConfig`'s).
    ``schedule``: the learning-rate schedule (:class:`~galaxy_xai.train.OptimConfig`'s
    ``schedule``) at Adam's learning rate 1e-3.
    """
    from galaxy_xai.train import (
        DataConfig,
        ModelConfig,
        OptimConfig,
        TrainConfig,
        TrainerConfig,
        TransferConfig,
    )

    cfg = ctx.config
    transfer = TransferConfig()
    if transfer_from is not None:
        transfer = TransferConfig(checkpoint=str(transfer_from), preset="sdss")
        if transfer_lr_scale is not None:
            transfer = dataclasses.replace(transfer, lr_scale=transfer_lr_scale)
    return TrainConfig(
        data=DataConfig(
            path=str(data),
            target=target,
            output_names=output_names,
            class_map=class_map,
            split_seed=seed,
        ),
        model=ModelConfig(name=model, kwargs=model_kwargs),
        optim=OptimConfig(name="adam", lr=1e-3, schedule=schedule),
        trainer=TrainerConfig(
            max_epochs=epochs,
            batch_size=cfg.batch_size,
            patience=0,
            accelerator="cpu",
            deterministic=True,
        ),
        transfer=transfer,
        seed=seed,
    )


def morph_model(ctx: Context) -> tuple[str, dict[str, Any]]:
    """The morphology architecture's name and keyword arguments."""
    if ctx.config.model == "gamornet":
        return "gamornet", {"width": ctx.config.model_width}
    return ctx.config.model, {}


def train_run(ctx: Context, stage: str, config: Any, *, panel: str, title: str, what: str) -> dict:
    """Train into the stage's run folder and write its training panel."""
    from galaxy_xai.report import write_training
    from galaxy_xai.train import train

    run = train(config, run_dir(ctx, stage))
    write_training(ctx.out, panel, metrics=run / "metrics.csv", title=title, description=what)
    metrics = json.loads((run / "metrics.json").read_text())
    return {"run": str(run), "test_metrics": scalars(metrics)}


def scalars(mapping: dict[str, Any]) -> dict[str, Any]:
    """The flat number/string entries of a mapping (for summaries and report tables)."""
    return {
        k: v
        for k, v in mapping.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    }


# --------------------------------------------------------------------------- predictions
def rows_of(ids: list[str], catalog: pd.DataFrame) -> np.ndarray:
    """The catalog rows of ``ids``.

    Raises
    ------
    DataMissingError
        If an id is not in the catalog.
    """
    index = pd.Index(catalog["id"].astype(str))
    rows = index.get_indexer(ids)
    if (rows < 0).any():
        missing = [i for i, r in zip(ids, rows, strict=True) if r < 0][:3]
        raise DataMissingError(f"ids {missing} of the training split are not in the dataset")
    return rows


def classification_panel(
    ctx: Context,
    *,
    run: Path,
    data: Path,
    labels_of: Callable[[pd.DataFrame], np.ndarray],
    panel: str,
    title: str,
    description: str,
    seed: int,
) -> dict[str, Any]:
    """MC-dropout predictions of a run's test split, saved as a report panel.

    Raises
    ------
    DataMissingError
        If ``run`` has no ``split.json`` (its test split is unknown), or ``run`` or
        ``data`` does not exist.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.report import write_classification
    from galaxy_xai.train import evaluate, load_trained, predict

    trained = load_trained(run)
    if trained.split is None:
        raise DataMissingError(f"run '{run}' has no split.json: its test split is unknown")
    names = list(trained.output_names)
    with open_dataset(data) as ds:
        rows = rows_of(list(trained.split["test"]), ds.catalog)
        catalog = ds.catalog.iloc[rows].reset_index(drop=True)
        table = predict(
            trained,
            ds,
            indices=rows,
            mc_samples=ctx.config.mc_samples,
            seed=seed,
            batch_size=128,
        )
        metrics = evaluate(trained, ds, split="test")
    labels = labels_of(catalog)
    frame = pd.DataFrame(
        {
            "id": table["id"].astype(str),
            "label": labels,
            "pred": [names.index(p) for p in table["predicted"]],
            **{f"p_{c}": table[f"prob_{c}"] for c in names},
            "uncertainty": table["predictive_entropy"],
            "mutual_information": table["mutual_information"],
        }
    )
    shown = scalars(metrics)
    shown["mc_samples"] = ctx.config.mc_samples
    write_classification(
        ctx.out,
        panel,
        table=frame,
        label_names=names,
        title=title,
        description=description + " Uncertainty: predictive entropy (nats) of the "
        f"mean over {ctx.config.mc_samples} MC-dropout passes.",
        metrics=shown,
    )
    return {"accuracy": float(np.mean(frame["label"] == frame["pred"])), "n": len(frame)}


def morph_labels(catalog: pd.DataFrame) -> np.ndarray:
    """The simulated GaMorNet class of each galaxy."""
    return catalog["morph_label"].to_numpy().astype(np.int64)


def bar_labels(catalog: pd.DataFrame) -> np.ndarray:
    """1 for a simulated barred galaxy, else 0."""
    return catalog["barred"].to_numpy().astype(np.int64)


# --------------------------------------------------------------------------- saliency
def bar_saliency(ctx: Context, trained: Any, images: np.ndarray, *, seed: int) -> np.ndarray:
    """SmoothGrad maps of the bar output with the demo's settings.

    Parameters
    ----------
    ctx
        The demo run (its config gives the number of noisy copies).
    trained
        The bar network.
    images
        ``(N, C, H, W)`` galaxy images.
    seed
        Seed of the noise.

    Returns
    -------
    numpy.ndarray
        ``(N, H, W)`` maps.
    """
    from galaxy_xai.explain import attribute

    return attribute(
        trained,
        images,
        method="smoothgrad",
        target="bar",
        n_samples=ctx.config.smoothgrad_samples,
        noise_level=0.15,
        seed=seed,
    )


# --------------------------------------------------------------------------- provenance
def describe(path: Path, what: str) -> dict[str, Any]:
    """A dataset's provenance entry for the report: what it is, its size and classes."""
    from galaxy_xai.data import open_dataset

    with open_dataset(path) as ds:
        cat = ds.catalog
        info: dict[str, Any] = {
            "what": what,
            "file": str(path),
            "galaxies": len(ds),
            "image shape (C, H, W)": list(ds.image_shape),
        }
        if "morph_label" in cat.columns:
            counts = cat["morph_label"].value_counts().sort_index()
            info["disk / indeterminate / bulge"] = " / ".join(
                str(int(counts.get(i, 0))) for i in range(3)
            )
        if "barred" in cat.columns:
            info["barred"] = int(cat["barred"].astype(bool).sum())
        for key in ("kind", "preset", "seed", "source_format"):
            if key in ds.metadata:
                info[key] = ds.metadata[key]
        prov = ds.metadata.get("provenance")
        if isinstance(prov, dict):
            info.update(
                {f"provenance: {k}": v for k, v in prov.items() if isinstance(v, str | int | float)}
            )
    return info
