"""bulge-saliency: bulge size and B/T from saliency maps, vs truth and vs controls.

Bhambra, Joachimi & Lahav (2022) claim the saliency method "can be used to extract
other galactic features (such as the bulge-to-disk ratio)". This benchmark tests it.

* Simulations: the Galaxy Builder stand-in (``STAND_INS["galaxy-builder"]``: framed
  and stretched like the imported cutouts, 64 px), with B/T drawn uniformly in
  0.02-0.9 so that all three GaMorNet classes occur; train / calibration / test sets
  from disjoint seeds.
* Bulge/disk network: a compact CNN with dropout, trained on the simulations'
  GaMorNet class (disk-dominated / indeterminate / bulge-dominated).
* Maps: MC dropout x SmoothGrad of the ``bulge-dominated`` output (and, for
  comparison, of ``disk-dominated``).
* Calibration (:func:`galaxy_xai.features.calibrate_bulge`) on the simulated
  calibration split only, then frozen; the same for every control.
* Test: simulated test galaxies against exact truth; the 198 Galaxy Builder galaxies
  (those with a volunteer bulge model) against ``bulge_fraction`` and ``bulge_Re``
  averaged over repeated models.

Controls in the same run (keys ``pearson_r_<bt|re>_<method>_<sim|gzb>`` with
``_ci_low``/``_ci_high``): ``image_only`` (the same measurement on a constant map:
no saliency), ``size`` (the galaxy's half-light radius, linearly calibrated on the
same split), ``direct`` (a CNN regressing B/T or the bulge radius directly, trained
on the simulations), ``disk_map`` (maps of the disk-dominated output). Pearson r has
95% bootstrap intervals over galaxies.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import cache_dir, data_dir
from galaxy_xai.simulate.presets import STAND_INS

SIZE = 64
#: The Galaxy Builder stand-in with B/T spread over all three GaMorNet classes.
SIM_CONFIG: dict[str, Any] = {
    **STAND_INS["galaxy-builder"],
    "bulge": {"bulge_to_total": [0.02, 0.9]},
}
SETTINGS = {
    True: {"n_train": 1200, "n_cal": 100, "n_test": 150, "epochs": 10, "direct_epochs": 10,
           "n_draws": 4, "n_samples": 12, "width": 16},
    False: {"n_train": 4000, "n_cal": 300, "n_test": 500, "epochs": 20, "direct_epochs": 20,
            "n_draws": 8, "n_samples": 20, "width": 16},
}  # fmt: skip
METHODS = ("saliency", "image_only", "size", "direct", "disk_map")


def _simulate(root: Path, s: dict[str, Any]) -> dict[str, Path]:
    from galaxy_xai.simulate import simulate_dataset

    out = {}
    for name, n, seed in (("train", s["n_train"], 11), ("calibration", s["n_cal"], 22),
                          ("test", s["n_test"], 33)):  # fmt: skip
        path = root / f"{name}_{n}.h5"
        simulate_dataset(path, n=n, preset="sdss", size=SIZE, seed=seed, config=SIM_CONFIG,
                         workers=2, resume=True)  # fmt: skip
        out[name] = path
    return out


def _train_network(data: Path, run_dir: Path, s: dict[str, Any]) -> Path:
    from galaxy_xai.models.files import MODEL_INFO_NAME
    from galaxy_xai.train import load_train_config, train

    if (run_dir / MODEL_INFO_NAME).is_file():
        return run_dir
    config = {
        "seed": 0,
        "model": {"name": "compact", "kwargs": {"width": s["width"], "depth": 4, "dropout": 0.3}},
        "augment": {"rotation_degrees": 180.0, "shift_fraction": 0.03, "brightness": 0.0},
        "data": {"path": str(data), "target": "label", "train_fraction": 0.9,
                 "val_fraction": 0.1, "test_fraction": 0.0},
        "optim": {"name": "adam", "lr": 2e-3, "schedule": "cosine"},
        "trainer": {"batch_size": 32, "patience": 0, "accelerator": "cpu",
                    "max_epochs": s["epochs"]},
    }  # fmt: skip
    return train(load_train_config(config), run_dir, resume=True)


def _arrays(path: Path) -> tuple[np.ndarray, Any]:
    from galaxy_xai.data import open_dataset

    with open_dataset(path) as ds:
        return ds.images[:], ds.catalog.reset_index(drop=True)


def _gzb(root: Path) -> tuple[np.ndarray, Any]:
    """Galaxy Builder cutouts with a volunteer bulge model (masked pixels filled)."""
    from galaxy_xai.data.importer import import_dataset

    real = import_dataset("galaxy-builder", data_dir() / "galaxy-builder", root / "gzb64.h5",
                          size=SIZE, resume=True)  # fmt: skip
    images, cat = _arrays(real)
    keep = np.isfinite(cat["bulge_fraction"].to_numpy(float)) & np.isfinite(
        cat["bulge_Re_arcsec"].to_numpy(float)
    )
    return images[keep], cat[keep].reset_index(drop=True)


def _r(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    from galaxy_xai.bars import evaluate_lengths

    try:
        return evaluate_lengths(pred, truth)
    except Exception:  # fewer than 3 measured galaxies: reported as NaN, not hidden
        nan = float("nan")
        return {"pearson_r": nan, "pearson_r_ci_low": nan, "pearson_r_ci_high": nan,
                "n": int(np.isfinite(pred).sum())}  # fmt: skip


def _direct(train: Path, work: Path, column: str, s: dict[str, Any], sets: list[np.ndarray]
            ) -> list[np.ndarray]:  # fmt: skip
    """A compact CNN regressing ``column`` from simulated images; its predictions."""
    import torch

    from galaxy_xai.train import load_trained
    from galaxy_xai.workflows.bar_direct import train_direct_regressor

    run = train_direct_regressor(train, work / f"direct_{column}", target_col=column,
                                 epochs=s["direct_epochs"], model_kwargs={"width": s["width"]},
                                 resume=True)  # fmt: skip
    trained = load_trained(run)
    out = []
    for images in sets:
        with torch.no_grad():
            out.append(trained.predict_batch(torch.as_tensor(images)).numpy()[:, 0])
    return out


def galaxy_radius_arcsec(images: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The galaxy's half-light radius from its image (arcsec): the size control."""
    from galaxy_xai.features import raw_measurements

    return raw_measurements(None, images)["galaxy_radius_px"] * scale


