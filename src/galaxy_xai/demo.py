"""The end-to-end demo: the whole toolkit on simulated galaxies, then an HTML report.

``galaxy-xai demo --out DIR`` needs no data and no downloads. The chain::

    1 simulate        SDSS-like galaxies (barred / unbarred, bulge / disk dominated), a
                      second, differently observed labelled set for transfer learning,
                      and a held-out barred set for the bar measurement
    2 train_morphology  GaMorNet-style 3-class network (disk / indeterminate / bulge)
    3 train_bars      bar / no-bar network (Bhambra et al. 2022)
    4 transfer        the morphology network fine-tuned on the small labelled set
    5 predict         MC-dropout predictions with uncertainties on both test sets
    6 explain         SmoothGrad maps of the bar output, sanity checks per method
    7 bars            bar lengths measured from the maps of independent simulated barred
                      galaxies (calibrated on one half, tested on the other) against
                      the simulation truth
    8 distill         a distilled prototype set per class (expert buffer + STM)
   (9 real            with --data: Galaxy Zoo 1 transfer and Galaxy Builder bars)
    N report          DIR/report.html from the saved artefacts

Every stage writes its artefacts under ``DIR/stages/<name>/`` and the report's panels
under ``DIR/<section>/``, then a done-marker ``DIR/stages/<name>/done.json`` holding the
fingerprint of its configuration (and of the stages it depends on). A rerun skips
stages whose marker matches, so an interrupted demo resumes; ``force=True`` reruns all.
Seeds derive from one ``seed``: two runs with the same configuration give the same
numbers (on the same hardware, library versions and torch thread count).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.config import config_to_dict
from galaxy_xai.errors import DataMissingError, ParameterError
from galaxy_xai.io import write_json

__all__ = ["STAGES", "DemoConfig", "demo_config", "run_demo"]

logger = logging.getLogger(__name__)

MORPH_CLASSES = ("disk", "indeterminate", "bulge")  # GaMorNet classes, simulate's morph_label
BAR_CLASSES = ("no_bar", "bar")
DEMO_MARKER = "demo.json"


@dataclass(frozen=True)
class DemoConfig:
    """Every setting of the demo (defaults: the full run, about 10 minutes on 2 cores)."""

    seed: int = 0  # every stage's seed derives from this
    quick: bool = False  # recorded only; the sizes below say what runs
    data: str | None = None  # real-data folder; None: simulations only
    image_size: int = 64  # px at the SDSS pixel scale (0.396 arcsec)
    n_source: int = 1500  # simulated galaxies to train on
    n_target: int = 400  # the small labelled "transfer" set
    target_preset: str = "decals"  # survey the transfer set is simulated for
    bar_fraction: float = 0.5  # fraction of simulated galaxies with a bar
    model: str = "gamornet"  # morphology architecture
    model_width: float = 0.125  # GaMorNet width multiplier (1.0 = published)
    bar_model: str = "compact"  # bar network architecture
    epochs: int = 10  # epochs of the morphology network
    bar_epochs: int = 10  # epochs of the bar network
    transfer_epochs: int = 6
    batch_size: int = 32
    mc_samples: int = 20  # Monte Carlo dropout passes per galaxy
    smoothgrad_samples: int = 25  # noisy copies per SmoothGrad map
    n_explain: int = 120  # independent barred galaxies explained, calibrated on, measured
    n_sanity: int = 8  # galaxies in the sanity checks
    # attribution methods checked (integrated_gradients also works; it costs ~2x the rest)
    sanity_methods: tuple[str, ...] = ("gradient", "smoothgrad", "gradcam")
    distill_experts: int = 2
    distill_expert_epochs: int = 6
    distill_ipc: int = 3  # prototypes per class
    distill_iterations: int = 20  # each unrolls 10 student steps: the costliest loop here
    distill_eval_epochs: int = 60
    real_limit: int = 1200  # real galaxies imported per set with --data


QUICK = {
    "image_size": 40,
    "n_source": 320,
    "n_target": 120,
    "model_width": 0.0625,
    "epochs": 5,
    "bar_epochs": 5,
    "transfer_epochs": 3,
    "mc_samples": 5,
    "smoothgrad_samples": 10,
    "n_explain": 32,
    "n_sanity": 4,
    "sanity_methods": ("gradient", "smoothgrad"),
    "distill_experts": 2,
    "distill_expert_epochs": 4,
    "distill_ipc": 2,
    "distill_iterations": 8,
    "distill_eval_epochs": 20,
    "real_limit": 200,
}


def demo_config(*, quick: bool = False, seed: int = 0, data: str | None = None) -> DemoConfig:
    """The default (or ``quick``) demo configuration.

    Raises
    ------
    ParameterError
        If ``seed`` is not an integer >= 0.
    DataMissingError
        If ``data`` is given but is not a folder.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("--seed", seed, "must be an integer >= 0")
    if data is not None and not Path(data).is_dir():
        raise DataMissingError(f"--data folder '{data}' does not exist")
    overrides: dict[str, Any] = dict(QUICK) if quick else {}
    return DemoConfig(seed=seed, quick=quick, data=data, **overrides)


