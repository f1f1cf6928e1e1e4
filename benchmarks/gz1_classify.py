"""gz1-classify: 4-class Galaxy Zoo 1 morphology on real SDSS colour images.

Classes: elliptical (GZ1 0), spiral (1 clockwise + 2 anticlockwise), edge-on (3),
merger (5); "don't know" (4) is dropped by the class map. Seeded split stratified by
class, 20% test (70/10/20). The compact CNN is trained on RGB cutouts (central 50% of
the 423 px JPEG, resized), with on-the-fly rotations, flips, shifts and brightness
changes, AdamW + cosine schedule and square-root inverse-frequency class weights
(mergers are 115 of 6,608). Keys ``accuracy`` and ``macro_f1`` are on the test split.
"""

from __future__ import annotations

import json
import os
import shutil

from benchmarks._common import cache_dir, data_dir

CLASS_MAP = {0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 4: None, 5: "merger"}


def gz1_dataset(size: int, channels: str = "rgb"):
    """The GZ1 images imported once into the benchmark cache."""
    from galaxy_xai.data import import_dataset

    out = cache_dir() / f"gz1_{size}px_{channels}_crop50.h5"
    if not out.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", out, size=size, crop=0.5,
                       channels=channels, workers=min(2, os.cpu_count() or 1))  # fmt: skip
    return out


def run(quick: bool) -> dict:
    import torch

    from galaxy_xai.train import load_train_config, train

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    size = 48 if quick else 64
    data = gz1_dataset(size)
    config = load_train_config(
        {
            "data": {"path": str(data), "target": "label", "class_map": CLASS_MAP,
                     "train_fraction": 0.7, "val_fraction": 0.1, "test_fraction": 0.2},
            "model": {"name": "compact", "kwargs": {"width": 16 if quick else 32, "depth": 4,
                                                    "dense_units": 64, "dropout": 0.3}},
            "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "schedule": "cosine",
                      "class_weighting": "sqrt"},
            "augment": {"rotation_degrees": 180.0, "flips": True, "shift_fraction": 0.05,
                        "brightness": 0.05},
            "trainer": {"max_epochs": 6 if quick else 24, "batch_size": 64, "patience": 0,
                        "accelerator": "cpu"},
            "seed": 0,
        }
    )  # fmt: skip
    run_dir = cache_dir() / f"gz1_classify_{'quick' if quick else 'full'}"
    shutil.rmtree(run_dir, ignore_errors=True)
    train(config, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    f1 = metrics["f1_per_class"]
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "ece": round(metrics["ece"], 4),
        **{f"f1_{k}": round(v, 4) for k, v in f1.items()},
        "n_test": metrics["n"],
        "epochs": metrics["epochs_trained"],
        "image_size": size,
    }
