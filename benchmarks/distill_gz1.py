"""distill-gz1: MTT/STM dataset distillation of Galaxy Zoo 1 SDSS images.

The 4 classes of the classification benchmark (elliptical, spiral = clockwise +
anticlockwise, edge-on, merger; "don't know" dropped) from ``gz1-sdss``, imported at
32 px RGB (central 60% of each cutout). As in Guan et al. (2023), the set is made
class-balanced: every class is cut to the size of the smallest (merger, 115), so
``chance`` (1/4) is also the majority-class accuracy. Flips are left in the
augmentation because the two spiral senses are merged.

Same figures and aims as ``distill-digits``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import cache_dir, data_dir
from benchmarks.distill_digits import run_distillation_benchmark

SIZE_PX = 32
SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "buffer": {"experts": 3, "epochs": 10, "width": 32, "depth": 3, "batch_size": 64},
        "iterations": 160,
        "iterations_ipc10": 15,
        "batch_syn_ipc10": None,
        "syn_steps": 10,
        "expert_epochs": 2,
        "max_start_epoch": 6,
        "lr_img": 100.0,
        "lr_lr_ipc1": 1e-7,
        "stm": {"stage_limit": 60, "decay_every": 20},
        "eval": {"runs": 5, "epochs": 150, "full_epochs": 60},
    },
    # width 64, not the literature's 128: at 128 one full run takes hours on 2 cores
    "full": {
        "buffer": {"experts": 10, "epochs": 30, "width": 64, "depth": 3, "batch_size": 64},
        "iterations": 300,
        "iterations_ipc10": 100,
        "batch_syn_ipc10": None,
        "syn_steps": 15,
        "expert_epochs": 2,
        "max_start_epoch": 10,
        "lr_img": 100.0,
        "lr_lr_ipc1": 1e-7,
        "stm": {"stage_limit": 1000, "decay_every": 50},  # Guan et al.
        "eval": {"runs": 5, "epochs": 300, "full_epochs": 150},
    },
}


def balanced_gz1(seed: int = 0) -> Any:
    """The class-balanced 4-class GZ1 dataset file (built once in the cache)."""
    from galaxy_xai.data import import_dataset, open_dataset, write_dataset
    from galaxy_xai.distill.data import CLASS_MAP_PRESETS

    cache = cache_dir()
    out = cache / f"gz1_balanced4_{SIZE_PX}px.h5"
    if out.exists():
        return out
    raw = cache / f"gz1_{SIZE_PX}px_rgb.h5"
    if not raw.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", raw, size=SIZE_PX, channels="rgb", crop=0.6)
    mapping = CLASS_MAP_PRESETS["gz1-4"]
    names = list(dict.fromkeys(mapping.values()))
    with open_dataset(raw) as ds:
        cat = ds.catalog
        old = cat["label"].to_numpy()
        new = np.array([names.index(mapping[int(v)]) if int(v) in mapping else -1 for v in old])
        n_per_class = min(int((new == c).sum()) for c in range(len(names)))
        rng = np.random.default_rng(seed)
        keep = np.sort(
            np.concatenate(
                [rng.choice(np.flatnonzero(new == c), n_per_class, replace=False) for c in range(4)]
            )
        )
        images = ds.images[keep]
        rows = pd.DataFrame({"id": cat["id"].to_numpy()[keep], "label": new[keep]})
        rows["gz1_class"] = old[keep]
        meta = {
            "kind": "benchmark",
            "label_names": names,
            "provenance": {"source": str(raw), "balanced_per_class": n_per_class},
        }
    write_dataset(out, images, rows, metadata=meta)
    return out


def run(quick: bool) -> dict:
    settings = SETTINGS["quick" if quick else "full"]
    data = balanced_gz1()
    work = cache_dir() / f"distill_gz1_{'quick' if quick else 'full'}"
    return run_distillation_benchmark(data, work, settings)
