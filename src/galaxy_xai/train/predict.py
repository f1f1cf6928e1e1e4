"""Catalogue-scale prediction (streamed to CSV/Parquet, MC dropout) and evaluation.

:func:`predict` reads a dataset in batches and writes one row per galaxy as it goes,
so catalogues larger than memory stream through; ``mc_samples=K`` keeps dropout on
and runs K passes per batch (Gal & Ghahramani 2016), reporting the mean, standard
deviation and predictive entropy. :func:`evaluate` computes accuracy, macro-F1,
confusion matrix, expected calibration error and reliability bins on a split of the
training run (or any labelled dataset with ``split="all"``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from galaxy_xai.data.store import GalaxyDataset, open_dataset
from galaxy_xai.errors import DataFormatError, ModelMismatchError, ParameterError
from galaxy_xai.io import atomic_output, write_json
from galaxy_xai.progress import progress
from galaxy_xai.sharding import parse_shard, shard_range
from galaxy_xai.stats import classification_metrics, regression_metrics
from galaxy_xai.train.io import TrainedModel, load_trained
from galaxy_xai.train.targets import prepare_targets

__all__ = [
    "enable_mc_dropout",
    "evaluate",
    "load_trained",
    "predict",
    "predict_arrays",
    "split_predictions",
]

log = logging.getLogger(__name__)
_EPS = 1e-12


def enable_mc_dropout(model: nn.Module) -> int:
    """Put ``model`` in eval mode with only its dropout layers active; return their count."""
    model.eval()
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.train()
            n += 1
    return n


def _as_trained(trained: TrainedModel | str | os.PathLike[str]) -> TrainedModel:
    return trained if isinstance(trained, TrainedModel) else load_trained(trained)


def _as_dataset(data: GalaxyDataset | str | os.PathLike[str]) -> tuple[GalaxyDataset, bool]:
    if isinstance(data, GalaxyDataset):
        return data, False
    return open_dataset(data), True


def check_fits(trained: TrainedModel, ds: GalaxyDataset) -> None:
    """Raise :class:`ModelMismatchError` unless the dataset's images fit the model.

    Raises
    ------
    ModelMismatchError
        If the dataset's ``(C, H, W)`` differs from the model's input shape (the
        message says which: channels or size).
    """
    if tuple(ds.image_shape) != tuple(trained.input_shape):
        c, h, w = ds.image_shape
        mc, mh, mw = trained.input_shape
        what = []
        if c != mc:
            what.append(f"{c} channel(s) instead of {mc}")
        if (h, w) != (mh, mw):
            what.append(f"{h}x{w} px instead of {mh}x{mw}")
        raise ModelMismatchError(
            f"dataset '{ds.path}' images do not fit model '{trained.path}' "
            f"({trained.config.model.name}): {', '.join(what)}{trained.import_hint()}"
        )


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@torch.no_grad()
def _batches(
    trained: TrainedModel,
    ds: GalaxyDataset,
    rows: np.ndarray,
    *,
    batch_size: int,
    mc_samples: int,
    device: torch.device,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (rows, predictions) with predictions ``(S, B, K)``; S = max(1, mc_samples)."""
    model, head = trained.model.to(device), trained.head.to(device)
    if mc_samples > 0:
        if enable_mc_dropout(model) == 0:
            raise ParameterError(
                "mc_samples", mc_samples, f"model '{trained.path}' has no dropout layers"
            )
    else:
        model.eval()
    try:
        starts = range(0, len(rows), batch_size)
        for start in progress(starts, desc="predict", total=len(starts)):
            chunk = rows[start : start + batch_size]
            x = torch.from_numpy(ds.images[chunk]).to(device)  # (B, C, H, W)
            passes = [head.predict(model(x)) for _ in range(max(1, mc_samples))]
            yield chunk, torch.stack(passes).float().cpu().numpy()  # (S, B, K)
    finally:
        model.eval()


def _frame(trained: TrainedModel, ids: np.ndarray, preds: np.ndarray, mc: bool) -> pd.DataFrame:
    """Result rows of one batch from predictions ``(S, B, K)``."""
    names = trained.output_names
    mean = preds.mean(0)  # (B, K)
    out: dict[str, Any] = {"id": ids}
    if trained.task == "classification":
        for k, name in enumerate(names):
            out[f"prob_{name}"] = mean[:, k]
        if mc:
            for k, name in enumerate(names):
                out[f"std_{name}"] = preds[:, :, k].std(0)
        out["predicted"] = np.asarray(names, dtype=object)[mean.argmax(1)]
        out["confidence"] = mean.max(1)
        if mc:
            entropy = -(mean * np.log(mean + _EPS)).sum(1)
            expected = -(preds * np.log(preds + _EPS)).sum(2).mean(0)
            out["predictive_entropy"] = entropy
            out["mutual_information"] = np.maximum(entropy - expected, 0.0)
    else:
        for k, name in enumerate(names):
            out[name] = mean[:, k]
        if mc:
            for k, name in enumerate(names):
                out[f"std_{name}"] = preds[:, :, k].std(0)
            if trained.task in ("vote_fraction", "dirichlet"):
                p = np.clip(mean, _EPS, 1 - _EPS)
                out["predictive_entropy"] = -(p * np.log(p) + (1 - p) * np.log(1 - p)).sum(1)
    return pd.DataFrame(out)


