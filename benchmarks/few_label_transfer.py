"""few-label-transfer: fine-tune a shipped model on 100 labels of a new question.

Zoobot's main use (Walmsley et al. 2022): a network pre-trained on one set of
morphology labels is fine-tuned on a few hundred labels of a question it never saw.
Here ``zoo:gz1-morphology`` (or ``--model``) is fine-tuned on 100 labelled galaxies
of two new questions, and the same architecture is trained from scratch on the same
100, for each of several seeds (the 100 are a class-stratified draw of that seed);
both are tested on every other galaxy of the set.

Sets (imported at the model's input size, crop and channels, from its card):

- ``kaggle``: GZ2 Kaggle spiral / non-spiral (``gz2-kaggle-spirals``, 2,000 SDSS
  colour JPEGs, train and validation folders pooled).
- ``gzb``: Galaxy Builder barred / unbarred from GZ2 ``p_bar`` (>= 0.5 barred,
  <= 0.2 unbarred, the rest left out), SDSS r band repeated into three channels.

Keys: ``accuracy_finetuned_<set>`` and ``accuracy_scratch_<set>`` (mean over seeds),
``*_std_<set>`` (spread), ``gain_<set>`` (fine-tuned minus scratch) and ``n_test_<set>``.
The fine-tuned network keeps every layer but the output layer (re-initialised for
the new classes) and trains all of them; both arms use the same epochs, optimiser,
augmentation and seeds.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import cache_dir, data_dir

DEFAULT_MODEL = "zoo:gz1-morphology"
N_LABELS = 100
SETTINGS = {True: {"seeds": 3, "epochs": 15}, False: {"seeds": 5, "epochs": 30}}
P_BAR_BARRED, P_BAR_UNBARRED = 0.5, 0.2


def _with_target(raw: Path, out: Path, target: Any) -> None:
    """Write the galaxies of ``raw`` that ``target(catalogue)`` keeps, with a ``target`` column.

    ``target`` returns ``(rows kept, class name per kept row)``.
    """
    from galaxy_xai.data import open_dataset, write_dataset

    with open_dataset(raw) as ds:
        cat = ds.catalog.copy()
        images = ds.images[:]
        meta = dict(ds.metadata)
    keep, names = target(cat, meta)
    cat = cat.iloc[keep].reset_index(drop=True)
    cat["target"] = names
    write_dataset(out, images[keep], cat, metadata=meta)


def _spiral_target(cat: Any, meta: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    names = list(meta.get("label_names") or ["non_spirals", "spirals"])
    return np.arange(len(cat)), [names[int(v)] for v in cat["label"]]


def _bar_target(cat: Any, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    p_bar = cat["p_bar"].to_numpy(dtype=float)
    keep = np.flatnonzero((p_bar >= P_BAR_BARRED) | (p_bar <= P_BAR_UNBARRED))
    return keep, np.where(p_bar[keep] >= P_BAR_BARRED, "barred", "unbarred")


def _labelled_sets(size: int, crop: float) -> dict[str, Path]:
    """The two labelled sets, each with a ``target`` column (class names), cached."""
    from galaxy_xai.data import import_dataset

    workers = min(2, os.cpu_count() or 1)
    root = cache_dir() / f"few_label_{size}px_crop{round(crop * 100)}"
    root.mkdir(parents=True, exist_ok=True)
    sources = {
        "kaggle": ("gz2-kaggle-folders", "gz2-kaggle-spirals", crop, workers, _spiral_target),
        "gzb": ("galaxy-builder", "galaxy-builder", 1.0, 1, _bar_target),
    }
    out = {}
    for name, (fmt, folder, set_crop, set_workers, target) in sources.items():
        path = root / f"{name}.h5"
        if not path.is_file():
            raw = import_dataset(fmt, data_dir() / folder, root / f"{name}_raw.h5", size=size,
                                 crop=set_crop, channels="rgb", workers=set_workers,
                                 resume=True)  # fmt: skip
            _with_target(raw, path, target)
        out[name] = path
    return out


def _draw(ids: np.ndarray, target: np.ndarray, seed: int) -> np.ndarray:
    """Positions of a class-stratified draw of :data:`N_LABELS` galaxies (seeded)."""
    rng = np.random.default_rng(seed)
    chosen = []
    classes = sorted(set(target))
    for c in classes:
        pos = np.flatnonzero(target == c)
        k = round(N_LABELS * len(pos) / len(target))
        chosen.append(rng.choice(pos, size=min(k, len(pos)), replace=False))
    return np.sort(np.concatenate(chosen))


def _accuracy(run: Path, data: Path, rows: np.ndarray, truth: np.ndarray) -> float:
    from galaxy_xai.train import load_trained, predict

    trained = load_trained(run)
    table = predict(trained, data, indices=rows, batch_size=256)
    return float(np.mean(table["predicted"].astype(str).to_numpy() == truth))


def run(quick: bool, model: str | None = None) -> dict[str, Any]:
    import torch

    from galaxy_xai.data import open_dataset, subset_dataset
    from galaxy_xai.train import load_train_config, load_trained, train

    torch.set_num_threads(1)
    model = model or DEFAULT_MODEL
    s = SETTINGS[quick]
    source = load_trained(model)
    prep = source.preprocessing
    size = int(prep.get("size", source.input_shape[1]))
    crop = float(prep.get("crop", 1.0))
    if source.input_shape[0] != 3:
        raise ValueError(f"few-label-transfer needs a 3-channel model, not {source.input_shape}")
    arch = {"name": source.config.model.name, "kwargs": dict(source.config.model.kwargs)}
    t0 = time.perf_counter()
    sets = _labelled_sets(size, crop)
    t_data = time.perf_counter() - t0
    work = cache_dir() / f"few_label_runs_{'quick' if quick else 'full'}"
    shutil.rmtree(work, ignore_errors=True)
    figures: dict[str, Any] = {"model": model, "n_labels": N_LABELS, "seeds": s["seeds"],
                               "epochs": s["epochs"], "image_size": size}  # fmt: skip
    t0 = time.perf_counter()
    for name, data in sets.items():
        with open_dataset(data) as ds:
            ids = ds.catalog["id"].astype(str).to_numpy()
            target = ds.catalog["target"].astype(str).to_numpy()
        scores: dict[str, list[float]] = {"finetuned": [], "scratch": []}
        for seed in range(s["seeds"]):
            chosen = _draw(ids, target, seed)
            test_rows = np.setdiff1d(np.arange(len(ids)), chosen)
            labelled, _ = subset_dataset(data, work / f"{name}_{seed}.h5", ids=ids[chosen].tolist())
            for arm in ("finetuned", "scratch"):
                config: dict[str, Any] = {
                    "data": {"path": str(labelled), "target": "target", "train_fraction": 0.85,
                             "val_fraction": 0.15, "test_fraction": 0.0, "split_seed": seed},
                    "model": arch,
                    "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-4,
                              "schedule": "cosine"},
                    "augment": {"rotation_degrees": 180.0, "flips": True, "shift_fraction": 0.05,
                                "brightness": 0.0},
                    "trainer": {"max_epochs": s["epochs"], "batch_size": 16, "patience": 0,
                                "accelerator": "cpu"},
                    "seed": seed,
                }  # fmt: skip
                if arm == "finetuned":
                    config["transfer"] = {"checkpoint": model, "reinit": ["fc2"], "lr_scale": 1.0}
                run_dir = train(load_train_config(config), work / f"{name}_{seed}_{arm}")
                scores[arm].append(_accuracy(run_dir, data, test_rows, target[test_rows]))
        for arm, values in scores.items():
            figures[f"accuracy_{arm}_{name}"] = round(float(np.mean(values)), 4)
            figures[f"accuracy_{arm}_std_{name}"] = round(float(np.std(values)), 4)
        figures[f"gain_{name}"] = round(
            figures[f"accuracy_finetuned_{name}"] - figures[f"accuracy_scratch_{name}"], 4
        )
        figures[f"n_test_{name}"] = int(len(ids) - N_LABELS)
        majority = max(np.mean(target == c) for c in set(target))
        figures[f"majority_class_share_{name}"] = round(float(majority), 4)
    figures["data_s"] = round(t_data, 1)
    figures["train_s"] = round(time.perf_counter() - t0, 1)
    return figures
