"""gamornet-sim2real: GaMorNet trained on simulations, tested on real SDSS galaxies.

Following Ghosh et al. (2020, ApJ 895, 112): GaMorNet is trained only on GalSim
galaxies of the ``sdss`` preset rendered like SDSS JPEGs (grey), with the three
classes disk-dominated / indeterminate / bulge-dominated (B/T < 0.45, 0.45-0.55,
> 0.55). It is tested on real Galaxy Zoo 1 galaxies - ellipticals as bulge-dominated,
spirals and edge-on disks as disk-dominated (mergers and "don't know" left out) - on a
fixed seeded 20% test split:

- zero-shot (simulation-trained network as it is);
- after transfer learning with the ``sdss`` preset (conv layers loaded, the three dense
  layers re-initialised, everything trained at a lower learning rate) on 10% and 25%
  of the real labels, disjoint from the test split.

A galaxy counts as classified only when its top probability exceeds the confidence
threshold (GaMorNet's rule); otherwise, or when the top class is "indeterminate", it
is indeterminate. ``misclassified_*`` = confidently wrong / all test galaxies;
``indeterminate_transfer_25`` = indeterminate / all test galaxies.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from benchmarks._common import cache_dir, data_dir

#: Top-probability threshold for a galaxy to count as classified.
CONFIDENCE_THRESHOLD = 0.6
#: GZ1 leaf class -> GaMorNet class (listing order = output order of the network).
REAL_CLASS_MAP = {
    1: "disk-dominated",
    4: "indeterminate",  # "don't know": kept only so that the class list matches
    0: "bulge-dominated",
    2: "disk-dominated",
    3: "disk-dominated",
    5: None,
}
GAMORNET_CLASSES = ["disk-dominated", "indeterminate", "bulge-dominated"]


def _subset(src, rows, out):
    """Write the rows of dataset ``src`` to ``out`` (images and catalogue)."""
    from galaxy_xai.data.store import open_dataset, write_dataset

    with open_dataset(src) as ds:
        images = ds.images[np.sort(rows)]
        cat = ds.catalog.iloc[np.sort(rows)].reset_index(drop=True)
        meta = dict(ds.metadata)
    return write_dataset(out, images, cat, metadata=meta, storage_dtype="uint8")


def _misclassified(trained, path) -> tuple[float, float]:
    """(confidently wrong, indeterminate) fractions on a GZ1 subset file."""
    from galaxy_xai.data.store import open_dataset
    from galaxy_xai.train import predict
    from galaxy_xai.train.metrics import thresholded_predictions

    table = predict(trained, path)
    with open_dataset(path) as ds:
        labels = ds.catalog.set_index("id").loc[table["id"], "label"].to_numpy()
    truth = np.where(labels == 0, 2, 0)  # elliptical -> bulge (2), disks -> disk (0)
    probs = table[[f"prob_{c}" for c in trained.output_names]].to_numpy()
    pred = thresholded_predictions(probs, CONFIDENCE_THRESHOLD)
    undecided = (pred == -1) | (pred == 1)
    wrong = ~undecided & (pred != truth)
    return float(wrong.mean()), float(undecided.mean())


def run(quick: bool) -> dict:
    import torch

    from galaxy_xai.data import import_dataset, open_dataset, split_indices
    from galaxy_xai.simulate import simulate_dataset
    from galaxy_xai.train import load_train_config, load_trained, train

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    size = 83  # GaMorNet's CANDELS-size input; the SDSS input (167) is too slow for CPUs
    n_sim = 1200 if quick else 8000
    epochs_sim, epochs_ft = (4, 4) if quick else (15, 10)
    width = 0.25 if quick else 0.5
    cache = cache_dir()
    sims = cache / f"sim_sdss_{n_sim}_{size}px.h5"
    if not sims.exists():
        simulate_dataset(sims, n=n_sim, preset="sdss", size=size, rendering="jpeg-gray",
                         seed=0, workers=min(2, os.cpu_count() or 1))  # fmt: skip
    real = cache / f"gz1_{size}px_gray_crop50.h5"
    if not real.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", real, size=size, crop=0.5,
                       channels="gray", workers=min(2, os.cpu_count() or 1))  # fmt: skip

    # fixed test split of the real galaxies; fine-tuning pools drawn from the rest
    with open_dataset(real) as ds:
        cat = ds.catalog
    keep = np.flatnonzero(cat["label"].isin([0, 1, 2, 3]).to_numpy())
    parts = split_indices(list(cat["id"].to_numpy()[keep]), {"pool": 0.8, "test": 0.2},
                          seed=0, stratify=(cat["label"].to_numpy()[keep] == 0))  # fmt: skip
    if quick:  # a quarter of the test galaxies keeps the quick mode within minutes
        parts["test"] = parts["test"][::4]
    test = _subset(real, keep[parts["test"]], cache / "sim2real_test.h5")
    pool = keep[parts["pool"]]
    pool = pool[np.argsort([hash_u for hash_u in _hash(cat["id"].to_numpy()[pool])])]

    gamornet = {"name": "gamornet", "kwargs": {"width": width, "dense_units": 4096}}
    base = {
        "model": gamornet,
        "augment": {"rotation_degrees": 180.0, "shift_fraction": 0.05, "brightness": 0.05},
        "trainer": {"batch_size": 64, "patience": 0, "accelerator": "cpu"},
        "seed": 0,
    }
    sim_run = cache / f"sim2real_gamornet_{'quick' if quick else 'full'}"
    shutil.rmtree(sim_run, ignore_errors=True)
    train(load_train_config({
        **base,
        "data": {"path": str(sims), "target": "label"},
        "optim": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "schedule": "cosine"},
        "trainer": {**base["trainer"], "max_epochs": epochs_sim},
    }), sim_run)  # fmt: skip
    zero_shot = load_trained(sim_run)
    if zero_shot.output_names != GAMORNET_CLASSES:
        raise RuntimeError(f"simulation classes {zero_shot.output_names} != {GAMORNET_CLASSES}")
    result = {"misclassified_zero_shot": _misclassified(zero_shot, test)[0]}

    # the whole real pool is n_real; 10% / 25% of the real labels
    n_real = len(keep)
    for pct in (10, 25):
        rows = pool[: round(pct / 100 * n_real)]
        subset = _subset(real, rows, cache / f"sim2real_finetune_{pct}.h5")
        ft_run = cache / f"sim2real_transfer_{pct}_{'quick' if quick else 'full'}"
        shutil.rmtree(ft_run, ignore_errors=True)
        train(load_train_config({
            **base,
            "data": {"path": str(subset), "target": "label", "class_map": REAL_CLASS_MAP,
                     "train_fraction": 0.9, "val_fraction": 0.1, "test_fraction": 0.0},
            "optim": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "schedule": "cosine",
                      "class_weighting": "sqrt"},
            "trainer": {**base["trainer"], "max_epochs": epochs_ft},
            "transfer": {"checkpoint": str(sim_run), "preset": "sdss", "lr_scale": 0.5},
        }), ft_run)  # fmt: skip
        wrong, undecided = _misclassified(load_trained(ft_run), test)
        result[f"misclassified_transfer_{pct}"] = wrong
        if pct == 25:
            result["indeterminate_transfer_25"] = undecided
    result.update(
        {k: round(v, 4) for k, v in result.items()}
        | {
            "n_test": len(parts["test"]),
            "n_simulated": n_sim,
            "image_size": size,
            "confidence_threshold": CONFIDENCE_THRESHOLD,
        }
    )
    return result


def _hash(ids) -> np.ndarray:
    from galaxy_xai.data.splits import id_hash_uniform

    return id_hash_uniform(list(ids), seed=12345)