# --------------------------------------------------------------------------- stages
@dataclass(frozen=True)
class Stage:
    """One step of the chain: its function and the config fields it depends on."""

    name: str
    run: Callable[[Context], dict[str, Any]]
    keys: tuple[str, ...]
    needs: tuple[str, ...] = ()
    real_data: bool = False  # runs only with --data


@dataclass
class Context:
    """What a stage function gets: the output folder and the configuration."""

    out: Path
    config: DemoConfig
    timings: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def stage_dir(self, name: str) -> Path:
        return self.out / "stages" / name

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    def seed(self, offset: int) -> int:
        return int(self.config.seed) * 1000 + offset


def _fingerprint(stage: Stage, config: DemoConfig, upstream: dict[str, str]) -> str:
    from galaxy_xai import __version__

    payload = {
        "stage": stage.name,
        "version": __version__,
        "config": {k: config_to_dict(getattr(config, k)) for k in ("seed", *stage.keys)},
        "needs": {n: upstream.get(n, "") for n in stage.needs},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ParameterError("--out", str(out), "is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / DEMO_MARKER).is_file():
        raise ParameterError(
            "--out",
            str(out),
            f"is a non-empty folder that holds no demo run ({DEMO_MARKER} missing); "
            "choose an empty or new folder",
        )


def run_demo(
    out: str | os.PathLike[str],
    config: DemoConfig | None = None,
    *,
    force: bool = False,
) -> Path:
    """Run the demo chain into ``out`` and return the path of ``out/report.html``.

    Parameters
    ----------
    out
        Output folder: new, empty, or an earlier demo run (resumed).
    config
        :class:`DemoConfig`; default :func:`demo_config` ().
    force
        Rerun every stage even when its done-marker matches.

    Returns
    -------
    Path
        ``out/report.html``.

    Raises
    ------
    ParameterError
        If ``out`` is a file, or a non-empty folder that is not a demo run.
    """
    config = config or demo_config()
    out = Path(out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / DEMO_MARKER, {"config": config_to_dict(config)})
    stages = [s for s in STAGES if config.data is not None or not s.real_data]
    ctx = Context(out, config)
    for stage in STAGES:
        if stage not in stages and ctx.stage_dir(stage.name).exists():
            _remove_stage(ctx, stage.name)  # e.g. real-data results of an earlier --data run
    fingerprints: dict[str, str] = {}
    timings = ctx.timings
    for k, stage in enumerate(stages, start=1):
        fp = _fingerprint(stage, config, fingerprints)
        fingerprints[stage.name] = fp
        marker = ctx.stage_dir(stage.name) / "done.json"
        done = _read_marker(marker)
        label = f"stage {k}/{len(stages)} {stage.name}"
        if stage.name != "report" and not force and done and done.get("fingerprint") == fp:
            logger.info("%s ... skipped (finished earlier in %.1f s)", label, done["seconds"])
            timings.append({"name": stage.name, "seconds": done["seconds"], "status": "resumed"})
            continue
        logger.info("%s ...", label)
        if ctx.stage_dir(stage.name).exists():
            shutil.rmtree(ctx.stage_dir(stage.name))
        ctx.stage_dir(stage.name).mkdir(parents=True)
        t0 = time.perf_counter()
        summary = stage.run(ctx)
        seconds = round(time.perf_counter() - t0, 2)
        write_json(marker, {"fingerprint": fp, "seconds": seconds, "summary": summary})
        timings.append({"name": stage.name, "seconds": seconds, "status": "ran"})
        logger.info("%s ... done in %.1f s", label, seconds)
    return out / "report.html"


def _remove_stage(ctx: Context, name: str) -> None:
    """Delete a stage's folder and the report panels it listed in its done-marker."""
    marker = _read_marker(ctx.stage_dir(name) / "done.json") or {}
    for section, panel in (marker.get("summary") or {}).get("panels", []):
        folder = ctx.out / str(section) / str(panel)
        if folder.is_dir() and folder.parent.parent == ctx.out:
            shutil.rmtree(folder)
    shutil.rmtree(ctx.stage_dir(name))
    logger.info("removed the results of stage %r (not part of this run)", name)


def _write_run_info(ctx: Context, timings: list[dict[str, Any]]) -> None:
    from galaxy_xai.report import write_run_info

    provenance: dict[str, Any] = {}
    for name in ("simulate", "real"):
        marker = _read_marker(ctx.stage_dir(name) / "done.json")
        if marker:
            provenance.update(marker.get("summary", {}).get("provenance", {}))
    cfg = ctx.config
    description = (
        f"The galaxy-xai demo: {cfg.n_source} SDSS-like galaxies simulated with GalSim "
        f"({cfg.image_size} px, barred and unbarred, bulge- and disk-dominated) train a "
        "GaMorNet-style morphology network and a bar network; the morphology network is "
        f"transferred to a second labelled set of {cfg.n_target} galaxies observed "
        "differently; predictions carry Monte Carlo dropout uncertainties; SmoothGrad maps "
        "of the bar output, checked by parameter randomisation, give bar lengths that are "
        "compared with the simulation truth; the training set is distilled into a few "
        "synthetic prototypes per class."
        + (f" Real data from {cfg.data}: Galaxy Zoo 1 and Galaxy Builder." if cfg.data else "")
        + (" Quick mode: tiny sizes, for a smoke test, not for science." if cfg.quick else "")
    )
    write_run_info(
        ctx.out,
        description=description,
        title="galaxy-xai demo" + (" (quick)" if ctx.config.quick else ""),
        config=config_to_dict(ctx.config),
        provenance=provenance,
        stages=timings,
    )


# --------------------------------------------------------------------------- helpers
def _source(ctx: Context) -> Path:
    return ctx.stage_dir("simulate") / "source.h5"


def _target(ctx: Context) -> Path:
    return ctx.stage_dir("simulate") / "target.h5"


def _bar_set(ctx: Context) -> Path:
    return ctx.stage_dir("simulate") / "barred.h5"


def _run_dir(ctx: Context, stage: str) -> Path:
    return ctx.stage_dir(stage) / "run"


def _train_config(
    ctx: Context,
    *,
    data: Path,
    target: str,
    output_names: tuple[str, ...] = (),
    class_map: dict[str, str | None] | None = None,
    model: str,
    model_kwargs: dict[str, Any],
    epochs: int,
    seed: int,
    transfer_from: Path | None = None,
) -> Any:
    from galaxy_xai.train import (
        DataConfig,
        ModelConfig,
        OptimConfig,
        TrainConfig,
        TrainerConfig,
        TransferConfig,
    )

    cfg = ctx.config
    return TrainConfig(
        data=DataConfig(
            path=str(data),
            target=target,
            output_names=output_names,
            class_map=class_map,
            split_seed=seed,
        ),
        model=ModelConfig(name=model, kwargs=model_kwargs),
        optim=OptimConfig(name="adam", lr=1e-3, schedule="none"),
        trainer=TrainerConfig(
            max_epochs=epochs,
            batch_size=cfg.batch_size,
            patience=0,
            accelerator="cpu",
            deterministic=True,
        ),
        transfer=TransferConfig(checkpoint=str(transfer_from), preset="sdss")
        if transfer_from is not None
        else TransferConfig(),
        seed=seed,
    )


def _morph_model(ctx: Context) -> tuple[str, dict[str, Any]]:
    if ctx.config.model == "gamornet":
        return "gamornet", {"width": ctx.config.model_width}
    return ctx.config.model, {}


def _train(ctx: Context, stage: str, config: Any, *, panel: str, title: str, what: str) -> dict:
    from galaxy_xai.report import write_training
    from galaxy_xai.train import train

    run = train(config, _run_dir(ctx, stage))
    write_training(ctx.out, panel, metrics=run / "metrics.csv", title=title, description=what)
    metrics = json.loads((run / "metrics.json").read_text())
    return {"run": str(run), "test_metrics": _scalars(metrics)}


def _scalars(mapping: dict[str, Any]) -> dict[str, Any]:
    """The flat number/string entries of a mapping (for summaries and report tables)."""
    return {
        k: v
        for k, v in mapping.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    }


def _rows_of(ids: list[str], catalog: pd.DataFrame) -> np.ndarray:
    index = pd.Index(catalog["id"].astype(str))
    rows = index.get_indexer(ids)
    if (rows < 0).any():
        missing = [i for i, r in zip(ids, rows, strict=True) if r < 0][:3]
        raise DataMissingError(f"ids {missing} of the training split are not in the dataset")
    return rows


def _classification_panel(
    ctx: Context,
    *,
    run: Path,
    data: Path,
    labels_of: Callable[[pd.DataFrame], np.ndarray],
    panel: str,
    title: str,
    description: str,
    seed: int,
) -> dict[str, Any]:
    """MC-dropout predictions of a run's test split, saved as a report panel."""
    from galaxy_xai.data import open_dataset
    from galaxy_xai.report import write_classification
    from galaxy_xai.train import evaluate, load_trained, predict

    trained = load_trained(run)
    names = list(trained.output_names)
    with open_dataset(data) as ds:
        rows = _rows_of(list(trained.split["test"]), ds.catalog)
        catalog = ds.catalog.iloc[rows].reset_index(drop=True)
        table = predict(
            trained,
            ds,
            indices=rows,
            mc_samples=ctx.config.mc_samples,
            seed=seed,
            batch_size=128,
        )
        metrics = evaluate(trained, ds, split="test")
    labels = labels_of(catalog)
    frame = pd.DataFrame(
        {
            "id": table["id"].astype(str),
            "label": labels,
            "pred": [names.index(p) for p in table["predicted"]],
            **{f"p_{c}": table[f"prob_{c}"] for c in names},
            "uncertainty": table["predictive_entropy"],
            "mutual_information": table["mutual_information"],
        }
    )
    shown = _scalars(metrics)
    shown["mc_samples"] = ctx.config.mc_samples
    write_classification(
        ctx.out,
        panel,
        table=frame,
        label_names=names,
        title=title,
        description=description + " Uncertainty: predictive entropy (nats) of the "
        f"mean over {ctx.config.mc_samples} MC-dropout passes.",
        metrics=shown,
    )
    return {"accuracy": float(np.mean(frame["label"] == frame["pred"])), "n": len(frame)}


def _morph_labels(catalog: pd.DataFrame) -> np.ndarray:
    return catalog["morph_label"].to_numpy().astype(np.int64)


def _bar_labels(catalog: pd.DataFrame) -> np.ndarray:
    return catalog["barred"].to_numpy().astype(np.int64)


# --------------------------------------------------------------------------- stages
def _stage_train_morphology(ctx: Context) -> dict[str, Any]:
    name, kwargs = _morph_model(ctx)
    config = _train_config(
        ctx,
        data=_source(ctx),
        target="morph_label",
        output_names=MORPH_CLASSES,
        model=name,
        model_kwargs=kwargs,
        epochs=ctx.config.epochs,
        seed=ctx.seed(2),
    )
    return _train(
        ctx,
        "train_morphology",
        config,
        panel="1-morphology",
        title="Morphology network (simulated SDSS)",
        what=f"{name} ({kwargs or 'default size'}) learning disk / indeterminate / bulge "
        "(GaMorNet classes from the simulated bulge-to-total ratio).",
    )


def _stage_train_bars(ctx: Context) -> dict[str, Any]:
    config = _train_config(
        ctx,
        data=_source(ctx),
        target="barred",
        output_names=BAR_CLASSES,
        model=ctx.config.bar_model,
        model_kwargs={},
        epochs=ctx.config.bar_epochs,
        seed=ctx.seed(3),
    )
    return _train(
        ctx,
        "train_bars",
        config,
        panel="2-bars",
        title="Bar network (simulated SDSS)",
        what=f"{ctx.config.bar_model} classifying barred vs unbarred galaxies; its 'bar' "
        "output is explained to measure bar lengths (Bhambra et al. 2022).",
    )


def _stage_transfer(ctx: Context) -> dict[str, Any]:
    name, kwargs = _morph_model(ctx)
    config = _train_config(
        ctx,
        data=_target(ctx),
        target="morph_label",
        output_names=MORPH_CLASSES,
        model=name,
        model_kwargs=kwargs,
        epochs=ctx.config.transfer_epochs,
        seed=ctx.seed(4),
        transfer_from=_run_dir(ctx, "train_morphology"),
    )
    return _train(
        ctx,
        "transfer",
        config,
        panel="3-transfer",
        title="Transfer learning to the small labelled set",
        what="The morphology network fine-tuned (GaMorNet SDSS preset: convolutional "
        "layers loaded, dense layers re-trained) on the second, differently observed set.",
    )


def _stage_predict(ctx: Context) -> dict[str, Any]:
    return {
        "simulated": _classification_panel(
            ctx,
            run=_run_dir(ctx, "train_morphology"),
            data=_source(ctx),
            labels_of=_morph_labels,
            panel="1-simulated",
            title="Morphology network on simulated SDSS test galaxies",
            description="Test split of the training simulation.",
            seed=ctx.seed(5),
        ),
        "transfer": _classification_panel(
            ctx,
            run=_run_dir(ctx, "transfer"),
            data=_target(ctx),
            labels_of=_morph_labels,
            panel="2-transfer",
            title="Transferred network on the labelled set's test galaxies",
            description="Test split of the second set, after fine-tuning.",
            seed=ctx.seed(6),
        ),
        "bars": _classification_panel(
            ctx,
            run=_run_dir(ctx, "train_bars"),
            data=_source(ctx),
            labels_of=_bar_labels,
            panel="3-bar-network",
            title="Bar network on simulated test galaxies",
            description="Barred vs unbarred, test split.",
            seed=ctx.seed(7),
        ),
    }


def _explained(ctx: Context) -> Path:
    return ctx.stage_dir("explain") / "maps.npz"


def _stage_explain(ctx: Context) -> dict[str, Any]:
    from galaxy_xai.data import open_dataset
    from galaxy_xai.explain import attribute, sanity_check
    from galaxy_xai.report import write_sanity
    from galaxy_xai.train import load_trained

    cfg = ctx.config
    trained = load_trained(_run_dir(ctx, "train_bars"))
    with open_dataset(_bar_set(ctx)) as ds:
        barred = np.flatnonzero(ds.catalog["barred"].to_numpy().astype(bool))
        images = ds.images[barred]  # (N, C, H, W)
        ids = ds.catalog["id"].to_numpy()[barred].astype(str)
    maps = attribute(
        trained,
        images,
        method="smoothgrad",
        target="bar",
        n_samples=cfg.smoothgrad_samples,
        noise_level=0.15,
        seed=ctx.seed(8),
    )  # (N, H, W)
    np.savez_compressed(_explained(ctx), ids=ids, images=images, maps=maps.astype(np.float32))

    checks = sanity_check(
        trained,
        images[: cfg.n_sanity],
        methods=cfg.sanity_methods,
        target="bar",
        mode="cascading",
        seed=ctx.seed(9),
        n_samples=cfg.smoothgrad_samples,
    )
    threshold = 0.5
    scores = {
        m: {
            "spearman (trained vs randomised)": r["spearman"],
            "spearman of |map|": r["spearman_abs"],
        }
        for m, r in checks.items()
    }
    passed = {m: bool(abs(r["spearman_abs"]) < threshold) for m, r in checks.items()}
    write_sanity(
        ctx.out,
        "bar-network",
        scores=scores,
        passed=passed,
        title="Model-parameter randomisation test (Adebayo et al. 2018), bar network",
        description=f"Rank correlation between each method's maps of the trained network "
        f"and of the network with every layer re-initialised (cascading from the output), "
        f"over {min(cfg.n_sanity, len(images))} barred galaxies. A method whose maps depend "
        f"on the learnt weights gives a low correlation: it passes when |spearman of "
        f"|map|| < {threshold}.",
        details={"threshold": threshold, "checks": checks},
    )
    return {"n_maps": len(ids), "passed": passed}


def _stage_bars(ctx: Context) -> dict[str, Any]:
    from galaxy_xai.bars import CalibrationGrid, calibrate, evaluate_lengths, measure_bars
    from galaxy_xai.data import open_dataset
    from galaxy_xai.report import write_bars, write_gallery

    cfg = ctx.config
    with np.load(_explained(ctx)) as data:
        ids, images, maps = data["ids"], data["images"], data["maps"]
    with open_dataset(_bar_set(ctx)) as ds:
        truth = ds.catalog.set_index(ds.catalog["id"].astype(str)).loc[ids]
    true_px = truth["bar_length_px"].to_numpy(dtype=np.float64)
    true_angle = truth["bar_position_angle_deg"].to_numpy(dtype=np.float64)
    n_cal = len(ids) // 2  # first half calibrates, second half is evaluated
    grid = (
        CalibrationGrid(
            corr_thresholds=(0.75, 0.85),
            min_pixels=(5, 10),
            multiply=(False,),
            criteria=("eigen",),
            variants=("published", "moments"),
            smooth_sigma_px=(0.0,),
        )
        if cfg.quick
        else CalibrationGrid(
            corr_thresholds=(0.7, 0.8, 0.9),
            min_pixels=(5, 10, 20),
            multiply=(False, True),
            smooth_sigma_px=(0.0, 1.0),
        )
    )
    cal = calibrate(
        maps[:n_cal], true_px[:n_cal], images=images[:n_cal], ids=ids[:n_cal], grid=grid
    )
    measured = measure_bars(maps[n_cal:], images[n_cal:], ids=ids[n_cal:], params=cal.params)
    metrics = evaluate_lengths(
        measured["bar_length_px"].to_numpy(), true_px[n_cal:], seed=ctx.seed(10)
    )
    metrics.update({f"calibrated {k}": v for k, v in dataclasses.asdict(cal.params).items()})
    metrics["calibration galaxies"] = n_cal
    table = pd.DataFrame(
        {
            "id": ids[n_cal:],
            "true_bar_length_px": true_px[n_cal:],
            "measured_bar_length_px": measured["bar_length_px"].to_numpy(),
            "quality_flag": measured["quality_flag"].to_numpy(),
        }
    )
    write_bars(
        ctx.out,
        "simulated",
        table=table,
        metrics=metrics,
        title="Bar lengths from SmoothGrad maps vs simulation truth",
        description=f"Measured on {len(table)} simulated barred galaxies, never trained on, "
        f"with the settings calibrated on {n_cal} others (threshold scan of Bhambra et al. "
        "2022, length scale fitted); bootstrap 95% intervals from the bars stage.",
    )
    k = min(12, len(table))
    write_gallery(
        ctx.out,
        "simulated",
        images=images[n_cal:][:k],
        saliency=maps[n_cal:][:k],
        table=pd.DataFrame(
            {
                "id": ids[n_cal:][:k],
                "caption": [
                    f"L={m:.1f} px (true {t:.1f})"
                    for m, t in zip(
                        table["measured_bar_length_px"][:k], true_px[n_cal:][:k], strict=True
                    )
                ],
                "bar_length_px": table["measured_bar_length_px"][:k],
                "bar_angle_deg": measured["bar_angle_deg"].to_numpy()[:k],
                "true_bar_length_px": true_px[n_cal:][:k],
                "true_bar_angle_deg": true_angle[n_cal:][:k],
            }
        ),
        title="Simulated barred galaxies (held out)",
        description="SmoothGrad maps of the bar network's 'bar' output.",
    )
    summary = {k: v for k, v in metrics.items() if k in ("pearson_r", "rmse", "n")}
    summary["params"] = dataclasses.asdict(cal.params)
    return summary


def _stage_distill(ctx: Context) -> dict[str, Any]:
    from galaxy_xai.distill import (
        BufferConfig,
        DistillConfig,
        EvalConfig,
        distill,
        evaluate_distilled,
        load_distilled,
        train_experts,
    )
    from galaxy_xai.report import write_prototypes

    cfg = ctx.config
    folder = ctx.stage_dir("distill")
    class_map = ",".join(f"{i}:{c}" for i, c in enumerate(MORPH_CLASSES))
    buffer = train_experts(
        _source(ctx),
        folder / "buffer",
        BufferConfig(
            experts=cfg.distill_experts,
            epochs=cfg.distill_expert_epochs,
            batch_size=64,
            target="morph_label",
            class_map=class_map,
            seed=ctx.seed(11),
            split_seed=ctx.seed(11),
            width=32,
            depth=3,
        ),
    )
    distill(
        buffer,
        folder / "distilled",
        DistillConfig(
            ipc=cfg.distill_ipc,
            method="stm",
            iterations=cfg.distill_iterations,
            syn_steps=10,
            expert_epochs=2,
            max_start_epoch=max(1, cfg.distill_expert_epochs - 2),
            lr_img=100.0,
            seed=ctx.seed(12),
            checkpoint_every=max(1, cfg.distill_iterations),
        ),
    )
    scores = evaluate_distilled(
        folder / "distilled",
        config=EvalConfig(
            runs=1 if cfg.quick else 2,
            baselines=("random", "full") if cfg.quick else ("random", "mean", "full"),
            epochs=cfg.distill_eval_epochs,
            full_epochs=max(2, cfg.distill_expert_epochs),
            seed=ctx.seed(13),
            saliency=None,
        ),
        out=folder / "evaluation.json",
    )
    dset = load_distilled(folder / "distilled")
    metrics: dict[str, Any] = {"ipc": dset.ipc, "chance": scores.get("chance")}
    for key, value in scores.items():
        if isinstance(value, dict) and "mean" in value:
            metrics[f"{key}_accuracy"] = value["mean"]
            metrics[f"{key}_accuracy_std"] = value.get("std")
    write_prototypes(
        ctx.out,
        "stm",
        images=dset.pixel_images().numpy(),
        labels=dset.labels.numpy(),
        label_names=dset.class_names,
        metrics=metrics,
        title=f"STM-distilled prototypes ({dset.ipc} per class)",
        description="Synthetic images distilled from the simulated training set by "
        "trajectory matching with the self-adaptive schedule (Guan et al. 2023); test "
        "accuracy of fresh networks trained on them vs on random real subsets of the "
        "same size and on the full set.",
    )
    return metrics


def _stage_report(ctx: Context) -> dict[str, Any]:
    from galaxy_xai.report import build_report

    _write_run_info(ctx, ctx.timings)
    report = build_report(ctx.out, ctx.out / "report.html")
    return {"report": str(report)}


#: The simulated population: nearby SDSS main-sample disks whose bars are resolved
#: (bars ~7-40 px, 3-15 arcsec, at 0.396 arcsec/px), bulge-to-total over its full range.
POPULATION: dict[str, Any] = {
    "survey": {"disk_half_light_radius_arcsec": [3.0, 7.0], "magnitude": [13.5, 16.0]},
    "bar": {"length_to_disk_scale": [0.8, 2.2], "disk_light_fraction": [0.15, 0.35]},
}


def _stage_simulate(ctx: Context) -> dict[str, Any]:
    from galaxy_xai.simulate import load_simulation_config, simulate_dataset

    cfg = ctx.config
    workers = 1 if cfg.quick else min(2, os.cpu_count() or 1)
    common = {"size": cfg.image_size, "rendering": "jpeg-gray"}
    sets = {
        # trains the morphology and bar networks
        "source": (
            _source(ctx), cfg.n_source, ctx.seed(0),
            {**POPULATION, **common, "preset": "sdss", "bar_fraction": cfg.bar_fraction},
        ),
        # the small labelled set the morphology network is transferred to
        "target": (
            _target(ctx), cfg.n_target, ctx.seed(0) + 1,
            {**common, "preset": cfg.target_preset, "bar_fraction": cfg.bar_fraction,
             "framing": "relative"},
        ),
        # independent barred galaxies: calibrate and evaluate the bar measurement
        "bars": (
            _bar_set(ctx), cfg.n_explain, ctx.seed(0) + 2,
            {**POPULATION, **common, "preset": "sdss", "bar_fraction": 1.0},
        ),
    }  # fmt: skip
    for path, n, seed, mapping in sets.values():
        simulate_dataset(
            path, config=load_simulation_config(mapping), n=n, seed=seed, workers=workers
        )
    provenance = {
        "simulated training set": _describe(
            _source(ctx),
            "GalSim simulation, SDSS r-band preset (0.396 arcsec/px, fixed framing), "
            f"nearby disks with resolved bars ({json.dumps(POPULATION)})",
        ),
        "simulated labelled (transfer) set": _describe(
            _target(ctx),
            f"GalSim simulation, {cfg.target_preset} preset, default population, Galaxy "
            "Zoo-like framing (stamp spans ~10 R90): stands in for a small real labelled set",
        ),
        "simulated barred evaluation set": _describe(
            _bar_set(ctx),
            "GalSim simulation as the training set but every disk barred and another "
            "seed: half calibrates the bar measurement, half tests it",
        ),
    }
    return {"provenance": provenance}


def _describe(path: Path, what: str) -> dict[str, Any]:
    from galaxy_xai.data import open_dataset

    with open_dataset(path) as ds:
        cat = ds.catalog
        info: dict[str, Any] = {
            "what": what,
            "file": str(path),
            "galaxies": len(ds),
            "image shape (C, H, W)": list(ds.image_shape),
        }
        if "morph_label" in cat.columns:
            counts = cat["morph_label"].value_counts().sort_index()
            info["disk / indeterminate / bulge"] = " / ".join(
                str(int(counts.get(i, 0))) for i in range(3)
            )
        if "barred" in cat.columns:
            info["barred"] = int(cat["barred"].astype(bool).sum())
        for key in ("kind", "preset", "seed", "source_format"):
            if key in ds.metadata:
                info[key] = ds.metadata[key]
        prov = ds.metadata.get("provenance")
        if isinstance(prov, dict):
            info.update(
                {f"provenance: {k}": v for k, v in prov.items() if isinstance(v, str | int | float)}
            )
    return info


def _stage_real(ctx: Context) -> dict[str, Any]:
    """With --data: transfer to Galaxy Zoo 1, and measure Galaxy Builder bars."""
    from galaxy_xai.data import import_dataset

    cfg = ctx.config
    root = Path(cfg.data)  # type: ignore[arg-type]
    folder = ctx.stage_dir("real")
    summary: dict[str, Any] = {"provenance": {}, "panels": []}
    gz1_dir, gzb_dir = root / "gz1-sdss", root / "galaxy-builder"
    if gz1_dir.is_dir():
        gz1 = import_dataset(
            "gz1",
            gz1_dir,
            folder / "gz1.h5",
            size=cfg.image_size,
            channels="gray",
            limit=cfg.real_limit,
            skip_bad=True,
        )
        summary["provenance"]["Galaxy Zoo 1 (real)"] = _describe(
            gz1,
            f"SDSS gri JPEGs with Galaxy Zoo 1 classes (Lintott et al. 2008/2011), "
            f"first {cfg.real_limit} of {gz1_dir}, grey, {cfg.image_size} px",
        )
        name, kwargs = _morph_model(ctx)
        # elliptical -> bulge-dominated; spirals and edge-on disks -> disk-dominated
        class_map = {"0": "bulge", "1": "disk", "2": "disk", "3": "disk", "4": None, "5": None}
        config = _train_config(
            ctx,
            data=gz1,
            target="label",
            class_map=class_map,
            model=name,
            model_kwargs=kwargs,
            epochs=cfg.transfer_epochs,
            seed=ctx.seed(20),
            transfer_from=_run_dir(ctx, "train_morphology"),
        )
        run = folder / "gz1-run"
        from galaxy_xai.report import write_training
        from galaxy_xai.train import train

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
        summary["gz1"] = _classification_panel(
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
    else:
        logger.warning("real data: '%s' not found; Galaxy Zoo 1 transfer skipped", gz1_dir)
    if gzb_dir.is_dir():
        gzb = import_dataset(
            "galaxy-builder",
            gzb_dir,
            folder / "galaxy-builder.h5",
            size=cfg.image_size,
            channels="gray",
            skip_bad=True,
        )
        summary["provenance"]["Galaxy Builder (real)"] = _describe(
            gzb,
            "SDSS r-band cutouts with volunteer component models (Lingard et al. 2020), "
            f"asinh-stretched, {cfg.image_size} px",
        )
        summary["panels"] += [["bars", "galaxy-builder"], ["gallery", "galaxy-builder"]]
        summary["galaxy_builder"] = _real_bars(ctx, gzb)
    else:
        logger.warning("real data: '%s' not found; Galaxy Builder bars skipped", gzb_dir)
    return summary


def _real_bars(ctx: Context, path: Path) -> dict[str, Any]:
    """Bar lengths of the Galaxy Builder galaxies with a volunteer bar model."""
    from galaxy_xai.bars import BarParams, evaluate_lengths, measure_bars
    from galaxy_xai.data import open_dataset
    from galaxy_xai.explain import attribute
    from galaxy_xai.report import write_bars, write_gallery
    from galaxy_xai.train import load_trained

    cfg = ctx.config
    trained = load_trained(_run_dir(ctx, "train_bars"))
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
    maps = attribute(
        trained,
        images,
        method="smoothgrad",
        target="bar",
        n_samples=cfg.smoothgrad_samples,
        noise_level=0.15,
        seed=ctx.seed(22),
    )
    marker = _read_marker(ctx.stage_dir("bars") / "done.json") or {}
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


_ALL = ("image_size", "n_source", "bar_fraction", "target_preset", "n_target", "n_explain")
_MORPH = ("model", "model_width", "epochs", "batch_size")
STAGES: tuple[Stage, ...] = (
    Stage("simulate", _stage_simulate, _ALL),
    Stage("train_morphology", _stage_train_morphology, _MORPH, ("simulate",)),
    Stage(
        "train_bars", _stage_train_bars, ("bar_model", "bar_epochs", "batch_size"), ("simulate",)
    ),
    Stage("transfer", _stage_transfer, (*_MORPH, "transfer_epochs"), ("train_morphology",)),
    Stage(
        "predict", _stage_predict, ("mc_samples",), ("transfer", "train_morphology", "train_bars")
    ),
    Stage(
        "explain",
        _stage_explain,
        ("n_explain", "n_sanity", "smoothgrad_samples", "sanity_methods"),
        ("train_bars",),
    ),
    Stage("bars", _stage_bars, ("quick",), ("explain",)),
    Stage(
        "distill",
        _stage_distill,
        (
            "distill_experts",
            "distill_expert_epochs",
            "distill_ipc",
            "distill_iterations",
            "distill_eval_epochs",
            "quick",
        ),
        ("simulate",),
    ),
    Stage(
        "real",
        _stage_real,
        ("data", "real_limit", "transfer_epochs", "smoothgrad_samples"),
        ("train_morphology", "train_bars", "bars"),
        real_data=True,
    ),
    Stage("report", _stage_report, (), ()),
)
