"""Demo stage ``features``: bulge B/T and half-light radius from saliency maps of the
morphology network's bulge output, on simulated galaxies it never trained on.

Half of the morphology run's test galaxies calibrate the measurement
(:func:`galaxy_xai.features.calibrate_bulge`), the other half test it against the
simulation truth, with the controls of ``bulge-saliency`` in the same run: the same
measurement on a constant map (``image_only``), the galaxy's half-light radius alone
(``size``), and a CNN regressing B/T directly (``direct``, trained on the morphology
network's training galaxies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.demo.common import rows_of, run_dir, source_set
from galaxy_xai.demo.runner import Context
from galaxy_xai.errors import DataMissingError

__all__ = ["stage_features"]


def _direct_bt(ctx: Context, train_ids: list[str], images: np.ndarray) -> np.ndarray:
    """The direct control: a compact CNN regressing B/T, trained on the morphology
    network's training galaxies (none of the test ones); its B/T of ``images``."""
    import torch

    from galaxy_xai.train import load_trained
    from galaxy_xai.workflows.bar_direct import train_direct_regressor

    run = train_direct_regressor(
        source_set(ctx), ctx.stage_dir("features") / "direct", target_col="bulge_to_total",
        train_ids=train_ids, epochs=3 if ctx.config.quick else 10,
        model_kwargs={"width": 8}, seed=ctx.seed(32),
    )  # fmt: skip
    with torch.no_grad():
        pred = load_trained(run).predict_batch(torch.as_tensor(images)).numpy()[:, 0]
    return np.clip(pred, 0.0, 1.0)


def stage_features(ctx: Context) -> dict[str, Any]:
    """Calibrate the bulge measurement on half the held-out simulations, test on the rest.

    Raises
    ------
    DataMissingError
        If the morphology run has no ``split.json`` (its test galaxies are unknown).
    RuntimeError
        If the size control was not computed (a bug: the image-only pass computes it).
    """
    from galaxy_xai.bars import evaluate_lengths
    from galaxy_xai.data import open_dataset
    from galaxy_xai.features import bulge_maps, calibrate_bulge, measure_features
    from galaxy_xai.features.calibrate import size_control
    from galaxy_xai.report import write_features
    from galaxy_xai.train import load_trained

    cfg = ctx.config
    run = run_dir(ctx, "train_morphology")
    trained = load_trained(run)
    if trained.split is None:
        raise DataMissingError(f"run '{run}' has no split.json: its test split is unknown")
    test_ids = trained.split["test"]
    with open_dataset(source_set(ctx)) as ds:
        catalog = ds.catalog
        rows = rows_of(test_ids, catalog)
        images = ds.images[np.sort(rows)]
        truth = catalog.iloc[np.sort(rows)].reset_index(drop=True)
    bt = truth["bulge_to_total"].to_numpy(float)
    scale = truth["pixel_scale_arcsec"].to_numpy(float)
    re_arcsec = truth["bulge_half_light_radius_arcsec"].to_numpy(float)
    n_cal = len(images) // 2
    maps = bulge_maps(trained, images, n_draws=2 if cfg.quick else 4,
                      n_samples=cfg.smoothgrad_samples, seed=ctx.seed(30))  # fmt: skip
    tables: list[pd.DataFrame] = []
    metrics: dict[str, Any] = {}
    sizes = None
    sources: tuple[tuple[str, np.ndarray | None], ...] = (("saliency", maps), ("image_only", None))
    for method, source in sources:
        cal = calibrate_bulge(None if source is None else source[:n_cal], images[:n_cal],
                              bt[:n_cal], re_arcsec[:n_cal] / scale[:n_cal])  # fmt: skip
        table = measure_features(None if source is None else source[n_cal:], images[n_cal:],
                                 cal, pixel_scale_arcsec=scale[n_cal:])  # fmt: skip
        tables.append(pd.DataFrame({
            "id": truth["id"].astype(str)[n_cal:].to_numpy(), "method": method,
            "true_bt": bt[n_cal:], "measured_bt": table["bulge_to_total"].to_numpy(),
            "true_re_arcsec": re_arcsec[n_cal:],
            "measured_re_arcsec": table["bulge_half_light_radius_arcsec"].to_numpy(),
        }))  # fmt: skip
        if source is None:
            cal_table = measure_features(None, images[:n_cal], cal,
                                         pixel_scale_arcsec=scale[:n_cal])  # fmt: skip
            sizes = (cal_table["galaxy_half_light_radius_arcsec"].to_numpy(),
                     table["galaxy_half_light_radius_arcsec"].to_numpy())  # fmt: skip
    if sizes is None:  # the image_only pass above always sets them
        raise RuntimeError("size control not computed")
    direct = _direct_bt(ctx, trained.split["train"], images[n_cal:])
    tables.append(pd.DataFrame({
        "id": truth["id"].astype(str)[n_cal:].to_numpy(), "method": "direct",
        "true_bt": bt[n_cal:], "measured_bt": direct,
        "true_re_arcsec": re_arcsec[n_cal:], "measured_re_arcsec": np.nan,
    }))  # fmt: skip
    tables.append(pd.DataFrame({
        "id": truth["id"].astype(str)[n_cal:].to_numpy(), "method": "size",
        "true_bt": bt[n_cal:], "measured_bt": size_control(sizes[0], bt[:n_cal], sizes[1], high=1.0),
        "true_re_arcsec": re_arcsec[n_cal:],
        "measured_re_arcsec": size_control(sizes[0], re_arcsec[:n_cal], sizes[1],
                                            high=np.inf),
    }))  # fmt: skip
    for t in tables:
        method = str(t["method"].iloc[0])
        for q in ("bt", "re_arcsec") if method != "direct" else ("bt",):
            stats = evaluate_lengths(t[f"measured_{q}"], t[f"true_{q}"], seed=ctx.seed(31))
            metrics[f"pearson_r_{q}_{method}"] = round(stats["pearson_r"], 3)
            metrics[f"pearson_r_{q}_{method}_ci95"] = (
                f"[{stats['pearson_r_ci_low']:.2f}, {stats['pearson_r_ci_high']:.2f}]"
            )
    metrics["calibration galaxies"] = n_cal
    metrics["test galaxies"] = len(images) - n_cal
    write_features(
        ctx.out, "simulated", table=pd.concat(tables, ignore_index=True), metrics=metrics,
        title="Bulge B/T and half-light radius from the morphology network's maps",
        description=f"MC dropout x SmoothGrad maps of the 'bulge-dominated' output of the "
        f"morphology network on {len(images)} simulated test galaxies it never trained on: "
        f"{n_cal} calibrate the measurement, the rest test it against the simulation truth.",
    )  # fmt: skip
    return {"metrics": metrics}
