"""Stage 9, with ``--data``: transfer to Galaxy Zoo 1, and Galaxy Builder bar lengths."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.demo.common import (
    bar_saliency,
    classification_panel,
    describe,
    morph_model,
    run_dir,
    train_config,
)
from galaxy_xai.demo.runner import Context, read_marker
from galaxy_xai.errors import ParameterError

__all__ = ["stage_real"]

logger = logging.getLogger("galaxy_xai.demo")  # one logger for the whole demo


def stage_real(ctx: Context) -> dict[str, Any]:
    """With --data: transfer to Galaxy Zoo 1, and measure Galaxy Builder bars."""
    root = Path(ctx.config.data)  # type: ignore[arg-type]
    summary: dict[str, Any] = {"provenance": {}, "panels": []}
    gz1_dir, gzb_dir = root / "gz1-sdss", root / "galaxy-builder"
    if gz1_dir.is_dir():
        summary["gz1"] = _real_gz1(ctx, gz1_dir, summary)
    else:
        logger.warning("real data: '%s' not found; Galaxy Zoo 1 transfer skipped", gz1_dir)
    if gzb_dir.is_dir():
        gzb = _import_real(
            ctx,
            "galaxy-builder",
            gzb_dir,
            summary,
            label="Galaxy Builder (real)",
            what="SDSS r-band cutouts with volunteer component models (Lingard et al. "
            f"2020), asinh-stretched, {ctx.config.image_size} px",
        )
        summary["panels"] += [["bars", "galaxy-builder"], ["gallery", "galaxy-builder"]]
        summary["galaxy_builder"] = _real_bars(ctx, gzb)
    else:
        logger.warning("real data: '%s' not found; Galaxy Builder bars skipped", gzb_dir)
    return summary


def _import_real(
    ctx: Context,
    reader: str,
    source: Path,
    summary: dict[str, Any],
    *,
    label: str,
    what: str,
    limit: int | None = None,
) -> Path:
    """Import one real-data folder (grey, the demo's image size) and record its provenance."""
    from galaxy_xai.data import import_dataset

    path = import_dataset(
        reader,
        source,
        ctx.stage_dir("real") / f"{reader}.h5",
        size=ctx.config.image_size,
        channels="gray",
        limit=limit,
        skip_bad=True,
    )
    summary["provenance"][label] = describe(path, what)
    return Path(path)


def _real_gz1(ctx: Context, source: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune the morphology network on GZ1 bulge vs disk; its test-split panel."""
    from galaxy_xai.report import write_training
    from galaxy_xai.train import train

    cfg = ctx.config
    gz1 = _import_real(
        ctx,
        "gz1",
        source,
        summary,
        label="Galaxy Zoo 1 (real)",
        what=f"SDSS gri JPEGs with Galaxy Zoo 1 classes (Lintott et al. 2008/2011), "
        f"first {cfg.real_limit} of {source}, grey, {cfg.image_size} px",
        limit=cfg.real_limit,
    )
    name, kwargs = morph_model(ctx)
    # elliptical -> bulge-dominated; spirals and edge-on disks -> disk-dominated
    class_map = {"0": "bulge", "1": "disk", "2": "disk", "3": "disk", "4": None, "5": None}
    config = train_config(
        ctx,
        data=gz1,
        target="label",
        class_map=class_map,
        model=name,
        model_kwargs=kwargs,
        epochs=cfg.transfer_epochs,
        seed=ctx.seed(20),
        transfer_from=run_dir(ctx, "train_morphology"),
    )
    run = ctx.stage_dir("real") / "gz1-run"
    train(config, run)
    write_training(
        ctx.out,
        "4-gz1",
        metrics=run / "metrics.csv",
        title="Transfer to Galaxy Zoo 1 (real SDSS)",
        description="Simulation-trained morphology network fine-tuned on real GZ1 "
        "ellipticals (bulge) vs spirals and edge-on disks (disk).",
    )
    names = ["bulge", "disk"]
    codes = {0: 0, 1: 1, 2: 1, 3: 1}
    summary["panels"] += [["training", "4-gz1"], ["classification", "4-gz1"]]
    return classification_panel(
        ctx,
        run=run,
        data=gz1,
        labels_of=lambda cat: np.array([codes[int(v)] for v in cat["label"]]),
        panel="4-gz1",
        title="Galaxy Zoo 1 test galaxies (real SDSS)",
        description=f"Classes {names}: GZ1 ellipticals vs spirals + edge-on disks; "
        "'don't know' and mergers left out.",
        seed=ctx.seed(21),
    )


def _real_bars(ctx: Context, path: Path) -> dict[str, Any]:
    """Bar lengths of the Galaxy Builder galaxies with a volunteer bar model."""
    from galaxy_xai.bars import BarParams, evaluate_lengths, measure_bars
    from galaxy_xai.data import open_dataset
    from galaxy_xai.report import write_bars, write_gallery
    from galaxy_xai.train import load_trained

    trained = load_trained(run_dir(ctx, "train_bars"))
    with open_dataset(path) as ds:
        cat = ds.catalog
        rows = np.flatnonzero(cat["has_bar"].to_numpy().astype(bool))
        rows = rows[np.isfinite(cat["bar_Re_arcsec"].to_numpy(dtype=np.float64)[rows])]
        images = ds.images[rows]
        ids = cat["id"].to_numpy()[rows].astype(str)
        # reference full length: twice the bar model's effective radius, in imported px
        ref_px = (
            2
            * cat["bar_Re_arcsec"].to_numpy(dtype=np.float64)[rows]
            / cat["pixel_scale_arcsec"].to_numpy(dtype=np.float64)[rows]
        )
    maps = bar_saliency(ctx, trained, images, seed=ctx.seed(22))
    marker = read_marker(ctx.stage_dir("bars") / "done.json") or {}
    params_dict = (marker.get("summary") or {}).get("params")
    params = BarParams(**params_dict) if params_dict else BarParams()
    measured = measure_bars(maps, images, ids=ids, params=params)
    lengths = measured["bar_length_px"].to_numpy()
    try:
        metrics: dict[str, Any] = evaluate_lengths(lengths, ref_px, seed=ctx.seed(23))
    except ParameterError as exc:  # too few measured bars for a correlation
        metrics = {"note": str(exc)}
    table = pd.DataFrame(
        {
            "id": ids,
            "true_bar_length_px": ref_px,
            "measured_bar_length_px": lengths,
            "quality_flag": measured["quality_flag"],
        }
    )
    write_bars(
        ctx.out,
        "galaxy-builder",
        table=table,
        metrics=metrics,
        title="Galaxy Builder bars (real SDSS): measured vs 2 x volunteer bar R_e",
        description="The simulation-trained bar network's SmoothGrad maps, measured "
        "with the settings calibrated on simulations; the reference is twice the "
        "effective radius of the volunteers' Sersic bar model (a proxy for the full "
        "length, so compare Pearson r rather than RMSE).",
    )
    k = min(12, len(ids))
    write_gallery(
        ctx.out,
        "galaxy-builder",
        images=images[:k],
        saliency=maps[:k],
        table=pd.DataFrame(
            {
                "id": ids[:k],
                "caption": [f"L={v:.1f} px" for v in lengths[:k]],
                "bar_length_px": lengths[:k],
                "bar_angle_deg": measured["bar_angle_deg"].to_numpy()[:k],
            }
        ),
        title="Galaxy Builder barred galaxies (real SDSS)",
        description="Real galaxies with a volunteer bar model; no true angle is drawn.",
    )
    return {k: v for k, v in metrics.items() if k in ("pearson_r", "rmse", "n")}
