"""``train(config, out_dir)``: one training run, from dataset file to run folder."""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import signal
import threading
from pathlib import Path
from typing import Any, cast

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from galaxy_xai.config import config_to_dict, save_config
from galaxy_xai.data.store import GalaxyDataset, open_dataset
from galaxy_xai.errors import ConfigError, ModelMismatchError, ParameterError
from galaxy_xai.io import OutputLock, write_json
from galaxy_xai.models.files import LEGACY_MODEL_NAME, MODEL_INFO_NAME, safe_torch_load
from galaxy_xai.models.heads import Head, build_head
from galaxy_xai.models.registry import build_model
from galaxy_xai.models.trained import model_info
from galaxy_xai.train.augment import build_augment
from galaxy_xai.train.config import TrainConfig, TransferConfig, load_train_config
from galaxy_xai.train.datamodule import (
    SPLIT_PARTS,
    make_dataset,
    make_loader,
    make_split,
    require_finite_images,
)
from galaxy_xai.train.io import save_trained
from galaxy_xai.train.lightning_module import GalaxyLitModule
from galaxy_xai.train.targets import Targets, prepare_targets, question_groups
from galaxy_xai.train.trainer import make_trainer
from galaxy_xai.train.transfer import apply_transfer

__all__ = ["class_weights", "train"]

log = logging.getLogger(__name__)

# Sections that must not change between an interrupted run and its resumption.
_FIXED_ON_RESUME = ("data", "model", "task", "transfer")


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> list[float] | None:
    """Per-class loss weights: ``balanced`` = N / (K * n_k), ``sqrt`` its square root.

    Parameters
    ----------
    labels
        ``(N,)`` integer class indices of the training galaxies.
    num_classes
        K.
    mode
        ``none``, ``balanced`` or ``sqrt``.

    Returns
    -------
    list of float or None
        K weights (0 for an absent class); None for ``none``.
    """
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    return weights.tolist()


def _check_resume(config: TrainConfig, run_dir: Path) -> None:
    """Check that a resumed run keeps the saved run's data, model, task and transfer.

    Raises
    ------
    ConfigError
        Naming the sections that differ.
    """
    saved_file = run_dir / "config.yaml"
    if not saved_file.is_file():
        return
    saved = config_to_dict(load_train_config(saved_file))
    now = config_to_dict(config)
    changed = [k for k in _FIXED_ON_RESUME if saved.get(k) != now.get(k)]
    if changed:
        raise ConfigError(
            f"cannot resume '{run_dir}': its config differs in {changed} "
            f"(saved {[saved[k] for k in changed]}, now {[now[k] for k in changed]})"
        )


def train(
    config: TrainConfig | str | os.PathLike[str] | dict[str, Any],
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
) -> Path:
    """Train a model and write the run folder (see docs/architecture.md).

    Parameters
    ----------
    config
        A :class:`TrainConfig`, a mapping, or a YAML/TOML file; ``config.data.path``
        names the dataset.
    out_dir
        The run folder. It must not already hold a finished run unless ``resume``.
    resume
        Continue from ``RUN/checkpoints/last.ckpt`` (epoch count, weights, optimiser
        and scheduler state); starts afresh if there is none yet.

    Returns
    -------
    Path
        The run folder, holding ``config.yaml``, ``split.json``, ``checkpoints/``,
        ``model.safetensors`` + ``model.json``, ``metrics.csv`` and ``metrics.json``.

    Raises
    ------
    ParameterError
        If ``out_dir`` holds a run and ``resume`` is False, or no dataset is given.
    ConfigError
        If resuming with a config whose data, model, task or transfer differ.
    ModelMismatchError
        If the images do not fit the chosen architecture or transfer checkpoint.
    DataFormatError
        For unusable targets (unknown labels, empty split...).
    """
    config = load_train_config(config)
    run_dir = Path(out_dir)
    with _run_lock(run_dir):
        return _train_locked(config, run_dir, resume=resume)


