"""gamornet-sim2real: GaMorNet trained on simulations, tested on real SDSS galaxies.

Following Ghosh et al. (2020, ApJ 895, 112):

- **Training set** - only GalSim galaxies of the ``sdss`` preset, rendered like SDSS
  JPEGs (``jpeg-gray``: the GZ1 colour JPEGs are imported as grey luma to match) with
  ``framing: relative`` so that a galaxy fills the stamp as in a GZ1 cutout: GZ1
  cutouts span 10.18 R90 (Willett et al. 2013: 0.024 R90 per pixel, 424 px) and the
  real images are centre-cropped to half of that, so the stamps span 5.09 R90. Classes
  as in the paper: disk-dominated (B/T < 0.45), indeterminate (0.45-0.55),
  bulge-dominated (> 0.55).
- **Test set** - real Galaxy Zoo 1 galaxies of a fixed seeded 20% split (stratified):
  ellipticals as bulge-dominated; clockwise, anticlockwise spirals and edge-on disks as
  disk-dominated (mergers and "don't know" left out).
- **Zero-shot**: the simulation-trained network as it is.
- **Transfer learning** with the ``sdss`` preset (all conv layers loaded, the three
  dense layers re-initialised, everything trained at a lower learning rate) on 10% and
  25% of the real labelled galaxies, drawn (seeded) from the 80% not in the test split.

Classification rule (GaMorNet's published thresholds for the SDSS TFLearn models, the
ones of the paper: "Public Data Release Handbook - Thresholds Used" of the GaMorNet
documentation, https://gamornet.readthedocs.io, and Ghosh et al. 2020 sec. 4.1): a
galaxy is disk-dominated if P(disk) >= 0.8, bulge-dominated if P(bulge) >= 0.8, and
indeterminate otherwise.

Keys: ``misclassified_*`` is the paper's figure, the fraction of the galaxies that
GaMorNet classifies (disk- or bulge-dominated) whose class is wrong;
``misclassified_of_all_*`` divides the same count by all test galaxies;
``indeterminate_*`` is the fraction of test galaxies left indeterminate.
"""

from __future__ import annotations

import logging
import os
import shutil
import time

import numpy as np

from benchmarks._common import cache_dir, data_dir

log = logging.getLogger(__name__)

#: P(class) a galaxy needs to be disk- or bulge-dominated (GaMorNet, TFLearn on SDSS).
CONFIDENCE_THRESHOLD = 0.8
#: Central fraction of the 423 px GZ1 JPEG kept before resizing.
CROP = 0.5
#: Stamp width of the simulations in units of R90 (GZ1 cutout 10.18 R90, times CROP).
FRAME_R90 = 10.18 * CROP
#: Images x this before conv1: pixel std ~0.1 -> ~1 (see GaMorNet ``input_scale``).
INPUT_SCALE = 8.0
#: GaMorNet's three outputs, in the order of the simulation labels 0, 1, 2.
GAMORNET_CLASSES = ["disk-dominated", "indeterminate", "bulge-dominated"]
#: GZ1 leaf class -> GaMorNet class for fine-tuning. "don't know" (4) is mapped to
#: "indeterminate" only so that the class list keeps GaMorNet's order and size; the
#: fine-tuning subsets hold no such galaxy.
REAL_CLASS_MAP = {
    1: "disk-dominated",
    4: "indeterminate",
    0: "bulge-dominated",
    2: "disk-dominated",
    3: "disk-dominated",
    5: None,
}


def _settings(quick: bool) -> dict:
    """Sizes and schedules of each mode (the metric definitions are the same)."""
    if quick:
        return {"size": 64, "n_sim": 2000, "width": 0.25, "epochs_sim": 15, "epochs_ft": 10}
    return {"size": 83, "n_sim": 6000, "width": 0.25, "epochs_sim": 12, "epochs_ft": 12}


