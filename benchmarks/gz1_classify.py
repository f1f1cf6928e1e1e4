"""gz1-classify: 4-class Galaxy Zoo 1 morphology on real SDSS colour images.

Classes: elliptical (GZ1 0), spiral (1 clockwise + 2 anticlockwise), edge-on (3),
merger (5); "don't know" (4) is dropped by the class map. Seeded split stratified by
class, 20% test (70/10/20). The compact CNN is trained on RGB cutouts (a central crop
of the 423 px JPEG, resized), with on-the-fly rotations, flips and shifts (no
brightness change: an additive offset greys the colours of these dark cutouts), AdamW + cosine schedule and square-root inverse-frequency class weights
(mergers are 115 of 6,608; "balanced" weights raised merger F1 a little but cost
~0.1 accuracy in our runs). Keys ``accuracy`` and ``macro_f1`` are on the test split.

Quick mode: 48 px, crop 0.5, width 16, 10 epochs (training capped at 220 s). Full
mode: 64 px, crop 0.4 (galaxies fill more of the frame, spiral arms stay resolved),
width 24, five blocks, 24 epochs (capped at 22 min). Both use one torch thread
(``GALAXY_XAI_BENCH_THREADS`` to change): on a shared 2-core machine two threads were
up to 3x slower than one.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from benchmarks._common import cache_dir, data_dir

CLASS_MAP = {0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 4: None, 5: "merger"}

SETTINGS = {
    True: {"size": 48, "crop": 0.5, "width": 16, "depth": 4, "epochs": 10, "max_time_s": 220},
    False: {"size": 64, "crop": 0.4, "width": 24, "depth": 5, "epochs": 24, "max_time_s": 1320},
}


def gz1_dataset(size: int, channels: str = "rgb", crop: float = 0.5):
    """The GZ1 images imported once into the benchmark cache."""
    from galaxy_xai.data import import_dataset

    out = cache_dir() / f"gz1_{size}px_{channels}_crop{round(crop * 100)}.h5"
    if not out.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", out, size=size, crop=crop,
                       channels=channels, workers=min(2, os.cpu_count() or 1))  # fmt: skip
    return out


def torch_threads() -> int:
    """Torch threads for the benchmarks: ``GALAXY_XAI_BENCH_THREADS``, default 1.

    On a 2-core machine shared with other work, two threads are often several times
    slower than one (they wait on each other); one thread is the predictable choice.
    """
    value = os.environ.get("GALAXY_XAI_BENCH_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        from galaxy_xai.errors import ParameterError

        raise ParameterError("GALAXY_XAI_BENCH_THREADS", value, "must be an integer >= 1")
    return threads


def run(quick: bool) -> dict:
    import torch

    from galaxy_xai.train import load_train_config, train

    s = SETTINGS[bool(quick)]
    threads = torch_threads()
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    data = gz1_dataset(s["size"], crop=s["crop"])
    t_data = time.perf_counter() - t0
    config = load_train_config(
        {
            "data": {"path": str(data), "target": "label", "class_map": CLASS_MAP,
                     "train_fraction": 0.7, "val_fraction": 0.1, "test_fraction": 0.2},
            "model": {"name": "compact", "kwargs": {"width": s["width"], "depth": s["depth"],
                                                    "dense_units": 64, "dropout": 0.2}},
            "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "schedule": "cosine",
                      "class_weighting": "sqrt"},
            # no additive brightness change: on these dark cutouts it greys the colours
            "augment": {"rotation_degrees": 180.0, "flips": True, "shift_fraction": 0.05,
                        "brightness": 0.0},
            "trainer": {"max_epochs": s["epochs"], "batch_size": 64, "patience": 0,
                        "accelerator": "cpu", "max_time_s": s["max_time_s"]},
            "seed": 0,
        }
    )  # fmt: skip
    run_dir = cache_dir() / f"gz1_classify_{'quick' if quick else 'full'}"
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    train(config, run_dir)
    t_train = time.perf_counter() - t0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    f1 = metrics["f1_per_class"]
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "ece": round(metrics["ece"], 4),
        **{f"f1_{k}": round(v, 4) for k, v in f1.items()},
        "n_test": metrics["n"],
        "epochs": metrics["epochs_trained"],
        "image_size": s["size"],
        "crop": s["crop"],
        "torch_threads": threads,
        "import_s": round(t_data, 1),
        "train_s": round(t_train, 1),
    }