def _run_lock(run_dir: Path) -> contextlib.AbstractContextManager[Any]:
    """An exclusive lock on the run folder, taken by the launching process only.

    Lightning's DDP launcher re-runs the command in one process per device, and the
    other nodes run it too: those find ``LOCAL_RANK``/``NODE_RANK``/``RANK`` (or SLURM's
    ``SLURM_PROCID``) set to a non-zero value and write only what their rank writes.

    Raises
    ------
    OutputBusyError
        If another process is training into ``run_dir``.
    """
    ranks = ("LOCAL_RANK", "NODE_RANK", "RANK", "GROUP_RANK", "SLURM_PROCID")
    if any(os.environ.get(name, "0") != "0" for name in ranks):
        return contextlib.nullcontext()
    return OutputLock(run_dir)


def _train_locked(config: TrainConfig, run_dir: Path, *, resume: bool) -> Path:
    """:func:`train` once the run folder is locked (or on a non-zero DDP rank)."""
    last = run_dir / "checkpoints" / "last.ckpt"
    _check_start(config, run_dir, last, resume=resume)
    resuming = resume and last.exists()
    L.seed_everything(config.seed, workers=True, verbose=False)

    with open_dataset(config.data.path) as ds:
        targets, parts = _training_targets(ds, config)
        c, h, _ = ds.image_shape  # square: checked by _training_targets
        model = build_model(
            config.model.name,
            in_channels=c,
            num_outputs=len(targets.output_names),
            image_size=h,
            **config.model.kwargs,
        )
        lr_scale = _apply_transfer(model, config.transfer, resuming=resuming)
        head = _build_head(config, targets, parts)
        lit = _lit_module(config, model, head, targets, lr_scale=lr_scale)
        lit.has_val = len(parts["val"]) > 0
        train_loader, val_loader = _loaders(ds, targets, parts, config, last if resuming else None)
        monitor = "val_loss" if lit.has_val else "train_loss"
        trainer = make_trainer(config.trainer, run_dir, monitor=monitor, seed=config.seed)
        if trainer.is_global_zero:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, run_dir / "config.yaml")
            split_ids = {k: targets.ids[parts[k]].tolist() for k in SPLIT_PARTS}
            write_json(run_dir / "split.json", split_ids)
        _fit(trainer, lit, train_loader, val_loader, str(last) if resuming else None)
        if not trainer.is_global_zero:
            return run_dir
        best_epoch = _save_best_model(trainer, model, head, config, run_dir, targets.output_names)
        _write_test_metrics(run_dir, ds, trainer, best_epoch, has_test=len(parts["test"]) > 0)
    return run_dir


def _check_start(config: TrainConfig, run_dir: Path, last: Path, *, resume: bool) -> None:
    """Check that the run can start (or resume) in ``run_dir``.

    Raises
    ------
    ParameterError
        If no dataset is named, or ``run_dir`` holds a run and ``resume`` is False.
    ConfigError
        If resuming with a config that differs in :data:`_FIXED_ON_RESUME`.
    """
    if not config.data.path:
        raise ParameterError("data.path", config.data.path, "name the dataset file (--data X.h5)")
    finished = [run_dir / n for n in (MODEL_INFO_NAME, LEGACY_MODEL_NAME)]
    if not resume and (last.exists() or any(f.exists() for f in finished)):
        raise ParameterError(
            "out", str(run_dir), "already holds a training run; use --resume or another folder"
        )
    if resume:
        _check_resume(config, run_dir)


def _training_targets(
    ds: GalaxyDataset, config: TrainConfig
) -> tuple[Targets, dict[str, np.ndarray]]:
    """The targets and their train/val/test split, after checking the images.

    Raises
    ------
    ModelMismatchError
        If the images are not square.
    DataFormatError, DataMissingError
        For missing images, unusable targets or non-finite training images.
    """
    ds.require_images("train on")
    targets = prepare_targets(ds, config.data, config.task)
    _, h, w = ds.image_shape
    if h != w:
        raise ModelMismatchError(
            f"dataset '{ds.path}' images are {h}x{w}; models need square images"
        )
    parts = make_split(targets, config.data, config.task)
    require_finite_images(ds, targets.rows)
    return targets, parts


