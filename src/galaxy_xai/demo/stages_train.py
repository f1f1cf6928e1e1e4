"""Stages 1-5: simulate the galaxies, train and transfer the networks, predict.

* ``simulate``: the training set, a differently observed labelled set for transfer
  learning, and independent barred galaxies for the bar measurement;
* ``train_morphology``: GaMorNet-style disk / indeterminate / bulge network;
* ``train_bars``: bar / no-bar network (Bhambra et al. 2022);
* ``transfer``: the morphology network fine-tuned on the small labelled set;
* ``predict``: MC-dropout predictions with uncertainties on both test sets.
"""

from __future__ import annotations

import json
import os
from typing import Any

from galaxy_xai.demo.common import (
    bar_labels,
    bar_set,
    bar_train_set,
    classification_panel,
    describe,
    morph_labels,
    morph_model,
    run_dir,
    source_set,
    target_set,
    train_config,
    train_run,
)
from galaxy_xai.demo.config import BAR_CLASSES, MORPH_CLASSES
from galaxy_xai.demo.runner import Context

__all__ = [
    "POPULATION",
    "stage_predict",
    "stage_simulate",
    "stage_train_bars",
    "stage_train_morphology",
    "stage_transfer",
]

#: The shipped bar network the demo fine-tunes and explains.
BAR_ZOO_MODEL = "zoo:bar-sdss"
#: Input size of the shipped bar network (zoo:bar-sdss) that explains the barred set.
BAR_MODEL_SIZE = 64
#: The simulated population: nearby SDSS main-sample disks whose bars are resolved
#: (bars ~7-40 px, 3-15 arcsec, at 0.396 arcsec/px), bulge-to-total over its full range.
POPULATION: dict[str, Any] = {
    "survey": {"disk_half_light_radius_arcsec": [3.0, 7.0], "magnitude": [13.5, 16.0]},
    "bar": {"length_to_disk_scale": [0.8, 2.2], "disk_light_fraction": [0.15, 0.35]},
}
#: The galaxies the bar network learns and is tested on: those of POPULATION that Galaxy
#: Zoo 2 asks the bar question of (Willett et al. 2013: "features or disk", then "not
#: edge-on"): disk-dominated (B/T <= 0.5) and inclined by at most ~70 deg (cos i >=
#: 0.35). In the whole population a bar is also drawn in bulge-dominated and edge-on
#: galaxies, where it holds a few per cent of the light inside the bulge or is seen
#: edge-on: a network cannot see it. Fine-tuned on the whole population (same training
#: settings) the network scored 0.74: 0.85 on B/T < 0.5, 0.60 on B/T > 0.7, where it
#: calls most unbarred galaxies barred.
DISK_POPULATION: dict[str, Any] = {
    **POPULATION,
    "bulge": {"bulge_to_total": [0.0, 0.5]},
    "disk": {"cos_inclination": [0.35, 1.0]},
}


def stage_simulate(ctx: Context) -> dict[str, Any]:
    """Simulate the three sets; the summary holds their provenance."""
    from galaxy_xai.simulate import load_simulation_config, simulate_dataset
    from galaxy_xai.simulate.presets import STAND_INS

    cfg = ctx.config
    workers = 1 if cfg.quick else min(2, os.cpu_count() or 1)
    common = {"size": cfg.image_size, "rendering": "jpeg-gray"}
    sets = {
        # trains the morphology and bar networks
        "source": (
            source_set(ctx), cfg.n_source, ctx.seed(0),
            {**POPULATION, **common, "preset": "sdss", "bar_fraction": cfg.bar_fraction},
        ),
        # disk galaxies, barred as often as the training set: the bar network is
        # fine-tuned and tested on them
        "bar_train": (
            bar_train_set(ctx), cfg.n_bar_train, ctx.seed(0) + 3,
            {**DISK_POPULATION, **common, "preset": "sdss", "bar_fraction": cfg.bar_fraction},
        ),
        # the small labelled set the morphology network is transferred to
        "target": (
            target_set(ctx), cfg.n_target, ctx.seed(0) + 1,
            {**common, "preset": cfg.target_preset, "bar_fraction": cfg.bar_fraction,
             "framing": "relative"},
        ),
        # independent barred galaxies, simulated as the shipped bar network's training
        # set (Galaxy Builder stand-in): calibrate and evaluate the bar measurement
        "bars": (
            bar_set(ctx), cfg.n_explain, ctx.seed(0) + 2,
            {**STAND_INS["galaxy-builder"], "size": BAR_MODEL_SIZE, "preset": "sdss",
             "bar_fraction": 1.0},
        ),
    }  # fmt: skip
    for path, n, seed, mapping in sets.values():
        simulate_dataset(
            path, config=load_simulation_config(mapping), n=n, seed=seed, workers=workers
        )
    provenance = {
        "simulated training set": describe(
            source_set(ctx),
            "GalSim simulation, SDSS r-band preset (0.396 arcsec/px, fixed framing), "
            f"nearby disks with resolved bars ({json.dumps(POPULATION)})",
        ),
        "simulated bar training set": describe(
            bar_train_set(ctx),
            "GalSim simulation as the training set, but only the galaxies Galaxy Zoo asks "
            f"the bar question of (disks, not edge-on: {json.dumps(DISK_POPULATION)}), "
            f"bar fraction {cfg.bar_fraction}: the bar network is fine-tuned and tested on "
            "them",
        ),
        "simulated labelled (transfer) set": describe(
            target_set(ctx),
            f"GalSim simulation, {cfg.target_preset} preset, default population, Galaxy "
            "Zoo-like framing (stamp spans ~10 R90): stands in for a small real labelled set",
        ),
        "simulated barred evaluation set": describe(
            bar_set(ctx),
            "GalSim simulation, Galaxy Builder stand-in (STAND_INS['galaxy-builder'], "
            f"{BAR_MODEL_SIZE} px, as the shipped bar-sdss network was trained), every disk "
            "barred, another seed: half calibrates the bar measurement, half tests it",
        ),
    }
    return {"provenance": provenance}


