"""Matching training trajectories: learn a few synthetic images per class.

Each iteration (Cazenavette et al. 2022):

1. pick an expert and a start epoch t (from the schedule: MTT or STM);
2. from the expert's parameters theta*_t take ``syn_steps`` SGD steps on the
   synthetic images (augmented, with the learnable learning rate), computing the
   network with :func:`torch.func.functional_call` on one flat parameter vector;
3. the loss is the normalised parameter distance
   ``||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2``;
4. back-propagate through the unrolled steps into the images and the learning rate.

Memory is bounded by ``batch_syn`` (images per synthetic step) times ``syn_steps``.
Checkpoints (images, learning rate, optimiser states, schedule state, RNG states)
are written every ``checkpoint_every`` iterations, only after a finite iteration, so
the last good state stays on disk when the run diverges.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from galaxy_xai.config import save_config
from galaxy_xai.distill.augment import SiameseAugment
from galaxy_xai.distill.buffer import ExpertBuffer, load_buffer, prepare_images, unflatten
from galaxy_xai.distill.data import LabelledImages, check_ipc
from galaxy_xai.distill.io import save_distilled
from galaxy_xai.distill.schedule import AdaptiveSchedule, FixedSchedule, STMConstants
from galaxy_xai.errors import GalaxyXAIError, ModelMismatchError, ParameterError
from galaxy_xai.io import atomic_output
from galaxy_xai.models.files import safe_torch_load

__all__ = ["DistillConfig", "DistillResult", "DivergenceError", "distill", "matching_loss"]

log = logging.getLogger(__name__)
# Settings a resumed run may change (e.g. a lower lr after a divergence).
_MAY_CHANGE_ON_RESUME = ("iterations", "checkpoint_every", "lr_img", "lr_lr", "divergence_loss")


class DivergenceError(GalaxyXAIError, RuntimeError):
    """Distillation produced a non-finite or exploding loss; the last good state is kept."""


@dataclass(frozen=True)
class DistillConfig:
    """Settings of one distillation run (defaults close to MTT's CIFAR-10 settings)."""

    ipc: int = 1  # synthetic images per class
    method: str = "stm"  # "mtt" (fixed max start epoch) or "stm" (self-adaptive)
    iterations: int = 5000  # outer iterations (STM may stop earlier, at its lr floor)
    syn_steps: int = 20  # unrolled student steps on the synthetic set (N)
    expert_epochs: int = 2  # expert epochs to match (M)
    max_start_epoch: int = 20  # MTT only: start epochs drawn from 0 .. this - 1
    lr_img: float = 100.0  # image learning rate (MTT: 100-1000 depending on set)
    lr_lr: float = 1e-5  # learning rate of the synthetic learning rate
    lr_init: float | None = None  # initial synthetic lr; None: the teachers' lr
    momentum: float = 0.5  # SGD momentum of both outer optimisers (MTT)
    init: str = "real"  # "real": random real training images; "noise": N(0, 1)
    batch_syn: int | None = None  # images per synthetic step; None: all (K * ipc)
    seed: int = 0
    checkpoint_every: int = 50  # iterations between checkpoints
    divergence_loss: float = 100.0  # a loss above this counts as divergence
    augment: str | None = None  # None: the buffer's augmentation strategy
    stm: STMConstants = field(default_factory=STMConstants)

    def check(self) -> None:
        """Check every setting's range.

        Raises
        ------
        ParameterError
            Naming the first setting out of range.
        """
        for name in ("ipc", "iterations", "syn_steps", "expert_epochs", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(name, value, "must be >= 1")
        if self.method not in ("mtt", "stm"):
            raise ParameterError("method", self.method, "must be 'mtt' or 'stm'")
        if self.init not in ("real", "noise"):
            raise ParameterError("init", self.init, "must be 'real' or 'noise'")
        if self.batch_syn is not None and self.batch_syn < 1:
            raise ParameterError("batch_syn", self.batch_syn, "must be >= 1")
        for name in ("lr_img", "divergence_loss"):
            if not getattr(self, name) > 0:
                raise ParameterError(name, getattr(self, name), "must be > 0")
        if self.lr_lr < 0:
            raise ParameterError("lr_lr", self.lr_lr, "must be >= 0")
        if self.lr_init is not None and not self.lr_init > 0:
            raise ParameterError("lr_init", self.lr_init, "must be > 0")
        self.stm.check()


@dataclass
class DistillResult:
    """What :func:`distill` returns."""

    path: Path
    images: torch.Tensor  # (K * ipc, C, H, W), network input space
    labels: torch.Tensor  # (K * ipc,)
    syn_lr: float
    history: list[dict[str, Any]]
    iterations_done: int
    seconds_per_iteration: float
    class_names: list[str]


def matching_loss(
    model: torch.nn.Module,
    layout: tuple[list[str], list[list[int]]],
    start: torch.Tensor,
    target: torch.Tensor,
    images: torch.Tensor,
    labels: torch.Tensor,
    syn_lr: torch.Tensor,
    *,
    syn_steps: int,
    batch_syn: int | None = None,
    augment: SiameseAugment | None = None,
    generator: torch.Generator | None = None,
    create_graph: bool = True,
) -> torch.Tensor:
    """Normalised parameter distance after ``syn_steps`` student steps from ``start``.

    Parameters
    ----------
    model
        Network whose structure is used through ``functional_call`` (its own
        parameters are not touched).
    layout
        ``(names, shapes)`` of the flat parameter vector.
    start, target
        Flat ``(P,)`` expert parameters at epochs t and t + M.
    images, labels
        Synthetic set ``(n, C, H, W)`` and ``(n,)``.
    syn_lr
        Scalar tensor, the student learning rate.
    syn_steps, batch_syn
        Number of student steps and images per step (None: all).
    augment, generator
        Differentiable augmentation applied to every student batch.
    create_graph
        Keep the graph through the unrolled steps (needed to learn the images);
        False gives the loss value cheaply (STM's probe).

    Returns
    -------
    torch.Tensor
        Scalar ``||theta_N - target||^2 / ||start - target||^2``.
    """
    names, shapes = layout
    n = len(images)
    batch = min(batch_syn or n, n)
    current = start.detach().clone().requires_grad_(True)
    order = torch.randperm(n, generator=generator)
    cursor = 0
    for _ in range(syn_steps):
        if cursor + batch > n:
            order = torch.randperm(n, generator=generator)
            cursor = 0
        idx = order[cursor : cursor + batch]
        cursor += batch
        x = images[idx]
        if augment is not None:
            x = augment(x, generator)
        out = functional_call(model, unflatten(current, names, shapes), (x,))
        ce = F.cross_entropy(out, labels[idx])
        (grad,) = torch.autograd.grad(ce, current, create_graph=create_graph)
        current = current - syn_lr * grad
        if not create_graph:
            current = current.detach().requires_grad_(True)
    distance = ((current - target) ** 2).sum()
    scale = ((start - target) ** 2).sum().clamp_min(1e-12)
    return distance / scale


def _config_dict(config: DistillConfig) -> dict[str, Any]:
    """``config`` as plain data (the STM constants as a nested mapping)."""
    d = asdict(config)
    d["stm"] = asdict(config.stm)
    return d


def _initial_images(
    config: DistillConfig,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    num_classes: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The starting synthetic set: ``ipc`` random real images per class, or N(0, 1) noise.

    Returns
    -------
    tuple of torch.Tensor
        Images ``(K * ipc, C, H, W)`` and labels ``(K * ipc,)``, class by class.
    """
    labels = torch.arange(num_classes).repeat_interleave(config.ipc)
    if config.init == "noise":
        images = torch.randn((len(labels), *x_train.shape[1:]), generator=generator)
    else:
        chosen = []
        for c in range(num_classes):
            members = torch.nonzero(y_train == c).flatten()
            chosen.append(members[torch.randperm(len(members), generator=generator)[: config.ipc]])
        images = x_train[torch.cat(chosen)].clone()
    return images, labels


def distill(
    buffer: str | os.PathLike[str] | ExpertBuffer,
    out: str | os.PathLike[str],
    config: DistillConfig | None = None,
    *,
    resume: bool = False,
    data_path: str | os.PathLike[str] | None = None,
) -> DistillResult:
    """Distil the buffer's training set into ``ipc`` synthetic images per class.

    Parameters
    ----------
    buffer
        Expert buffer folder (or an opened :class:`ExpertBuffer`).
    out
        Run folder. Receives ``checkpoint.pt`` during the run and, at the end,
        ``distilled.pt``, ``config.yaml``, ``history.csv`` and ``prototypes.png``.
    config
        :class:`DistillConfig`.
    resume
        Continue from ``out/checkpoint.pt`` (a larger ``iterations`` extends a run).
    data_path
        The buffer's dataset at another location (same ids and image shape).

    Returns
    -------
    DistillResult
        The learnt images, labels and learning rate, and the run's history.

    Raises
    ------
    ParameterError
        On impossible settings: IPC above the smallest class, a start epoch beyond
        the buffer, an existing run without ``resume``.
    ModelMismatchError
        When resuming with another buffer (architecture, image size, classes).
    DivergenceError
        On a non-finite loss, image or learning rate, or a loss above
        ``divergence_loss``; the message names the iteration and the last good
        checkpoint, which stays on disk.
    """
    config = config or DistillConfig()
    config.check()
    buf = buffer if isinstance(buffer, ExpertBuffer) else load_buffer(buffer)
    out = Path(out)
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists() and not resume:
        raise ParameterError(
            "out",
            str(out),
            "already holds a distillation run; pass --resume to continue it "
            "or choose another folder",
        )
    limit = _start_epoch_limit(config, buf)
    data = buf.load_data(data_path)
    x_train, y_train = prepare_images(data, "train", buf.zca)
    check_ipc(config.ipc, y_train, data.class_names)
    setup = _Setup(
        buf=buf,
        model=buf.build_model(),
        layout=buf.layout(),
        augment=SiameseAugment(config.augment or buf.manifest["teacher"]["augment"]),
    )
    lr_init = config.lr_init or float(buf.manifest["teacher"]["lr_teacher"])
    run = _new_run(config, limit, lr_init, x_train, y_train, data.num_classes)
    meta = _run_meta(config, buf, data, setup.augment.strategy)
    if resume and ckpt_path.exists():
        _restore(run, ckpt_path, meta, config, buf_path=buf.path, out=out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "config.yaml")
    start_iteration = run.iteration
    _learn_images(run, setup, config, out, meta, lr_floor=lr_init / 100.0)
    return _finish(run, out, meta, data.class_names, start_iteration)


@dataclass
class _Setup:
    """What stays fixed during a run: the experts, the network's structure, the augmentation."""

    buf: ExpertBuffer
    model: torch.nn.Module
    layout: tuple[list[str], list[list[int]]]
    augment: SiameseAugment


@dataclass
class _Run:
    """What a run learns and draws as it goes: everything a checkpoint holds."""

    images: torch.Tensor  # (K * ipc, C, H, W), learnt
    labels: torch.Tensor  # (K * ipc,)
    syn_lr: torch.Tensor  # scalar, learnt
    opt_img: torch.optim.SGD
    opt_lr: torch.optim.SGD
    schedule: FixedSchedule | AdaptiveSchedule
    rng: np.random.Generator  # experts and start epochs
    generator: torch.Generator  # batch order and augmentation
    history: list[dict[str, Any]] = field(default_factory=list)
    iteration: int = 0  # outer iterations done

    def state_dict(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The checkpoint's contents (``meta`` names the buffer and settings)."""
        return {
            "meta": meta,
            "iteration": self.iteration,
            "images": self.images.detach().clone(),
            "labels": self.labels,
            "syn_lr": self.syn_lr.item(),
            "opt_img": self.opt_img.state_dict(),
            "opt_lr": self.opt_lr.state_dict(),
            "schedule": self.schedule.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": self.generator.get_state(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any], *, lr_lr: float) -> None:
        """Continue from a checkpoint's contents, with the (possibly new) ``lr_lr``."""
        with torch.no_grad():
            self.images.copy_(state["images"])
            self.syn_lr.copy_(torch.tensor(state["syn_lr"]))
        self.opt_img.load_state_dict(state["opt_img"])
        self.opt_lr.load_state_dict(state["opt_lr"])
        for group in self.opt_lr.param_groups:
            group["lr"] = lr_lr
        self.schedule.load_state_dict(state["schedule"])
        self.rng.bit_generator.state = state["numpy_rng"]
        self.generator.set_state(state["torch_rng"])
        self.history = list(state["history"])
        self.iteration = int(state["iteration"])


def _start_epoch_limit(config: DistillConfig, buf: ExpertBuffer) -> int:
    """Number of start epochs (0 .. limit - 1) whose target epoch is in the buffer.

    Raises
    ------
    ParameterError
        If ``expert_epochs`` or (MTT) ``max_start_epoch`` reach beyond the buffer.
    """
    epochs = buf.epochs
    m = config.expert_epochs
    if m >= epochs:
        raise ParameterError(
            "expert_epochs", m, f"must be below the buffer's {epochs} epochs per expert"
        )
    limit = epochs - m + 1
    if config.method == "mtt" and config.max_start_epoch > limit:
        raise ParameterError(
            "max_start_epoch",
            config.max_start_epoch,
            f"start epoch + expert epochs ({m}) must stay within the buffer's {epochs} "
            f"epochs: use --max-start-epoch <= {limit}",
        )
    return limit


def _new_run(
    config: DistillConfig,
    limit: int,
    lr_init: float,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    num_classes: int,
) -> _Run:
    """A fresh run: initial images and lr, outer optimisers, schedule and seeded RNGs."""
    schedule: FixedSchedule | AdaptiveSchedule
    if config.method == "mtt":
        schedule = FixedSchedule(config.max_start_epoch)
    else:
        schedule = AdaptiveSchedule(limit=limit, constants=config.stm)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    images, labels = _initial_images(config, x_train, y_train, num_classes, generator)
    images = images.requires_grad_(True)
    syn_lr = torch.tensor(lr_init, requires_grad=True)
    return _Run(
        images=images,
        labels=labels,
        syn_lr=syn_lr,
        opt_img=torch.optim.SGD([images], lr=config.lr_img, momentum=config.momentum),
        opt_lr=torch.optim.SGD([syn_lr], lr=config.lr_lr, momentum=config.momentum),
        schedule=schedule,
        rng=rng,
        generator=generator,
    )


def _run_meta(
    config: DistillConfig, buf: ExpertBuffer, data: LabelledImages, augment: str
) -> dict[str, Any]:
    """What the checkpoint and ``distilled.pt`` record about the buffer and settings."""
    zca = buf.manifest.get("zca")
    return {
        "class_names": data.class_names,
        "ipc": config.ipc,
        "image_shape": list(data.image_shape),
        "model": buf.manifest["model"],
        "normalisation": buf.manifest["normalisation"],
        "zca": str((buf.path / buf.manifest["zca"]).resolve()) if zca else None,
        "buffer": str(buf.path.resolve()),
        "data": data.source,
        "split": buf.split(),
        "teacher": buf.manifest["teacher"],
        "method": config.method,
        "augment": augment,
        "config": _config_dict(config),
    }


def _restore(
    run: _Run,
    ckpt_path: Path,
    meta: dict[str, Any],
    config: DistillConfig,
    *,
    buf_path: Path,
    out: Path,
) -> None:
    """Load ``ckpt_path`` into ``run`` after checking it belongs to this buffer and settings.

    Raises
    ------
    ModelMismatchError
        If the checkpoint was made with another model, image shape or classes.
    ParameterError
        If a setting outside :data:`_MAY_CHANGE_ON_RESUME` differs.
    """
    state = safe_torch_load(ckpt_path, what="distillation checkpoint")
    old = state["meta"]
    if old["model"] != meta["model"] or old["image_shape"] != meta["image_shape"]:
        raise ModelMismatchError(
            f"checkpoint '{ckpt_path}' was made with model {old['model']} on images "
            f"{old['image_shape']}; buffer '{buf_path}' has {meta['model']} on "
            f"{meta['image_shape']}"
        )
    if old["class_names"] != meta["class_names"]:
        raise ModelMismatchError(
            f"checkpoint '{ckpt_path}' has classes {old['class_names']}; buffer '{buf_path}' "
            f"has {meta['class_names']}"
        )
    changed = [
        k
        for k in old["config"]
        if k not in _MAY_CHANGE_ON_RESUME and old["config"].get(k) != meta["config"].get(k)
    ]
    if changed:
        raise ParameterError(
            "resume",
            str(out),
            "the run was started with other settings: "
            + ", ".join(f"{k}={old['config'][k]!r} (now {meta['config'][k]!r})" for k in changed),
        )
    run.load_state_dict(state, lr_lr=config.lr_lr)
    log.info("resuming %s at iteration %d", out, run.iteration)


def _save_checkpoint(path: Path, run: _Run, meta: dict[str, Any]) -> None:
    """Write ``run``'s state to ``path`` atomically (the old file stays until it is complete)."""
    with atomic_output(path) as tmp:
        torch.save(run.state_dict(meta), tmp)


def _learn_images(
    run: _Run,
    setup: _Setup,
    config: DistillConfig,
    out: Path,
    meta: dict[str, Any],
    *,
    lr_floor: float,
) -> None:
    """The outer loop: step, probe, record and checkpoint until the run is done.

    Raises
    ------
    DivergenceError
        On a non-finite or too large loss, or a non-finite image or lr; the last
        checkpoint (written only after finite iterations) stays on disk.
    """
    last_good = run.iteration
    floor_warned = False
    while run.iteration < config.iterations and not run.schedule.finished:
        t0 = time.perf_counter()
        lr_now = config.lr_img * run.schedule.lr_scale()
        for group in run.opt_img.param_groups:
            group["lr"] = lr_now
        start_epoch, loss = _sampled_loss(run, setup, config)
        value = loss.item()
        if not math.isfinite(value) or value > config.divergence_loss:
            _diverged(out, run.iteration, value, last_good, config)
        _outer_step(run, loss)
        floor_warned = _clamp_lr(run, lr_floor, warned=floor_warned)
        if not (torch.isfinite(run.images).all() and math.isfinite(run.syn_lr.item())):
            _diverged(
                out, run.iteration, float("nan"), last_good, config, what="an image or the lr"
            )
        probe = _probe_loss(run, setup, config) if run.schedule.needs_probe else None
        for event in run.schedule.update(run.iteration, probe, config.lr_img):
            log.info(event)
        run.iteration += 1
        run.history.append(
            {
                "iteration": run.iteration,
                "loss": value,
                "probe_loss": probe if probe is not None else float("nan"),
                "start_epoch": start_epoch,
                "max_start_epoch": run.schedule.max_start_epoch,
                "lr_img": lr_now,
                "syn_lr": run.syn_lr.item(),
                "seconds": time.perf_counter() - t0,
            }
        )
        if run.iteration % config.checkpoint_every == 0:
            _save_checkpoint(out / "checkpoint.pt", run, meta)
            last_good = run.iteration
            log.info(
                "iteration %d: loss %.4f, syn_lr %.4g", run.iteration, value, run.syn_lr.item()
            )


def _sampled_loss(run: _Run, setup: _Setup, config: DistillConfig) -> tuple[int, torch.Tensor]:
    """Draw an expert and a start epoch, and the matching loss from there (with its graph)."""
    buf = setup.buf
    expert = int(run.rng.integers(len(buf)))
    start_epoch = run.schedule.sample_start(run.rng)
    loss = matching_loss(
        setup.model,
        setup.layout,
        buf.params(expert, start_epoch),
        buf.params(expert, start_epoch + config.expert_epochs),
        run.images,
        run.labels,
        run.syn_lr,
        syn_steps=config.syn_steps,
        batch_syn=config.batch_syn,
        augment=setup.augment,
        generator=run.generator,
    )
    return start_epoch, loss


def _outer_step(run: _Run, loss: torch.Tensor) -> None:
    """One step of both outer optimisers (images and lr) down ``loss``."""
    run.opt_img.zero_grad(set_to_none=True)
    run.opt_lr.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_img.step()
    run.opt_lr.step()


def _clamp_lr(run: _Run, lr_floor: float, *, warned: bool) -> bool:
    """Keep the learnt lr at or above ``lr_floor`` (warning once); returns whether warned.

    A learnt lr at 0 or below silently stops learning.
    """
    with torch.no_grad():
        if run.syn_lr.item() < lr_floor:
            if not warned:
                log.warning(
                    "iteration %d: the learnt lr fell to its floor %.3g (lr_init / 100); "
                    "lower --lr-lr (MTT uses 1e-7 at IPC 1)",
                    run.iteration + 1,
                    lr_floor,
                )
                warned = True
            run.syn_lr.clamp_(min=lr_floor)
    return warned


def _probe_loss(run: _Run, setup: _Setup, config: DistillConfig) -> float:
    """STM's probe: the matching loss (no graph) at the schedule's probe epoch.

    The probe series must change only because the images change: within a stage it
    always uses the same expert, batch order and augmentation (a random expert per
    iteration made the series too noisy to pass).
    """
    p = run.schedule.probe_epoch
    probe_expert = p % len(setup.buf)
    probe_generator = torch.Generator().manual_seed(config.seed * 1000003 + 7919 * p)
    loss = matching_loss(
        setup.model,
        setup.layout,
        setup.buf.params(probe_expert, p),
        setup.buf.params(probe_expert, p + config.expert_epochs),
        run.images.detach(),
        run.labels,
        run.syn_lr.detach(),
        syn_steps=config.syn_steps,
        batch_syn=config.batch_syn,
        augment=setup.augment,
        generator=probe_generator,
        create_graph=False,
    )
    return loss.detach().item()


def _finish(
    run: _Run, out: Path, meta: dict[str, Any], class_names: list[str], start_iteration: int
) -> DistillResult:
    """Write the last checkpoint, ``distilled.pt``, ``history.csv`` and the prototype figure."""
    _save_checkpoint(out / "checkpoint.pt", run, meta)
    meta["iteration"] = run.iteration
    meta["syn_lr"] = run.syn_lr.item()
    save_distilled(out / "distilled.pt", run.images, run.labels, run.syn_lr.item(), meta)
    _write_history(out / "history.csv", run.history)
    try:
        from galaxy_xai.distill.figures import prototype_grid
        from galaxy_xai.distill.io import load_distilled

        prototype_grid(load_distilled(out / "distilled.pt"), out / "prototypes.png")
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        log.warning("prototype figure skipped: %s", exc)
    seconds = [h["seconds"] for h in run.history[start_iteration:]] or [float("nan")]
    return DistillResult(
        path=out,
        images=run.images.detach().clone(),
        labels=run.labels,
        syn_lr=run.syn_lr.item(),
        history=run.history,
        iterations_done=run.iteration,
        seconds_per_iteration=float(np.mean(seconds)),
        class_names=class_names,
    )


def _diverged(
    out: Path,
    iteration: int,
    value: float,
    last_good: int,
    config: DistillConfig,
    what: str = "matching loss",
) -> NoReturn:
    """Raise the divergence error for 0-based ``iteration``, naming the kept checkpoint.

    Raises
    ------
    DivergenceError
        Always.
    """
    kept = (
        f"the last good state (iteration {last_good}) is kept in '{out / 'checkpoint.pt'}'"
        if (out / "checkpoint.pt").exists()
        else "no checkpoint was written yet"
    )
    raise DivergenceError(
        f"distillation diverged at iteration {iteration + 1}: {what} is {value:.4g} "
        f"(limit {config.divergence_loss:g}); {kept}; lower --lr-img ({config.lr_img:g}) or "
        f"--lr-lr ({config.lr_lr:g}) and rerun with --resume"
    )


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    """Write the per-iteration history as CSV, one column per :class:`_HistoryRow` field."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        names = [f.name for f in fields(_HistoryRow)]
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in history:
            writer.writerow({k: row.get(k) for k in names})


@dataclass
class _HistoryRow:
    """The columns of ``history.csv``, in order."""

    iteration: int
    loss: float
    probe_loss: float
    start_epoch: int
    max_start_epoch: int
    lr_img: float
    syn_lr: float
    seconds: float
