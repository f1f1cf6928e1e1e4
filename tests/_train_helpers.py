"""Tiny datasets and configs shared by the training tests (not collected as tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from galaxy_xai.data.store import write_dataset

TINY_MODEL = {"name": "compact", "kwargs": {"width": 4, "depth": 2, "dense_units": 8}}


def blob_ring_dataset(
    path: Path, *, n: int = 40, size: int = 16, channels: int = 1, labels=None, **columns
) -> Path:
    """Blobs (even labels) and rings (odd labels); ``labels`` overrides the label column."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(xx, yy)
    labels = np.arange(n) % 2 if labels is None else np.asarray(labels)
    images = []
    for lab in labels:
        img = np.exp(-0.5 * (r / 2) ** 2) if lab % 2 == 0 else np.exp(-0.5 * ((r - 5) / 1.2) ** 2)
        img = img + 0.02 * rng.standard_normal(img.shape)
        images.append(np.repeat(img[None], channels, 0).astype(np.float32))
    catalog = pd.DataFrame({"id": [f"g{i:03d}" for i in range(len(labels))], "label": labels})
    for name, values in columns.items():
        catalog[name] = values
    meta = {"kind": "test"}
    if labels.max() < 2:
        meta["label_names"] = ["blob", "ring"]
    write_dataset(path, np.stack(images), catalog, metadata=meta)
    return path


def tiny_config(data_path: Path, **sections) -> dict:
    config = {
        "data": {"path": str(data_path)},
        "model": TINY_MODEL,
        "trainer": {"max_epochs": 1, "batch_size": 16, "patience": 0, "log_every_n_steps": 1},
        "optim": {"lr": 0.01, "schedule": "none"},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def tiny_run(folder: Path, *, n: int = 32) -> Path:
    """A finished run (one epoch on ``n`` blobs and rings) under ``folder``: ``folder/run``."""
    from galaxy_xai.train import train

    data = blob_ring_dataset(folder / "d.h5", n=n)
    return train(tiny_config(data, trainer={"max_epochs": 1}), folder / "run")