def gamornet_decisions(probs: np.ndarray, threshold: float = CONFIDENCE_THRESHOLD) -> np.ndarray:
    """GaMorNet's classes from ``(N, 3)`` probabilities: 0 disk, 2 bulge, -1 indeterminate."""
    probs = np.asarray(probs, dtype=np.float64)
    out = np.full(len(probs), -1, dtype=np.int64)
    out[probs[:, 0] >= threshold] = 0
    out[probs[:, 2] >= threshold] = 2
    return out


def score(probs: np.ndarray, truth: np.ndarray, threshold: float = CONFIDENCE_THRESHOLD) -> dict:
    """Misclassified and indeterminate fractions of predictions against 0/2 truth."""
    decided = gamornet_decisions(probs, threshold)
    classified = decided >= 0
    wrong = classified & (decided != truth)
    n_cls = int(classified.sum())
    return {
        "misclassified": float(wrong.sum() / n_cls) if n_cls else float("nan"),
        "misclassified_of_all": float(wrong.mean()),
        "indeterminate": float(1 - classified.mean()),
        # disk/bulge accuracy without a cut: larger of P(disk), P(bulge)
        "accuracy_no_cut": float((np.where(probs[:, 0] >= probs[:, 2], 0, 2) == truth).mean()),
    }


def _subset(src, rows, out):
    """Write the rows of dataset ``src`` to ``out`` (images and catalogue)."""
    from galaxy_xai.data.store import open_dataset, write_dataset

    rows = np.sort(np.asarray(rows))
    with open_dataset(src) as ds:
        images = ds.images[rows]
        cat = ds.catalog.iloc[rows].reset_index(drop=True)
        meta = dict(ds.metadata)
    if out.exists():
        out.unlink()
    return write_dataset(out, images, cat, metadata=meta, storage_dtype="uint8")


def _evaluate(trained, real, rows: np.ndarray, truth: np.ndarray) -> dict:
    from galaxy_xai.train import predict

    table = predict(trained, real, indices=rows, batch_size=256)
    probs = table[[f"prob_{c}" for c in GAMORNET_CLASSES]].to_numpy()
    return score(probs, truth)


def datasets(quick: bool):
    """The simulated training set and the grey GZ1 images (cached)."""
    from galaxy_xai.data import import_dataset
    from galaxy_xai.simulate import simulate_dataset

    s = _settings(quick)
    size, workers = s["size"], min(2, os.cpu_count() or 1)
    cache = cache_dir()
    sims = cache / f"sim_sdss_rel{FRAME_R90:.2f}_{s['n_sim']}_{size}px_gray.h5"
    if not sims.exists():
        simulate_dataset(
            sims, n=s["n_sim"], preset="sdss", size=size, rendering="jpeg-gray", seed=0,
            workers=workers, config={"framing": "relative", "frame_r90": FRAME_R90},
        )  # fmt: skip
    real = cache / f"gz1_{size}px_gray_crop{int(CROP * 100)}.h5"
    if not real.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", real, size=size, crop=CROP,
                       channels="gray", workers=workers)  # fmt: skip
    return sims, real