def predict(
    trained: TrainedModel | str | os.PathLike[str],
    data: GalaxyDataset | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    mc_samples: int = 0,
    batch_size: int = 256,
    shard: str | tuple[int, int] | None = None,
    indices: Sequence[int] | np.ndarray | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict every galaxy (or a shard / subset) of a dataset, streaming to a file.

    Parameters
    ----------
    trained
        A :class:`TrainedModel` or a run folder / ``model.json``.
    data
        Dataset file or opened :class:`GalaxyDataset`; its images must have the
        model's ``input_shape``.
    out
        ``.csv`` or ``.parquet`` file written batch by batch (``<out>.partial`` until
        complete); None to only return the table.
    mc_samples
        0 for a deterministic pass; K > 0 for K Monte Carlo dropout passes.
    batch_size
        Images per forward pass.
    shard
        ``"i/N"`` or ``(i, N)``: only the i-th of N contiguous parts of the rows.
    indices
        Only these dataset rows (before sharding).
    device
        Torch device (default: CUDA if available, else CPU).
    seed
        Seed of the dropout masks (MC dropout is reproducible).

    Returns
    -------
    pandas.DataFrame
        ``id`` then, for classification, ``prob_<class>`` (MC mean), ``predicted``,
        ``confidence`` and with MC ``std_<class>``, ``predictive_entropy`` (nats) and
        ``mutual_information``; for vote fractions / regression one column per output
        (with MC also ``std_<output>``).

    Raises
    ------
    ModelMismatchError
        If the images do not fit the model (the message names both shapes).
    ParameterError
        For a bad ``mc_samples``, ``batch_size``, ``shard``, ``out`` suffix or index.
    """
    if mc_samples < 0:
        raise ParameterError("mc_samples", mc_samples, "must be >= 0")
    if batch_size < 1:
        raise ParameterError("batch_size", batch_size, "must be >= 1")
    suffix = Path(out).suffix.lower() if out is not None else ""
    if out is not None and suffix not in (".csv", ".parquet", ".pq"):
        raise ParameterError("out", str(out), "must end in .csv or .parquet")
    trained = _as_trained(trained)
    ds, opened = _as_dataset(data)
    try:
        ds.require_images("predict")
        check_fits(trained, ds)
        n = len(ds)
        rows = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ParameterError("indices", f"[{rows.min()}, {rows.max()}]", f"outside 0..{n - 1}")
        i, count = parse_shard(shard) if not isinstance(shard, tuple) else shard
        rows = rows[shard_range(len(rows), i, count)]
        ids = ds.catalog["id"].to_numpy().astype(str)
        torch.manual_seed(seed)
        frames = []
        batches = _batches(
            trained, ds, rows, batch_size=batch_size, mc_samples=mc_samples, device=_device(device)
        )
        if out is None:
            frames = [_frame(trained, ids[r], p, mc_samples > 0) for r, p in batches]
        else:
            with atomic_output(out) as tmp:
                # None until the first rows are written; then True (CSV) or the
                # pyarrow ParquetWriter.
                writer: Any = None
                for r, p in batches:
                    frame = _frame(trained, ids[r], p, mc_samples > 0)
                    frames.append(frame)
                    if suffix == ".csv":
                        frame.to_csv(
                            tmp, mode="a" if writer else "w", header=not writer, index=False
                        )
                        writer = True
                    else:
                        import pyarrow as pa
                        import pyarrow.parquet as pq

                        table = pa.Table.from_pandas(frame, preserve_index=False)
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema)
                        writer.write_table(table)
                if writer is None:  # no rows: still write an empty table with the header
                    empty = _frame(
                        trained, np.zeros(0, str), np.zeros((1, 0, len(trained.output_names))),
                        mc_samples > 0,
                    )  # fmt: skip
                    frames.append(empty)
                    if suffix == ".csv":
                        empty.to_csv(tmp, index=False)
                    else:
                        empty.to_parquet(tmp, index=False)
                elif writer is not True:
                    writer.close()
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    finally:
        if opened:
            ds.close()


def predict_arrays(
    trained: TrainedModel, images: np.ndarray | torch.Tensor, *, batch_size: int = 256
) -> np.ndarray:
    """Predictions ``(N, K)`` of in-memory images ``(N, C, H, W)`` (deterministic pass).

    Raises
    ------
    ModelMismatchError
        If ``images`` are not ``(N, C, H, W)`` with the model's ``(C, H, W)``.
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tuple(x.shape[1:]) != tuple(trained.input_shape):
        raise ModelMismatchError(
            f"images of shape {tuple(x.shape[1:])} do not fit the model's {trained.input_shape}"
        )
    trained.model.eval()
    out = [trained.predict_batch(x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(trained.output_names)), np.float32)


def split_predictions(
    trained: TrainedModel | str | os.PathLike[str],
    data: GalaxyDataset | str | os.PathLike[str],
    *,
    split: str = "test",
    batch_size: int = 256,
    class_map: dict[str, str | None] | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and targets of one split of a labelled dataset (what :func:`evaluate` scores).

    Parameters are those of :func:`evaluate`.

    Returns
    -------
    preds : numpy.ndarray
        ``(N, K)`` deterministic predictions (class probabilities for classification).
    truth : numpy.ndarray
        ``(N,)`` class indices, or ``(N, K)`` targets.

    Raises
    ------
    DataFormatError, ModelMismatchError, ParameterError
        As :func:`evaluate`.
    """
    trained = _as_trained(trained)
    ds, opened = _as_dataset(data)
    try:
        ds.require_images("evaluate")
        check_fits(trained, ds)
        data_cfg = trained.config.data
        if class_map is not None:
            data_cfg = dataclasses.replace(data_cfg, class_map=class_map)
        targets = prepare_targets(ds, data_cfg, trained.task)
        if targets.output_names != trained.output_names:
            raise ModelMismatchError(
                f"dataset '{ds.path}' gives outputs {targets.output_names} but model "
                f"'{trained.path}' predicts {trained.output_names}"
            )
        if split == "all":
            positions = np.arange(len(targets.rows))
        else:
            if trained.split is None or split not in trained.split:
                raise ParameterError(
                    "split", split, f"model '{trained.path}' records no such split (use 'all')"
                )
            positions = np.flatnonzero(np.isin(targets.ids, trained.split[split]))
        if len(positions) == 0:
            raise DataFormatError(
                f"split '{split}' is empty for dataset '{ds.path}': none of its "
                f"{len(targets.rows)} usable galaxies are in that part of the run "
                "(evaluate another dataset with split='all' / --split all)"
            )
        rows = targets.rows[positions]
        preds = np.concatenate(
            [
                p[0]
                for _, p in _batches(
                    trained, ds, rows, batch_size=batch_size, mc_samples=0, device=_device(device)
                )
            ]
        )
        return preds, targets.values[positions]
    finally:
        if opened:
            ds.close()


def evaluate(
    trained: TrainedModel | str | os.PathLike[str],
    data: GalaxyDataset | str | os.PathLike[str],
    *,
    split: str = "test",
    out: str | os.PathLike[str] | None = None,
    batch_size: int = 256,
    n_bins: int = 10,
    class_map: dict[str, str | None] | None = None,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Metrics of a trained model on one split of a labelled dataset.

    Parameters
    ----------
    trained
        A :class:`TrainedModel` or a run folder / ``model.json``.
    data
        The labelled dataset (the training dataset for ``train``/``val``/``test``).
    split
        ``"train"``, ``"val"``, ``"test"`` (ids recorded in the run's ``split.json``)
        or ``"all"`` (every usable row, e.g. another survey).
    out
        Optional JSON file for the result.
    n_bins
        Confidence bins of the ECE and the reliability diagram.
    class_map
        Replace the run's class map (for a dataset that labels classes differently);
        the classes must come out the same as the model's.

    Returns
    -------
    dict
        Classification: ``accuracy``, ``macro_f1``, ``f1_per_class``,
        ``confusion_matrix`` (rows true, columns predicted), ``class_names``, ``ece``,
        ``reliability`` (bins); otherwise ``mse``, ``rmse``, ``mae``, ``r2``,
        ``per_output``. Always ``split``, ``dataset`` and ``n``.

    Raises
    ------
    DataFormatError
        If the split holds no usable galaxy of this dataset, or labels are unknown.
    ModelMismatchError
        If images or classes do not fit the model.
    ParameterError
        If ``split`` is not ``"all"`` and the run records no such split.
    """
    trained = _as_trained(trained)
    ds, opened = _as_dataset(data)
    try:
        preds, truth = split_predictions(
            trained, ds, split=split, batch_size=batch_size, class_map=class_map, device=device
        )
        if trained.task == "classification":
            metrics = classification_metrics(preds, truth, trained.output_names, n_bins=n_bins)
        else:
            if trained.task == "dirichlet":  # compare expected fractions with observed ones
                truth = truth / np.maximum(_group_totals(truth, trained), 1)
            metrics = regression_metrics(preds, truth, trained.output_names)
        result = {"split": split, "dataset": str(ds.path), **metrics}
        if out is not None:
            write_json(out, result)
        return result
    finally:
        if opened:
            ds.close()


def _group_totals(counts: np.ndarray, trained: TrainedModel) -> np.ndarray:
    groups = getattr(trained.head, "groups", [list(range(counts.shape[1]))])
    totals = np.zeros_like(counts)
    for g in groups:
        totals[:, g] = counts[:, g].sum(1, keepdims=True)
    return totals
