"""gamornet-sim2real: GaMorNet trained on simulations, tested on real SDSS galaxies.

Following Ghosh et al. (2020, ApJ 895, 112):

- **Training set** - only GalSim galaxies of the ``sdss`` preset under the GZ1
  stand-in (``galaxy_xai.simulate.presets.stand_in("gz1", size)``: framed, as bright,
  as inclined, noise-grained and surrounded by a field of faint sources like the GZ1
  cutouts, each number calibrated on the calibration half of GZ1, by pixel statistics
  only, no labels; ``sim-realism`` measures it) but with the preset's own JPEG stretch
  and knots (see :func:`sim_config`), rendered like SDSS JPEGs (``jpeg-gray``: the GZ1 colour
  JPEGs are imported as grey luma to match). Classes as in the paper: disk-dominated (B/T < 0.45), indeterminate
  (0.45-0.55), bulge-dominated (> 0.55).
- **Baseline in the same run** (``*_baseline`` keys, zero-shot only): the same network
  trained on the simulations used before the stand-in: ``framing: relative`` at the
  nominal 5.09 R90 (GZ1 cutouts span 10.18 R90, Willett et al. 2013: 0.024 R90 per
  pixel over 424 px; the real images are centre-cropped to half of that), the preset's
  JPEG rendering, no field, white noise.
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

#: Images x this before conv1: pixel std ~0.1 -> ~1 (see GaMorNet ``input_scale``).
INPUT_SCALE = 8.0

from galaxy_xai.zoo.recipe_gamornet import (  # noqa: E402 - shared with the recipe
    CONFIDENCE_THRESHOLD,
    CROP,
    FRAME_R90,
    GAMORNET_CLASSES,
    REAL_CLASS_MAP,
    gamornet_decisions,
    gz1_bulge_disk_split,
    score_bulge_disk,
    sim_config,
    subset_rows,
)

__all__ = ["CONFIDENCE_THRESHOLD", "gamornet_decisions", "run", "score"]

score = score_bulge_disk


def _settings(quick: bool) -> dict:
    """Sizes and schedules of each mode (the metric definitions are the same)."""
    if quick:
        return {"size": 64, "n_sim": 2000, "width": 0.25, "epochs_sim": 15, "epochs_ft": 10}
    return {"size": 83, "n_sim": 6000, "width": 0.25, "epochs_sim": 12, "epochs_ft": 12}


def _evaluate(trained, real, rows: np.ndarray, truth: np.ndarray) -> dict:
    from galaxy_xai.train import predict

    table = predict(trained, real, indices=rows, batch_size=256)
    probs = table[[f"prob_{c}" for c in GAMORNET_CLASSES]].to_numpy()
    return score_bulge_disk(probs, truth)


def datasets(quick: bool, kind: str = "stand-in"):
    """The simulated training set (``kind``: see :func:`sim_config`) and the grey GZ1 images.

    Both are cached; the simulation's file name carries a hash of its config.
    """
    import hashlib
    import json

    from galaxy_xai.data import import_dataset
    from galaxy_xai.simulate import simulate_dataset

    s = _settings(quick)
    size, workers = s["size"], min(2, os.cpu_count() or 1)
    cache = cache_dir()
    config = sim_config(kind, size)
    tag = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    sims = cache / f"sim_sdss_{kind}_{tag}_{s['n_sim']}_{size}px_gray.h5"
    if not sims.exists():
        simulate_dataset(
            sims, n=s["n_sim"], preset="sdss", size=size, rendering="jpeg-gray", seed=0,
            workers=workers, config=config,
        )  # fmt: skip
    real = cache / f"gz1_{size}px_gray_crop{int(CROP * 100)}.h5"
    if not real.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", real, size=size, crop=CROP,
                       channels="gray", workers=workers)  # fmt: skip
    return sims, real


def run_model(model: str) -> dict:
    """Score a trained GaMorNet-style model (``zoo:gamornet-sdss``) on the fixed test split.

    The grey GZ1 images are imported at the model's input size; its fine-tuning set must
    lie outside this test split (the recipe of ``gamornet-sdss`` draws it from the pool).
    """
    from galaxy_xai.data import import_dataset, open_dataset
    from galaxy_xai.train import load_trained

    trained = load_trained(model)
    if trained.output_names != GAMORNET_CLASSES:
        raise ValueError(f"model outputs {trained.output_names}, not {GAMORNET_CLASSES}")
    size = trained.input_shape[1]
    real = cache_dir() / f"gz1_{size}px_gray_crop{int(CROP * 100)}.h5"
    if not real.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", real, size=size, crop=CROP,
                       channels="gray", workers=min(2, os.cpu_count() or 1))  # fmt: skip
    test_rows, test_truth, _ = gz1_bulge_disk_split(real)
    if trained.split is not None:
        with open_dataset(real) as ds:
            ids = set(ds.catalog["id"].astype(str).to_numpy()[test_rows])
        seen = ids & set(trained.split.get("train", []) + trained.split.get("val", []))
        if seen:
            raise ValueError(f"{len(seen)} test galaxies were in the model's training split")
    r = _evaluate(trained, real, test_rows, test_truth)
    return {
        "misclassified_transfer_25": round(r["misclassified"], 4),
        "misclassified_of_all_transfer_25": round(r["misclassified_of_all"], 4),
        "indeterminate_transfer_25": round(r["indeterminate"], 4),
        "accuracy_no_cut_transfer_25": round(r["accuracy_no_cut"], 4),
        "confidence_threshold": CONFIDENCE_THRESHOLD,
        "n_test": len(test_rows),
        "image_size": size,
    }


def run(quick: bool, model: str | None = None) -> dict:
    import torch

    if model is not None:
        return run_model(model)

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
    test_rows, test_truth, pool = gz1_bulge_disk_split(real)

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

    def train_on(path, folder):
        shutil.rmtree(folder, ignore_errors=True)
        train(load_train_config({
            **base,
            "data": {"path": str(path), "target": "label", "train_fraction": 0.8,
                     "val_fraction": 0.1, "test_fraction": 0.1},
            "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
            "trainer": {**trainer, "max_epochs": s["epochs_sim"]},
        }), folder)  # fmt: skip
        trained = load_trained(folder)
        if trained.output_names != GAMORNET_CLASSES:
            raise RuntimeError(f"simulation classes {trained.output_names} != {GAMORNET_CLASSES}")
        return trained

    sim_run = cache / f"sim2real_gamornet_{mode}"
    t0 = time.perf_counter()
    zero_shot = train_on(sims, sim_run)
    t_sim_train = time.perf_counter() - t0
    import json

    sim_metrics = json.loads((sim_run / "metrics.json").read_text())
    results = {"zero_shot": _evaluate(zero_shot, real, test_rows, test_truth)}
    baseline_sims, _ = datasets(quick, "baseline")
    baseline = train_on(baseline_sims, cache / f"sim2real_gamornet_baseline_{mode}")
    results["zero_shot_baseline"] = _evaluate(baseline, real, test_rows, test_truth)

    n_real = len(test_rows) + len(pool)
    t0 = time.perf_counter()
    for pct in (10, 25):
        rows = pool[: round(pct / 100 * n_real)]
        subset = cache / f"sim2real_finetune_{pct}_{s['size']}px.h5"
        subset.unlink(missing_ok=True)
        subset_rows(real, rows, subset)
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
        "misclassified_zero_shot_baseline": results["zero_shot_baseline"]["misclassified"],
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
            "simulations": "stand-in gz1 without its jpeg block (baseline: 5.09 R90, no field)",
            "frame_r90": float(sim_config("stand-in", s["size"])["frame_r90"]),
            "frame_r90_baseline": FRAME_R90,
            "torch_threads": threads,
            "data_s": round(t_data, 1),
            "sim_train_s": round(t_sim_train, 1),
            "transfer_s": round(t_transfer, 1),
        }
    )
    return out