def _with_radius_px(path: Path, out: Path) -> Path:
    """A copy of a simulated set with ``bulge_half_light_radius_px`` (what a CNN sees)."""
    from galaxy_xai.data import open_dataset, write_dataset

    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_dataset(path) as ds:
        cat = ds.catalog.copy()
        cat["bulge_half_light_radius_px"] = (
            cat["bulge_half_light_radius_arcsec"] / cat["pixel_scale_arcsec"]
        )
        write_dataset(out, ds.images[:], cat, metadata=dict(ds.metadata))
    return out


def _scatter(path: Path, panels: list[tuple[str, np.ndarray, np.ndarray, str]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from galaxy_xai.io import atomic_output

    fig, axes = plt.subplots(2, len(panels) // 2, figsize=(3.2 * len(panels) // 2, 6.4))
    for ax, (title, pred, truth, unit) in zip(axes.ravel(), panels, strict=True):
        ok = np.isfinite(pred) & np.isfinite(truth)
        ax.scatter(truth[ok], pred[ok], s=6, alpha=0.6)
        if ok.sum() > 2:
            lim = [min(truth[ok].min(), pred[ok].min()), max(truth[ok].max(), pred[ok].max())]
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.set_title(f"{title}\nr = {np.corrcoef(pred[ok], truth[ok])[0, 1]:.2f}",
                         fontsize=8)  # fmt: skip
        ax.set_xlabel(f"true {unit}", fontsize=8)
        ax.set_ylabel(f"measured {unit}", fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def run(quick: bool) -> dict[str, Any]:
    import torch

    from galaxy_xai.features import (
        bulge_maps,
        calibrate_bulge,
        measure_features,
    )
    from galaxy_xai.features.calibrate import size_control
    from galaxy_xai.train import load_trained

    torch.set_num_threads(2)
    s = SETTINGS[quick]
    mode = "quick" if quick else "full"
    root = cache_dir() / "bulge_saliency"
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sets = _simulate(root / f"sims_{mode}", s)
    cal_images, cal_cat = _arrays(sets["calibration"])
    test_images, test_cat = _arrays(sets["test"])
    gzb_images, gzb_cat = _gzb(root)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    run_dir = _train_network(sets["train"], root / f"net_{mode}", s)
    trained = load_trained(run_dir)
    t_net = time.perf_counter() - t0

    truth = {
        "sim": (test_cat["bulge_to_total"].to_numpy(float),
                test_cat["bulge_half_light_radius_arcsec"].to_numpy(float),
                test_cat["pixel_scale_arcsec"].to_numpy(float)),
        "gzb": (gzb_cat["bulge_fraction"].to_numpy(float),
                gzb_cat["bulge_Re_arcsec"].to_numpy(float),
                gzb_cat["pixel_scale_arcsec"].to_numpy(float)),
    }  # fmt: skip
    images = {"sim": test_images, "gzb": gzb_images}
    tables: dict[str, Any] = {}
    cal_bt = cal_cat["bulge_to_total"].to_numpy(float)
    cal_scale = cal_cat["pixel_scale_arcsec"].to_numpy(float)
    cal_re_px = cal_cat["bulge_half_light_radius_arcsec"].to_numpy(float) / cal_scale

    t0 = time.perf_counter()
    kw = {"n_draws": s["n_draws"], "n_samples": s["n_samples"], "seed": 0}
    maps = {}
    for output in ("bulge-dominated", "disk-dominated"):
        maps[output] = {
            part: bulge_maps(trained, arr, target=output, **kw)
            for part, arr in (("cal", cal_images), *images.items())
        }
    t_maps = time.perf_counter() - t0

    t0 = time.perf_counter()
    pred: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {m: {} for m in METHODS}
    flags: dict[str, Any] = {}
    for method, source in (("saliency", "bulge-dominated"), ("image_only", None),
                           ("disk_map", "disk-dominated")):  # fmt: skip
        cal = calibrate_bulge(None if source is None else maps[source]["cal"], cal_images,
                              cal_bt, cal_re_px)  # fmt: skip
        for part in ("sim", "gzb"):
            table = measure_features(None if source is None else maps[source][part],
                                     images[part], cal, pixel_scale_arcsec=truth[part][2])  # fmt: skip
            pred[method][part] = (table["bulge_to_total"].to_numpy(),
                                  table["bulge_half_light_radius_arcsec"].to_numpy())  # fmt: skip
            if method == "saliency":
                flags[part] = table["quality_flag"].value_counts().to_dict()
                tables[part] = table
    # size alone: the galaxy's half-light radius (arcsec), linearly calibrated the same way
    cal_size = galaxy_radius_arcsec(cal_images, cal_scale)
    for part in ("sim", "gzb"):
        size = galaxy_radius_arcsec(images[part], truth[part][2])
        pred["size"][part] = (size_control(cal_size, cal_bt, size, high=1.0),
                              size_control(cal_size, cal_re_px * cal_scale, size, high=np.inf))  # fmt: skip
    t_measure = time.perf_counter() - t0

    t0 = time.perf_counter()
    train_px = _with_radius_px(sets["train"], root / f"direct_{mode}" / "train_px.h5")
    direct_bt = _direct(train_px, root / f"direct_{mode}", "bulge_to_total", s,
                        [test_images, gzb_images])  # fmt: skip
    direct_re = _direct(train_px, root / f"direct_{mode}", "bulge_half_light_radius_px", s,
                        [test_images, gzb_images])  # fmt: skip
    pred["direct"] = {
        part: (direct_bt[k], direct_re[k] * truth[part][2]) for k, part in enumerate(("sim", "gzb"))
    }
    t_direct = time.perf_counter() - t0

    figures: dict[str, Any] = {}
    for part in ("sim", "gzb"):
        for method in METHODS:
            for q, k in (("bt", 0), ("re", 1)):
                stats = _r(pred[method][part][k], truth[part][k])
                for suffix in ("", "_ci_low", "_ci_high"):
                    figures[f"pearson_r_{q}_{method}_{part}{suffix}"] = stats[f"pearson_r{suffix}"]
        figures[f"n_{part}"] = len(truth[part][0])
        figures[f"frac_flag_ok_{part}"] = round(
            flags[part].get("ok", 0) / max(1, len(truth[part][0])), 3
        )
        for flag, count in flags[part].items():
            figures[f"n_flag_{flag}_{part}"] = int(count)
    figures["n"] = figures["n_sim"] + figures["n_gzb"]
    for q in ("bt", "re"):
        for part in ("sim", "gzb"):
            best_control = max(
                figures[f"pearson_r_{q}_{m}_{part}"] for m in ("image_only", "size", "direct")
            )
            figures[f"saliency_beats_controls_{q}_{part}"] = bool(
                figures[f"pearson_r_{q}_saliency_{part}"] > best_control
            )
    figures["median_bt_gzb"] = float(np.median(truth["gzb"][0]))
    figures["median_bulge_re_px_sim"] = float(np.median(truth["sim"][1] / truth["sim"][2]))
    sal_table = tables["sim"]
    figures["frac_p16_p84_covers_truth_bt_sim"] = float(np.mean(
        (sal_table["bulge_to_total_p16"] <= truth["sim"][0])
        & (truth["sim"][0] <= sal_table["bulge_to_total_p84"])
    ))  # fmt: skip
    figures["time_data_s"] = round(t_data, 1)
    figures["time_network_s"] = round(t_net, 1)
    figures["time_maps_s"] = round(t_maps, 1)
    figures["time_measure_s"] = round(t_measure, 1)
    figures["time_direct_s"] = round(t_direct, 1)
    plot = Path(__file__).resolve().parent / "results" / f"bulge-saliency-{mode}.png"
    panels = []
    for part, name in (("sim", "simulated test"), ("gzb", "Galaxy Builder")):
        for method in ("saliency", "image_only", "direct"):
            panels.append((f"B/T {method}, {name}", pred[method][part][0], truth[part][0], "B/T"))
    _scatter(plot, panels)
    figures["figure"] = str(plot.name)
    figures["report"] = _report(mode, pred, truth, ids={"sim": test_cat["id"], "gzb": gzb_cat["id"]},
                                figures=figures)  # fmt: skip
    return figures


def _report(mode: str, pred: dict[str, Any], truth: dict[str, Any], *, ids: dict[str, Any],
            figures: dict[str, Any]) -> str:  # fmt: skip
    """Features panels (simulated test, Galaxy Builder) and an HTML report of them."""
    import pandas as pd

    from galaxy_xai.report import build_report, write_features

    run = Path(__file__).resolve().parent / "results" / f"bulge-saliency-{mode}-run"
    titles = {"sim": "Simulated test galaxies (exact truth)",
              "gzb": "Galaxy Builder (volunteer bulge models)"}  # fmt: skip
    for part in ("sim", "gzb"):
        table = pd.concat([
            pd.DataFrame({"id": np.asarray(ids[part]).astype(str), "method": method,
                          "true_bt": truth[part][0], "measured_bt": pred[method][part][0],
                          "true_re_arcsec": truth[part][1],
                          "measured_re_arcsec": pred[method][part][1]})
            for method in METHODS
        ], ignore_index=True)  # fmt: skip
        write_features(
            run, part, table=table, title=titles[part],
            description="Calibrated on simulations only (a calibration split), then frozen.",
            metrics={k: v for k, v in figures.items() if k.startswith("pearson_r") and
                     k.endswith(f"_{part}")},
        )  # fmt: skip
    out = Path(__file__).resolve().parent / "results" / f"bulge-saliency-{mode}-report.html"
    build_report(run, out)
    return out.name
