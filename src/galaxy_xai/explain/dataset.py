"""Maps for a whole dataset file (streamed, resumable, sharded, ensembled) and checks."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import as_images, check_fits, check_positive_int, prepare_model
from galaxy_xai.explain.core import attribute, resolve_targets
from galaxy_xai.explain.maps_io import MapWriter
from galaxy_xai.explain.methods import (
    get_method,
    resolve_methods,
)
from galaxy_xai.explain.overlays import overlay_filename, write_overlay
from galaxy_xai.progress import progress
from galaxy_xai.sharding import parse_shard, shard_range

__all__ = ["CheckConfig", "ExplainConfig", "explain_dataset", "load_models", "run_checks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckConfig:
    """Settings of ``explain --check`` (the keyword defaults of :func:`run_checks`)."""

    methods: tuple[str, ...] | None = None  # None: the registry's checked methods
    n: int = 32  # images checked, a seeded random choice of rows
    sanity_mode: str = "cascading"  # randomise layers: cascading, independent or full


@dataclass(frozen=True)
class ExplainConfig:
    """Settings of ``galaxy-xai explain`` (the keyword defaults of :func:`explain_dataset`).

    ``--config FILE`` reads them; the options given on the command line override the
    file's keys. A test checks that every default is the function's.

    Raises
    ------
    ParameterError
        If ``method_options`` is not a mapping of option name -> value.
    """

    method: str = "smoothgrad"  # a registered method (galaxy_xai.explain.methods)
    target: int | str | None = None  # output name or index; None: the only output
    noise_level: float = 0.15  # noise sigma / image range (NoiseTunnelOptions)
    n_samples: int = 50  # noisy copies per image (NoiseTunnelOptions)
    batch_size: int = 32  # most model inputs per pass (memory only)
    seed: int = 0  # seed of the noise and of the dropout masks
    abs: bool | None = None  # absolute attributions; None: the method's default
    keep_channels: bool = False  # store (C, H, W) maps, not their sum over channels
    mc_dropout: bool = False  # Monte Carlo dropout, one mask per image
    limit: int | None = None  # only the first N rows of the dataset
    # the methods' own options (n_steps, layer, window_px, stride_px...); a missing
    # one takes its method's default
    method_options: Mapping[str, Any] = field(default_factory=dict)
    checks: CheckConfig = field(default_factory=CheckConfig)  # explain --check

    def __post_init__(self) -> None:
        if not isinstance(self.method_options, Mapping):
            raise ParameterError(
                "method_options", self.method_options, "must be a mapping of option -> value"
            )


def load_models(models: Any) -> tuple[list[Any], list[str]]:
    """Models (nn.Module, TrainedModel or run path) and a label for each.

    Paths are loaded with :func:`galaxy_xai.models.load_model`.

    Raises
    ------
    ParameterError
        If ``models`` is an empty list.
    DataMissingError
        If a path of ``models`` holds no model.
    ModelMismatchError
        If a model file is not a galaxy-xai model, is damaged, or its weights do not fit
        its architecture.
    """
    if not isinstance(models, list | tuple):
        models = [models]
    if not models:
        raise ParameterError("models", [], "needs at least one model")
    loaded, labels = [], []
    for i, item in enumerate(models):
        if isinstance(item, str | os.PathLike):
            from galaxy_xai.models.trained import load_model

            loaded.append(load_model(item))
            labels.append(str(item))
        else:
            loaded.append(item)
            path = getattr(item, "path", None)
            labels.append(str(path) if path is not None else f"{type(item).__name__}#{i}")
    return loaded, labels


def _rows(n: int, *, limit: int | None, shard: str | tuple[int, int] | None) -> np.ndarray:
    if limit is not None:
        limit = check_positive_int("limit", limit)
        n = min(n, limit)
    index, count = shard if isinstance(shard, tuple) else parse_shard(shard)
    return shard_range(n, index, count)


def explain_dataset(
    models: Any,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    method: str = "smoothgrad",
    target: int | str | None = None,
    output_names: Sequence[str] | None = None,
    noise_level: float = 0.15,
    n_samples: int = 50,
    batch_size: int = 32,
    seed: int = 0,
    abs: bool | None = None,
    keep_channels: bool = False,
    shard: str | tuple[int, int] | None = None,
    limit: int | None = None,
    overlays_dir: str | os.PathLike[str] | None = None,
    mc_dropout: bool = False,
    chunk_images: int = 64,
    ensemble_normalize: bool = True,
    resume: bool = False,
    **method_options: Any,
) -> Path:
    """Write the attribution maps of (a shard of) a dataset file to a maps file.

    Parameters
    ----------
    models
        One model or a list (``nn.Module``, a trained model from
        :func:`galaxy_xai.models.load_model`, or a run folder / ``model.json`` path);
        with several, the maps are averaged over the ensemble.
    data
        Dataset file (:func:`galaxy_xai.data.open_dataset`).
    out
        Maps file to write (read it with :func:`open_maps`).
    method, target, output_names, noise_level, n_samples, batch_size, seed, abs,
    keep_channels, mc_dropout
        As in :func:`attribute`. The noise of each image is keyed by its dataset row,
        so shards and resumed runs give exactly the maps of one uninterrupted run.
    shard
        ``"i/N"`` or ``(i, N)``: only the i-th of N contiguous parts of the rows.
    limit
        Only the first ``limit`` rows of the dataset (before sharding).
    overlays_dir
        Also write a PNG overlay per image there (``<id>.png``).
    chunk_images
        Images read and written per step (the partial file is flushed after each).
    ensemble_normalize
        Divide each model's map by its largest absolute value before averaging, so that
        every member of an ensemble counts equally.
    resume
        Continue the partial file (``<out>.partial``) of an interrupted run with the
        same settings; without it (the default, as ``simulate`` and ``data import``),
        a partial file is discarded and every map computed afresh.
    **method_options
        Method-specific options of :func:`attribute` (``n_steps``, ``baseline``,
        ``layer``, ``window_px``, ``stride_px``, ...: the fields of the method's options).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        Bad option values (see :func:`attribute`), or a target missing from a model.
    ModelMismatchError
        Images whose shape does not fit a model.
    DataFormatError
        A map with NaNs (naming the image id).
    """
    from galaxy_xai import __version__
    from galaxy_xai.data import open_dataset

    spec = get_method(method)
    chunk_images = check_positive_int("chunk_images", chunk_images)
    loaded, labels = load_models(models)
    prepared = [prepare_model(m, output_names=output_names) for m in loaded]
    with open_dataset(data) as ds:
        ds.require_images("explain")
        rows = _rows(len(ds), limit=limit, shard=shard)
        ids = ds.catalog["id"].astype(str).to_numpy()
        probe = as_images(ds.images[rows[:1]] if len(rows) else ds.images[:1])
        target_indices = []
        for p, label in zip(prepared, labels, strict=True):
            check_fits(p, tuple(probe.shape[1:]))
            try:
                target_indices.append(int(resolve_targets(target, p, probe)[1]))  # type: ignore[arg-type]
            except ParameterError as exc:
                raise ParameterError(exc.name, exc.value, f"{exc.reason} (model {label})") from None
        index, count = shard if isinstance(shard, tuple) else parse_shard(shard)
        metadata = {
            "method": method,
            "target": target,
            "target_index": target_indices[0] if len(set(target_indices)) == 1 else target_indices,
            "output_names": prepared[0].output_names,
            "models": labels,
            "dataset": str(Path(data).resolve()),
            "n_dataset": len(ds),
            "noise_level": float(noise_level),
            "n_samples": int(n_samples),
            "seed": int(seed),
            "abs": spec.default_abs if abs is None else bool(abs),
            "keep_channels": bool(keep_channels),
            "mc_dropout": bool(mc_dropout),
            "ensemble_normalize": bool(ensemble_normalize) and len(loaded) > 1,
            "shard": f"{index}/{count}",
            "limit": limit,
            "method_options": {k: v for k, v in method_options.items() if _jsonable(v)},
            "galaxy_xai_version": __version__,
        }
        fingerprint = hashlib.sha256(
            json.dumps(metadata, sort_keys=True, default=str).encode()
        ).hexdigest()
        channels, height, width = ds.image_shape
        map_channels = spec.output_channels or channels
        map_shape = (map_channels, height, width) if keep_channels else (height, width)
        with MapWriter(
            out,
            ids=list(ids[rows]),
            rows=rows,
            map_shape=map_shape,
            metadata=metadata,
            fingerprint=fingerprint,
            resume=resume,
        ) as writer:
            todo = writer.missing_indices()
            if len(todo) < len(rows):
                log.info("resuming '%s': %d of %d maps left", out, len(todo), len(rows))
            blocks = [todo[i : i + chunk_images] for i in range(0, len(todo), chunk_images)]
            for block in progress(blocks, desc=f"explain {method}", total=len(blocks)):
                # contiguous runs inside the block, so writes stay slices
                for run in np.split(block, np.flatnonzero(np.diff(block) != 1) + 1):
                    if not len(run):
                        continue
                    dataset_rows = rows[run]
                    images = ds.images[dataset_rows]
                    maps = _ensemble_maps(
                        prepared,
                        images,
                        target_indices,
                        ids=list(ids[dataset_rows]),
                        keys=dataset_rows,
                        normalize=ensemble_normalize,
                        options=dict(
                            method=method,
                            noise_level=noise_level,
                            n_samples=n_samples,
                            batch_size=batch_size,
                            seed=seed,
                            abs=abs,
                            keep_channels=keep_channels,
                            mc_dropout=mc_dropout,
                            **method_options,
                        ),
                    )
                    writer.write(int(run[0]), maps)
                    if overlays_dir is not None:
                        for image, m, item in zip(images, maps, ids[dataset_rows], strict=True):
                            flat = m if m.ndim == 2 else m.sum(0)
                            write_overlay(Path(overlays_dir) / overlay_filename(item), image, flat)
    log.info("wrote %d %s maps to '%s'", len(rows), method, out)
    return Path(out)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def _ensemble_maps(
    prepared: list[Any],
    images: np.ndarray,
    target_indices: list[int],
    *,
    ids: list[str],
    keys: np.ndarray,
    normalize: bool,
    options: dict[str, Any],
) -> np.ndarray:
    total: np.ndarray | None = None
    for p, t in zip(prepared, target_indices, strict=True):
        maps = attribute(p, images, target=t, noise_keys=keys.tolist(), ids=ids, **options)
        if normalize and len(prepared) > 1:
            scale = np.abs(maps.reshape(len(maps), -1)).max(1)
            scale[scale == 0] = 1.0
            maps = maps / scale.reshape((-1,) + (1,) * (maps.ndim - 1))
        total = maps.astype(np.float64) if total is None else total + maps
    if total is None:  # the callers always pass at least one model
        raise ParameterError("model", [], "give at least one model")
    return (total / len(prepared)).astype(np.float32)


def run_checks(
    model: Any,
    data: str | os.PathLike[str],
    *,
    methods: Sequence[str] | None = None,
    target: int | str | None = None,
    n: int = 32,
    seed: int = 0,
    sanity_mode: str = "cascading",
    ssim: bool = True,
    faithfulness_options: dict[str, Any] | None = None,
    **attribute_options: Any,
) -> dict[str, Any]:
    """Sanity check and faithfulness metrics of each method on ``n`` images of a dataset.

    The images are a seeded random choice of ``n`` rows (all rows if fewer). ``methods``
    defaults to the registry's checked methods
    (:func:`~galaxy_xai.explain.methods.default_check_methods`).

    Returns
    -------
    dict
        ``{"methods": {method: {"spearman", "spearman_abs", "ssim", "deletion_auc",
        "insertion_auc", "infidelity", "sensitivity_max", "sanity_layers"}},
        "random": {...}, "n_images", "ids", "dataset", "model", "target"}``.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.explain.faithfulness import faithfulness
    from galaxy_xai.explain.sanity import sanity_check

    n = check_positive_int("n", n)
    methods = resolve_methods(methods)
    loaded, labels = load_models([model])
    with open_dataset(data) as ds:
        ds.require_images("check")
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(ds), size=min(n, len(ds)), replace=False))
        images = ds.images[rows]
        ids = ds.catalog["id"].astype(str).to_numpy()[rows]
    sanity = sanity_check(
        loaded[0],
        images,
        methods=methods,
        target=target,
        mode=sanity_mode,
        ssim=ssim,
        seed=seed,
        **attribute_options,
    )
    faith = faithfulness(
        loaded[0],
        images,
        methods=methods,
        target=target,
        seed=seed,
        **(faithfulness_options or {}),
        **attribute_options,
    )
    table: dict[str, dict[str, Any]] = {}
    for m in methods:
        row: dict[str, Any] = {
            k: sanity[m][k] for k in ("spearman", "spearman_abs", "ssim") if k in sanity[m]
        }
        row.update(faith[m])
        row["sanity_layers"] = sanity[m]["layers"]
        table[m] = row
    return {
        "methods": table,
        "random": faith["random"],
        "n_images": len(rows),
        "ids": ids.tolist(),
        "dataset": str(Path(data).resolve()),
        "model": labels[0],
        "target": target,
        "sanity_mode": sanity_mode,
    }