def stage_train_morphology(ctx: Context) -> dict[str, Any]:
    """Train the disk / indeterminate / bulge network on the simulated training set."""
    name, kwargs = morph_model(ctx)
    config = train_config(
        ctx,
        data=source_set(ctx),
        target="morph_label",
        output_names=MORPH_CLASSES,
        model=name,
        model_kwargs=kwargs,
        epochs=ctx.config.epochs,
        seed=ctx.seed(2),
    )
    return train_run(
        ctx,
        "train_morphology",
        config,
        panel="1-morphology",
        title="Morphology network (simulated SDSS)",
        what=f"{name} ({kwargs or 'default size'}) learning disk / indeterminate / bulge "
        "(GaMorNet classes from the simulated bulge-to-total ratio).",
    )


def stage_train_bars(ctx: Context) -> dict[str, Any]:
    """Fine-tune the shipped bar network on the simulated disks (barred / unbarred).

    Its convolutional layers come from ``zoo:bar-sdss`` (the ``sdss`` transfer preset:
    dense layers new), so that the demo shows fine-tuning of a shipped model on a small
    labelled set observed differently (JPEG-like grey, fixed framing). The loaded layers
    learn at the full rate (``lr_scale`` 1): at the preset's 0.1 they barely adapt to the
    new rendering in the demo's epochs. The learning rate follows a cosine schedule: at
    a constant 1e-3 the validation accuracy swung between 0.69 and 0.87 from epoch to
    epoch, so the test accuracy depended on which epoch happened to be best (0.82 at 2
    torch threads, 0.88 at 1, same data and seed); annealed, 0.90 and 0.89. The other
    demo networks keep the constant rate (annealed, the morphology network's bulge
    saliency fell from r 0.74 to 0.62).
    """
    from galaxy_xai import zoo

    shipped = zoo.load(BAR_ZOO_MODEL)
    config = train_config(
        ctx,
        data=bar_train_set(ctx),
        target="barred",
        output_names=BAR_CLASSES,
        model=shipped.config.model.name,
        model_kwargs=dict(shipped.config.model.kwargs),
        epochs=ctx.config.bar_epochs,
        seed=ctx.seed(3),
        transfer_from=BAR_ZOO_MODEL,
        transfer_lr_scale=1.0,
        schedule="cosine",
    )
    return train_run(
        ctx,
        "train_bars",
        config,
        panel="2-bars",
        title="Bar network (simulated SDSS), fine-tuned from zoo:bar-sdss",
        what="the shipped bar network fine-tuned to classify barred vs unbarred galaxies of "
        "the demo's training set (Bhambra et al. 2022).",
    )


def stage_transfer(ctx: Context) -> dict[str, Any]:
    """Fine-tune the morphology network on the small labelled set."""
    name, kwargs = morph_model(ctx)
    config = train_config(
        ctx,
        data=target_set(ctx),
        target="morph_label",
        output_names=MORPH_CLASSES,
        model=name,
        model_kwargs=kwargs,
        epochs=ctx.config.transfer_epochs,
        seed=ctx.seed(4),
        transfer_from=run_dir(ctx, "train_morphology"),
    )
    return train_run(
        ctx,
        "transfer",
        config,
        panel="3-transfer",
        title="Transfer learning to the small labelled set",
        what="The morphology network fine-tuned (GaMorNet SDSS preset: convolutional "
        "layers loaded, dense layers re-trained) on the second, differently observed set.",
    )


#: The networks that stage_predict evaluates: (key, run stage, dataset, label reader,
#: panel, title, description, seed index).
_PREDICT_PANELS = (
    ("simulated", "train_morphology", source_set, morph_labels, "1-simulated",
     "Morphology network on simulated SDSS test galaxies",
     "Test split of the training simulation.", 5),
    ("transfer", "transfer", target_set, morph_labels, "2-transfer",
     "Transferred network on the labelled set's test galaxies",
     "Test split of the second set, after fine-tuning.", 6),
    ("bars", "train_bars", bar_train_set, bar_labels, "3-bar-network",
     "Bar network on simulated test galaxies",
     "Barred vs unbarred disk galaxies, test split.", 7),
)  # fmt: skip


def stage_predict(ctx: Context) -> dict[str, Any]:
    """MC-dropout predictions of the three networks on their test splits."""
    return {
        key: classification_panel(
            ctx,
            run=run_dir(ctx, stage),
            data=data_of(ctx),
            labels_of=labels_of,
            panel=panel,
            title=title,
            description=text,
            seed=ctx.seed(seed),
        )
        for key, stage, data_of, labels_of, panel, title, text, seed in _PREDICT_PANELS
    }
