"""Stage ``zoo``: the shipped models on freshly simulated galaxies, and their cards.

Each shipped model is scored on new simulations made as its recipe made its training
set (other seeds, never trained on): ``bar-sdss`` and ``bar-length-direct`` on Galaxy
Builder stand-in galaxies (half barred), ``gamornet-sdss`` on GZ1 stand-in grey
galaxies. ``gz1-morphology`` has no simulated counterpart (simulated colour JPEGs are
still told apart from real ones, see ``sim-realism``): its card is shown alone. Every
card goes to the report's "models" section with what the model scored here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.demo.runner import Context

__all__ = ["stage_zoo"]


def _simulate(ctx: Context, name: str, *, n: int, size: int, seed: int, **kwargs: Any) -> Path:
    from galaxy_xai.simulate import simulate_dataset

    path = ctx.stage_dir("zoo") / f"{name}.h5"
    simulate_dataset(path, n=n, preset="sdss", size=size, seed=seed, workers=1, resume=True,
                     **kwargs)  # fmt: skip
    return path


def _bar_figures(ctx: Context, n: int) -> dict[str, dict[str, Any]]:
    """bar-sdss and bar-length-direct on fresh Galaxy Builder stand-in galaxies."""
    from sklearn.metrics import roc_auc_score

    from galaxy_xai import zoo
    from galaxy_xai.data import open_dataset
    from galaxy_xai.simulate.presets import STAND_INS
    from galaxy_xai.stats import pearson_r, rmse
    from galaxy_xai.train import predict

    bar = zoo.load("bar-sdss")
    data = _simulate(ctx, "bars_standin", n=n, size=bar.input_shape[1], seed=ctx.seed(30),
                     bar_fraction=0.5, config=dict(STAND_INS["galaxy-builder"]))  # fmt: skip
    with open_dataset(data) as ds:
        cat = ds.catalog.copy()
    barred = cat["barred"].to_numpy().astype(bool)
    p_bar = predict(bar, data, batch_size=256)["bar"].to_numpy(dtype=float)
    figures = {
        "bar-sdss": {
            "n_simulated": n,
            "accuracy_at_0.5": round(float(np.mean((p_bar >= 0.5) == barred)), 4),
            "roc_auc": round(float(roc_auc_score(barred, p_bar)), 4) if 0 < barred.sum() < n
            else float("nan"),
        }
    }  # fmt: skip
    direct = zoo.load("bar-length-direct")
    rows = np.flatnonzero(barred)
    est = predict(direct, data, indices=rows, batch_size=256)[direct.output_names[0]].to_numpy()
    truth = cat["bar_length_px"].to_numpy(dtype=float)[rows]
    figures["bar-length-direct"] = {
        "n_barred": len(rows),
        "pearson_r": round(pearson_r(est, truth), 4) if len(rows) > 2 else float("nan"),
        "rmse_px": round(rmse(est, truth), 4),
    }
    return figures


def _gamornet_figures(ctx: Context, n: int) -> dict[str, Any]:
    """gamornet-sdss on fresh grey galaxies simulated as it was pre-trained (GZ1 stand-in).

    By GaMorNet's decision rule.
    """
    from galaxy_xai import zoo
    from galaxy_xai.data import open_dataset
    from galaxy_xai.train import predict
    from galaxy_xai.zoo.recipe_gamornet import GAMORNET_CLASSES, score_bulge_disk, sim_config

    model = zoo.load("gamornet-sdss")
    size = model.input_shape[1]
    data = _simulate(ctx, "gamornet", n=n, size=size, seed=ctx.seed(31),
                     rendering="jpeg-gray", config=sim_config("stand-in", size))  # fmt: skip
    with open_dataset(data) as ds:
        labels = ds.catalog["label"].to_numpy(dtype=int)
    decided = np.flatnonzero(labels != 1)  # truth disk- or bulge-dominated
    table = predict(model, data, indices=decided, batch_size=256)
    probs = table[[f"prob_{c}" for c in GAMORNET_CLASSES]].to_numpy()
    scores = score_bulge_disk(probs, labels[decided])
    return {"n_simulated": len(decided), **{k: round(v, 4) for k, v in scores.items()}}


def stage_zoo(ctx: Context) -> dict[str, Any]:
    """Score the shipped models on fresh simulations; write each card to the report."""
    from galaxy_xai import zoo
    from galaxy_xai.models.shipped import shipped_dir
    from galaxy_xai.report import write_model_card

    n = int(ctx.config.n_zoo)
    names = sorted(p.name for p in shipped_dir().iterdir() if (p / "card.json").is_file())
    figures: dict[str, dict[str, Any]] = {}
    if {"bar-sdss", "bar-length-direct"} <= set(names):
        figures.update(_bar_figures(ctx, n))
    if "gamornet-sdss" in names:
        figures["gamornet-sdss"] = _gamornet_figures(ctx, n)
    for name in names:
        card = zoo.card(name)
        write_model_card(
            ctx.out, name, card=card, title=f"{name} (version {card['version']})",
            description=card["summary"] + ("" if name in figures else
                                           ": no simulated counterpart; card only"),
            metrics=figures.get(name, {}),
        )  # fmt: skip
    return {"models": names, "figures": figures}
