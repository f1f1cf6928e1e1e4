"""bar-length-sim: bar lengths from saliency maps vs direct regression, on simulations.

Simulated SDSS-like barred galaxies (``galaxy_xai.simulate``, preset ``sdss``, 0.396
arcsec/px, 64 px stamps) with exactly known bar lengths, in three disjoint sets drawn
with different seeds:

* train: half barred, half not; trains the bar network (one sigmoid output ``bar``)
  and, on its barred galaxies, the direct regressor (the paper's control);
* calibration: barred; SmoothGrad maps of ``bar`` calibrate the measurement grid
  (criterion, threshold, minimum pixels, multiply, variant, smoothing, length scale);
* test: barred; never used for training or calibration.

Figures: Pearson r and RMSE (arcsec) of each method on the test set, with bootstrap
95% intervals. Simulated sets are cached in ``benchmarks/results/cache``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import cache_dir

log = logging.getLogger(__name__)

#: Galaxy population: SDSS-like images of nearby, disk-dominated galaxies whose bars
#: span ~7-40 px (3-15 arcsec), i.e. the resolved bars that volunteers measure.
SIM_CONFIG: dict[str, Any] = {
    "survey": {"disk_half_light_radius_arcsec": [3.0, 7.0], "magnitude": [13.5, 16.0]},
    "bulge": {"bulge_to_total": [0.0, 0.5]},
    "bar": {"length_to_disk_scale": [0.8, 2.2], "disk_light_fraction": [0.15, 0.35]},
}
SIZE = 64
PIXEL_SCALE = 0.396

SETTINGS = {
    True: {"n_train": 400, "n_cal": 60, "n_test": 100, "epochs": 8, "direct_epochs": 15,
           "n_samples": 16, "width": 8},
    False: {"n_train": 4000, "n_cal": 300, "n_test": 500, "epochs": 25, "direct_epochs": 40,
            "n_samples": 50, "width": 16},
}  # fmt: skip


def simulate_sets(
    quick: bool, *, config: dict[str, Any] | None = None, tag: str = "sim"
) -> dict[str, Path]:
    """The train / calibration / test dataset files (cached; disjoint seeds)."""
    from galaxy_xai.simulate import simulate_dataset

    s = SETTINGS[quick]
    cfg = SIM_CONFIG if config is None else config
    root = cache_dir() / f"bar_length_{tag}_{'quick' if quick else 'full'}"
    root.mkdir(parents=True, exist_ok=True)
    parts = {
        "train": (s["n_train"], 0.5, 101),
        "calibration": (s["n_cal"], 1.0, 202),
        "test": (s["n_test"], 1.0, 303),
    }
    out = {}
    for name, (n, bar_fraction, seed) in parts.items():
        path = root / f"{name}.h5"
        simulate_dataset(
            path, n=n, preset="sdss", size=SIZE, bar_fraction=bar_fraction, seed=seed,
            config=cfg, workers=2, resume=True,
        )  # fmt: skip
        out[name] = path
    return out


def saliency_maps(run: Path, data: Path, *, n_samples: int, seed: int = 0) -> tuple[Any, ...]:
    """SmoothGrad maps of the ``bar`` output: ``(maps, images, catalog)``."""
    from galaxy_xai.data import open_dataset
    from galaxy_xai.explain import attribute
    from galaxy_xai.train import load_trained

    trained = load_trained(run)
    with open_dataset(data) as ds:
        images = ds.images[:]
        catalog = ds.catalog.copy()
    maps = attribute(
        trained, images, method="smoothgrad", target="bar", n_samples=n_samples,
        noise_level=0.15, seed=seed, batch_size=256,
    )  # fmt: skip
    return maps, images, catalog


def prefixed(stats: dict[str, float], suffix: str, *, unit: str = "arcsec") -> dict[str, Any]:
    """Benchmark keys from :func:`galaxy_xai.bars.evaluate_lengths` output."""
    return {
        f"pearson_r_{suffix}": stats["pearson_r"],
        f"pearson_r_{suffix}_ci_low": stats["pearson_r_ci_low"],
        f"pearson_r_{suffix}_ci_high": stats["pearson_r_ci_high"],
        f"rmse_{unit}_{suffix}": stats["rmse"],
        f"rmse_{unit}_{suffix}_ci_low": stats["rmse_ci_low"],
        f"rmse_{unit}_{suffix}_ci_high": stats["rmse_ci_high"],
    }


def run(quick: bool) -> dict[str, Any]:
    import torch

    from galaxy_xai.bars import calibrate, evaluate_lengths, measure_bars
    from galaxy_xai.bars.direct import predict_direct, train_direct_regressor
    from galaxy_xai.bars.network import train_bar_network

    torch.set_num_threads(2)
    s = SETTINGS[quick]
    t0 = time.perf_counter()
    sets = simulate_sets(quick)
    t_sim = time.perf_counter() - t0
    work = cache_dir() / f"bar_length_sim_runs_{'quick' if quick else 'full'}_{int(time.time())}"
    model_kwargs = {"width": s["width"]}

    t0 = time.perf_counter()
    net = train_bar_network(
        work / "net", sim_data=sets["train"], epochs=s["epochs"], model_kwargs=model_kwargs
    )
    t_net = time.perf_counter() - t0

    t0 = time.perf_counter()
    cal_maps, cal_images, cal_cat = saliency_maps(
        net.run_dir, sets["calibration"], n_samples=s["n_samples"]
    )
    test_maps, test_images, test_cat = saliency_maps(
        net.run_dir, sets["test"], n_samples=s["n_samples"]
    )
    t_maps = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = calibrate(
        cal_maps, cal_cat["bar_length_px"].to_numpy(), images=cal_images, ids=cal_cat["id"]
    )
    t_cal = time.perf_counter() - t0
    test = measure_bars(test_maps, test_images, ids=test_cat["id"], params=result.params)
    truth_arcsec = test_cat["bar_length_arcsec"].to_numpy()
    pred_arcsec = test["bar_length_px"].to_numpy() * test_cat["pixel_scale_arcsec"].to_numpy()
    sal = evaluate_lengths(pred_arcsec, truth_arcsec)
    # the published algorithm (pearson criterion, all pixels) with the same calibration
    # procedure restricted to the paper's grid, for comparison
    from galaxy_xai.bars import CalibrationGrid

    published = calibrate(
        cal_maps, cal_cat["bar_length_px"].to_numpy(), images=cal_images,
        grid=CalibrationGrid(criteria=("pearson",), variants=("published",), smooth_sigma_px=(0.0,)),
    )  # fmt: skip
    pub = measure_bars(test_maps, test_images, params=published.params)["bar_length_px"]
    pub_stats = evaluate_lengths(pub.to_numpy() * PIXEL_SCALE, truth_arcsec)

    t0 = time.perf_counter()
    direct_run = train_direct_regressor(
        sets["train"], work / "direct", epochs=s["direct_epochs"], model_kwargs=model_kwargs
    )
    direct = predict_direct(direct_run, sets["test"])
    t_direct = time.perf_counter() - t0
    direct_arcsec = direct["bar_length_px"].to_numpy() * test_cat["pixel_scale_arcsec"].to_numpy()
    dir_stats = evaluate_lengths(direct_arcsec, truth_arcsec)

    p = result.params
    figures: dict[str, Any] = {}
    figures.update(prefixed(sal, "saliency"))
    figures.update(prefixed(dir_stats, "direct"))
    figures.update(
        {
            "n_test": sal["n"],
            "n_test_unmeasured": sal["n_missing"],
            "n_calibration": result.n_calibration,
            "n_train": int(s["n_train"]),
            "frac_test_flag_ok": float(test["quality_flag"].isin(["ok"]).mean()),
            "pearson_r_published_rule": pub_stats["pearson_r"],
            "rmse_arcsec_published_rule": pub_stats["rmse"],
            "calibrated": f"{p.criterion}/{p.variant} corr>{p.corr_threshold} "
            f"min_px={p.min_pixels} multiply={p.multiply} smooth={p.smooth_sigma_px} "
            f"scale={p.length_scale:.3f}",
            "truth_range_arcsec": f"{np.min(truth_arcsec):.1f}-{np.max(truth_arcsec):.1f}",
            "time_simulate_s": round(t_sim, 1),
            "time_bar_network_s": round(t_net, 1),
            "time_maps_s": round(t_maps, 1),
            "time_calibrate_s": round(t_cal, 1),
            "time_direct_s": round(t_direct, 1),
        }
    )
    return figures