def run(quick: bool) -> dict:
    import torch

    from galaxy_xai.data import open_dataset, split_indices
    from galaxy_xai.data.splits import id_hash_uniform
    from galaxy_xai.train import load_train_config, load_trained, train

    t_start = time.perf_counter()
    from benchmarks.gz1_classify import torch_threads

    threads = torch_threads()
    torch.set_num_threads(threads)
    s = _settings(quick)
    mode = "quick" if quick else "full"
    cache = cache_dir()
    sims, real = datasets(quick)
    t_data = time.perf_counter() - t_start

    # fixed, stratified test split of the real galaxies; fine-tuning sets from the rest
    with open_dataset(real) as ds:
        cat = ds.catalog
    labels = cat["label"].to_numpy()
    keep = np.flatnonzero(np.isin(labels, [0, 1, 2, 3]))
    bulge = labels[keep] == 0
    parts = split_indices(list(cat["id"].to_numpy()[keep]), {"pool": 0.8, "test": 0.2},
                          seed=0, stratify=bulge.astype(np.int64))  # fmt: skip
    test_rows = np.sort(keep[parts["test"]])
    test_truth = np.where(labels[test_rows] == 0, 2, 0)
    pool = keep[parts["pool"]]
    pool = pool[np.argsort(id_hash_uniform(list(cat["id"].to_numpy()[pool]), seed=12345))]

    gamornet = {
        "name": "gamornet",
        "kwargs": {"width": s["width"], "dense_units": 4096, "input_scale": INPUT_SCALE},
    }
    base = {
        "model": gamornet,
        # no additive brightness change: on these dark cutouts (mean ~0.05) an offset of
        # a few hundredths swamps the outer light profile that B/T is read from
        "augment": {"rotation_degrees": 180.0, "shift_fraction": 0.05, "brightness": 0.0},
        "seed": 0,
    }
    trainer = {"batch_size": 32, "patience": 0, "accelerator": "cpu"}
    sim_run = cache / f"sim2real_gamornet_{mode}"
    shutil.rmtree(sim_run, ignore_errors=True)
    t0 = time.perf_counter()
    train(load_train_config({
        **base,
        "data": {"path": str(sims), "target": "label", "train_fraction": 0.8,
                 "val_fraction": 0.1, "test_fraction": 0.1},
        "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
        "trainer": {**trainer, "max_epochs": s["epochs_sim"]},
    }), sim_run)  # fmt: skip
    t_sim_train = time.perf_counter() - t0
    zero_shot = load_trained(sim_run)
    if zero_shot.output_names != GAMORNET_CLASSES:
        raise RuntimeError(f"simulation classes {zero_shot.output_names} != {GAMORNET_CLASSES}")
    import json

    sim_metrics = json.loads((sim_run / "metrics.json").read_text())
    results = {"zero_shot": _evaluate(zero_shot, real, test_rows, test_truth)}

    n_real = len(keep)
    t0 = time.perf_counter()
    for pct in (10, 25):
        rows = pool[: round(pct / 100 * n_real)]
        subset = _subset(real, rows, cache / f"sim2real_finetune_{pct}_{s['size']}px.h5")
        ft_run = cache / f"sim2real_transfer_{pct}_{mode}"
        shutil.rmtree(ft_run, ignore_errors=True)
        train(load_train_config({
            **base,
            "data": {"path": str(subset), "target": "label", "class_map": REAL_CLASS_MAP,
                     "train_fraction": 0.9, "val_fraction": 0.1, "test_fraction": 0.0},
            "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
            "trainer": {**trainer, "max_epochs": s["epochs_ft"]},
            "transfer": {"checkpoint": str(sim_run), "preset": "sdss", "lr_scale": 0.5},
        }), ft_run)  # fmt: skip
        results[f"transfer_{pct}"] = _evaluate(load_trained(ft_run), real, test_rows, test_truth)
    t_transfer = time.perf_counter() - t0

    out: dict = {
        "misclassified_zero_shot": results["zero_shot"]["misclassified"],
        "misclassified_transfer_10": results["transfer_10"]["misclassified"],
        "misclassified_transfer_25": results["transfer_25"]["misclassified"],
        "indeterminate_transfer_25": results["transfer_25"]["indeterminate"],
    }
    for stage, r in results.items():
        out[f"misclassified_of_all_{stage}"] = r["misclassified_of_all"]
        out[f"indeterminate_{stage}"] = r["indeterminate"]
        out[f"accuracy_no_cut_{stage}"] = r["accuracy_no_cut"]
    out["sim_test_accuracy"] = sim_metrics["accuracy"]
    out = {k: round(float(v), 4) for k, v in out.items()}
    out.update(
        {
            "confidence_threshold": CONFIDENCE_THRESHOLD,
            "n_test": len(test_rows),
            "n_test_bulge": int((test_truth == 2).sum()),
            "n_transfer_10": round(0.10 * n_real),
            "n_transfer_25": round(0.25 * n_real),
            "n_simulated": s["n_sim"],
            "image_size": s["size"],
            "gamornet_width": s["width"],
            "frame_r90": FRAME_R90,
            "torch_threads": threads,
            "data_s": round(t_data, 1),
            "sim_train_s": round(t_sim_train, 1),
            "transfer_s": round(t_transfer, 1),
        }
    )
    return out