def _apply_transfer(model: torch.nn.Module, tcfg: TransferConfig, *, resuming: bool) -> float:
    """Start a fine-tuning run from ``tcfg.checkpoint``; returns the lr scale.

    A resumed fine-tuning run takes its weights from its own checkpoint, but its
    frozen layers stay frozen.

    Raises
    ------
    ModelMismatchError
        If the transfer checkpoint does not fit ``model``.
    """
    if tcfg.checkpoint and not resuming:
        apply_transfer(
            model, tcfg.checkpoint, preset=tcfg.preset, load=tcfg.load,
            reinit=tcfg.reinit, freeze=tcfg.freeze,
        )  # fmt: skip
    elif tcfg.checkpoint:
        from galaxy_xai.train.transfer import preset_layers, resolve_layers

        frozen = (preset_layers(model, tcfg.preset)["freeze"] if tcfg.preset else []) + (
            resolve_layers(model, tcfg.freeze)
        )
        for layer in frozen:
            for p in getattr(model, layer).parameters():
                p.requires_grad_(False)
    return tcfg.lr_scale if tcfg.checkpoint else 1.0


def _build_head(config: TrainConfig, targets: Targets, parts: dict[str, np.ndarray]) -> Head:
    """The task's head, with what it learns from the training targets.

    Class weights (classification), question groups (vote fractions as Dirichlet)
    or the target mean and standard deviation (regression).
    """
    train_values = targets.values[parts["train"]]
    head_kwargs: dict[str, Any] = {}
    if config.task == "classification":
        head_kwargs["class_weights"] = class_weights(
            train_values, len(targets.output_names), config.optim.class_weighting
        )
    elif config.task == "dirichlet":
        head_kwargs["groups"] = question_groups(config.data, targets.output_names)
    elif config.task == "regression":
        head_kwargs["mean"] = train_values.mean(0).tolist()
        head_kwargs["std"] = np.maximum(train_values.std(0), 1e-8).tolist()
    return build_head(config.task, len(targets.output_names), **head_kwargs)


def _lit_module(
    config: TrainConfig,
    model: torch.nn.Module,
    head: Head,
    targets: Targets,
    *,
    lr_scale: float,
) -> GalaxyLitModule:
    """The Lightning module, carrying what its checkpoints record about the run."""
    extra = model_info(model, head, targets.output_names, config_to_dict(config))
    return GalaxyLitModule(
        model, head, optim=config.optim, augment=build_augment(config.augment),
        lr_scale=lr_scale, max_epochs=config.trainer.max_epochs, extra=extra,
    )  # fmt: skip


def _loaders(
    ds: GalaxyDataset,
    targets: Targets,
    parts: dict[str, np.ndarray],
    config: TrainConfig,
    resume_from: Path | None,
) -> tuple[Any, Any]:
    """The training loader (shuffled, seeded) and the validation loader (None if no val).

    Raises
    ------
    ModelMismatchError
        If ``resume_from`` is not a readable training checkpoint.
    """
    bs = config.trainer.batch_size
    train_loader = make_loader(
        make_dataset(ds, targets, parts["train"], config.data), batch_size=bs, shuffle=True,
        cfg=config.data, seed=config.seed,
    )  # fmt: skip
    if resume_from is not None:  # the first resumed epoch's order, before Lightning sets it
        done = _read_resume_checkpoint(resume_from).get("epoch", -1)
        train_loader.sampler.set_epoch(int(done) + 1)
    if not len(parts["val"]):
        return train_loader, None
    val_loader = make_loader(
        make_dataset(ds, targets, parts["val"], config.data),
        batch_size=bs,
        shuffle=False,
        cfg=config.data,
    )
    return train_loader, val_loader


