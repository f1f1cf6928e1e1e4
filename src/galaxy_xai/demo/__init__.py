"""The end-to-end demo: the whole toolkit on simulated galaxies, then an HTML report.

``galaxy-xai demo --out DIR`` needs no data and no downloads. The chain::

    1 simulate        SDSS-like galaxies (barred / unbarred, bulge / disk dominated),
                      disk galaxies (half barred) for the bar network, a second,
                      differently observed labelled set for transfer learning, and a
                      held-out barred set for the bar measurement
    2 train_morphology  GaMorNet-style 3-class network (disk / indeterminate / bulge)
    3 train_bars      bar / no-bar network (Bhambra et al. 2022), fine-tuned from
                      zoo:bar-sdss on the disk galaxies
    4 transfer        the morphology network fine-tuned on the small labelled set
    5 predict         MC-dropout predictions with uncertainties on both test sets
    6 explain         SmoothGrad maps of the bar output of the shipped bar network
                      (zoo:bar-sdss), sanity checks per method
    7 bars            bar lengths measured from the maps of independent simulated barred
                      galaxies (calibrated on one half, tested on the other) against
                      the simulation truth
    8 distill         a distilled prototype set per class (expert buffer + STM)
    9 features        bulge B/T and half-light radius from MC dropout x SmoothGrad maps
                      of the morphology network's bulge output (half of its simulated
                      test galaxies calibrate, half test), with no-saliency controls
   10 zoo             the shipped models (galaxy-xai models list) scored on freshly
                      simulated galaxies; their cards go to the report
   (11 real           with --data: Galaxy Zoo 1 transfer and Galaxy Builder bars)
    N report          DIR/report.html from the saved artefacts

Every stage writes its artefacts under ``DIR/stages/<name>/`` and the report's panels
under ``DIR/<section>/``, then a done-marker ``DIR/stages/<name>/done.json`` holding the
fingerprint of its configuration (and of the stages it depends on). A rerun skips
stages whose marker matches, so an interrupted demo resumes; ``force=True`` reruns all.
Seeds derive from one ``seed``: two runs with the same configuration give the same
numbers (on the same hardware, library versions and torch thread count).

Modules: ``config`` (:class:`DemoConfig`, the quick preset), ``runner`` (:class:`Stage`,
:class:`Context`, markers, :func:`run_demo`), ``common`` (what the stages share) and one
``stages_*`` module per capability; :data:`STAGES` below chains the stage functions.
"""

from __future__ import annotations

from galaxy_xai.demo.config import DemoConfig, demo_config
from galaxy_xai.demo.runner import Context, Stage, run_demo
from galaxy_xai.demo.stages_distill import stage_distill
from galaxy_xai.demo.stages_explain import stage_bars, stage_explain
from galaxy_xai.demo.stages_features import stage_features
from galaxy_xai.demo.stages_real import stage_real
from galaxy_xai.demo.stages_report import stage_report
from galaxy_xai.demo.stages_train import (
    stage_predict,
    stage_simulate,
    stage_train_bars,
    stage_train_morphology,
    stage_transfer,
)
from galaxy_xai.demo.stages_zoo import stage_zoo

__all__ = ["STAGES", "Context", "DemoConfig", "Stage", "demo_config", "run_demo"]

# The chain, in order: each stage's function, the config fields its fingerprint covers
# and the stages it depends on. run_demo reads it from this module when called.
_ALL = (
    "image_size", "n_source", "bar_fraction", "n_bar_train", "target_preset", "n_target",
    "n_explain",
)  # fmt: skip
_MORPH = ("model", "model_width", "epochs", "batch_size")
STAGES: tuple[Stage, ...] = (
    Stage("simulate", stage_simulate, _ALL),
    Stage("train_morphology", stage_train_morphology, _MORPH, ("simulate",)),
    Stage("train_bars", stage_train_bars, ("bar_epochs", "batch_size"), ("simulate",)),
    Stage("transfer", stage_transfer, (*_MORPH, "transfer_epochs"), ("train_morphology",)),
    Stage(
        "predict", stage_predict, ("mc_samples",), ("transfer", "train_morphology", "train_bars")
    ),
    Stage(
        "explain",
        stage_explain,
        ("n_explain", "n_sanity", "smoothgrad_samples", "sanity_methods"),
        ("simulate",),
    ),
    Stage("bars", stage_bars, ("quick",), ("explain",)),
    Stage(
        "distill",
        stage_distill,
        (
            "distill_experts",
            "distill_expert_epochs",
            "distill_ipc",
            "distill_iterations",
            "distill_eval_epochs",
            "distill_eval_runs",
            "quick",
        ),
        ("simulate",),
    ),
    Stage("features", stage_features, ("smoothgrad_samples", "quick"), ("train_morphology",)),
    Stage("zoo", stage_zoo, ("n_zoo",), ()),
    Stage(
        "real",
        stage_real,
        ("data", "real_limit", "transfer_epochs", "smoothgrad_samples"),
        ("train_morphology", "train_bars", "bars"),
        real_data=True,
    ),
    Stage("report", stage_report, (), ()),
)