def _save_best_model(
    trainer: L.Trainer,
    model: torch.nn.Module,
    head: Head,
    config: TrainConfig,
    run_dir: Path,
    output_names: list[str],
) -> int:
    """Load the best checkpoint's weights into ``model`` and save it; returns its epoch.

    Raises
    ------
    ParameterError
        If training diverged (non-finite loss or weights); no model is written.
    """
    # make_trainer's checkpoint callback is a ModelCheckpoint; Lightning types it as Checkpoint
    ckpt = cast("ModelCheckpoint | None", trainer.checkpoint_callback)
    best = ckpt.best_model_path if ckpt else ""
    if best and Path(best).is_file():
        blob = safe_torch_load(best, what="checkpoint")
        state = {k[6:]: v for k, v in blob["state_dict"].items() if k.startswith("model.")}
        model.load_state_dict(state)
        best_epoch = int(blob.get("epoch", -1))
    else:
        best_epoch = trainer.current_epoch - 1
    model.cpu().eval()
    cause = _divergence(trainer, ckpt, model)
    if cause is not None:
        raise ParameterError(
            "optim.lr", config.optim.lr,
            f"training diverged: {cause}; no model was written (try a smaller --lr, or "
            "check the images' value range)",
        )  # fmt: skip
    save_trained(
        run_dir, model, head.cpu(), output_names=output_names,
        config=config, extra={"best_epoch": best_epoch},
    )  # fmt: skip
    return best_epoch


def _write_test_metrics(
    run_dir: Path, ds: GalaxyDataset, trainer: L.Trainer, best_epoch: int, *, has_test: bool
) -> None:
    """Evaluate the saved model on the test split and write ``metrics.json``."""
    from galaxy_xai.train.predict import evaluate, load_trained

    trained = load_trained(run_dir)
    metrics: dict[str, Any] = {"epochs_trained": trainer.current_epoch, "best_epoch": best_epoch}
    if has_test:
        metrics.update(evaluate(trained, ds, split="test"))
    else:
        metrics["note"] = "no test split (data.test_fraction = 0)"
    write_json(run_dir / "metrics.json", metrics)


def _divergence(
    trainer: L.Trainer, ckpt: ModelCheckpoint | None, model: torch.nn.Module
) -> str | None:
    """Why the model about to be saved is unusable (a non-finite loss or weights), or None.

    The model is the best checkpoint's: a loss that turned NaN only after the best
    epoch leaves a usable model (and a warning).
    """
    monitor = ckpt.monitor if ckpt is not None and ckpt.monitor else "train_loss"
    metrics = trainer.callback_metrics
    last = float(metrics[monitor]) if monitor in metrics else None
    best = ckpt.best_model_score if ckpt is not None and ckpt.best_model_path else None
    score = float(best) if best is not None else last
    if score is not None and not math.isfinite(score):
        shown = score if last is None else last  # the best score shows NaN as inf
        return f"{monitor} is {shown:g} after epoch {trainer.current_epoch}"
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"the weights '{name}' are not finite"
    if last is not None and not math.isfinite(last):
        log.warning(
            "%s is %g after epoch %d: keeping the best epoch's model (%s %.4g)",
            monitor, last, trainer.current_epoch, monitor, score,
        )  # fmt: skip
    return None


def _read_resume_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint to resume from, read weights-only (it is checked before Lightning reads it).

    Raises
    ------
    ModelMismatchError
        If it is empty, damaged, or holds objects a weights-only load refuses.
    """
    blob = safe_torch_load(path, what="checkpoint")
    if not isinstance(blob, dict) or "state_dict" not in blob or "galaxy_xai" not in blob:
        raise ModelMismatchError(f"checkpoint '{path}' is not a galaxy-xai training checkpoint")
    return blob


def _fit(
    trainer: L.Trainer,
    lit: L.LightningModule,
    train_loader: Any,
    val_loader: Any,
    ckpt_path: str | None,
) -> None:
    """``trainer.fit`` with a weights-only resume, and Ctrl-C raised as KeyboardInterrupt.

    On Ctrl-C Lightning saves nothing more, tears down and calls ``sys.exit(1)``; the
    CLI must instead report the interruption (exit 130, "rerun to resume"), so that
    exit is turned back into the ``KeyboardInterrupt`` it came from.
    """
    kwargs: dict[str, Any] = {}
    if ckpt_path is not None:
        _read_resume_checkpoint(Path(ckpt_path))
        if "weights_only" in inspect.signature(trainer.fit).parameters:
            kwargs["weights_only"] = True
    try:
        trainer.fit(
            lit, train_dataloaders=train_loader, val_dataloaders=val_loader,
            ckpt_path=ckpt_path, **kwargs,
        )  # fmt: skip
    except SystemExit:
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        # Lightning ignores SIGINT while it shuts down; give Ctrl-C back to the caller.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
