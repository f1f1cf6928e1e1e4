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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from galaxy_xai.config import save_config
from galaxy_xai.distill.augment import SiameseAugment
from galaxy_xai.distill.buffer import ExpertBuffer, load_buffer, prepare_images, unflatten
from galaxy_xai.distill.data import check_ipc
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
    epochs = buf.epochs
    m = config.expert_epochs
    if m >= epochs:
        raise ParameterError(
            "expert_epochs", m, f"must be below the buffer's {epochs} epochs per expert"
        )
    limit = epochs - m + 1  # start epochs 0 .. limit - 1 have a target epoch in the buffer
    if config.method == "mtt" and config.max_start_epoch > limit:
        raise ParameterError(
            "max_start_epoch",
            config.max_start_epoch,
            f"start epoch + expert epochs ({m}) must stay within the buffer's {epochs} "
            f"epochs: use --max-start-epoch <= {limit}",
        )
    data = buf.load_data(data_path)
    zca = buf.zca
    x_train, y_train = prepare_images(data, "train", zca)
    check_ipc(config.ipc, y_train, data.class_names)
    model = buf.build_model()
    layout = buf.layout()
    augment = SiameseAugment(config.augment or buf.manifest["teacher"]["augment"])
    lr_init = config.lr_init or float(buf.manifest["teacher"]["lr_teacher"])

    schedule: FixedSchedule | AdaptiveSchedule
    if config.method == "mtt":
        schedule = FixedSchedule(config.max_start_epoch)
    else:
        schedule = AdaptiveSchedule(limit=limit, constants=config.stm)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    images, labels = _initial_images(config, x_train, y_train, data.num_classes, generator)
    images = images.requires_grad_(True)
    syn_lr = torch.tensor(lr_init, requires_grad=True)
    opt_img = torch.optim.SGD([images], lr=config.lr_img, momentum=config.momentum)
    opt_lr = torch.optim.SGD([syn_lr], lr=config.lr_lr, momentum=config.momentum)
    history: list[dict[str, Any]] = []
    start_iteration = 0
    meta = {
        "class_names": data.class_names,
        "ipc": config.ipc,
        "image_shape": list(data.image_shape),
        "model": buf.manifest["model"],
        "normalisation": buf.manifest["normalisation"],
        "zca": str((buf.path / buf.manifest["zca"]).resolve()) if buf.manifest.get("zca") else None,
        "buffer": str(buf.path.resolve()),
        "data": data.source,
        "split": buf.split(),
        "teacher": buf.manifest["teacher"],
        "method": config.method,
        "augment": augment.strategy,
        "config": _config_dict(config),
    }
    if resume and ckpt_path.exists():
        state = safe_torch_load(ckpt_path, what="distillation checkpoint")
        old = state["meta"]
        if old["model"] != meta["model"] or old["image_shape"] != meta["image_shape"]:
            raise ModelMismatchError(
                f"checkpoint '{ckpt_path}' was made with model {old['model']} on images "
                f"{old['image_shape']}; buffer '{buf.path}' has {meta['model']} on "
                f"{meta['image_shape']}"
            )
        if old["class_names"] != meta["class_names"]:
            raise ModelMismatchError(
                f"checkpoint '{ckpt_path}' has classes {old['class_names']}; buffer '{buf.path}' "
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
                + ", ".join(
                    f"{k}={old['config'][k]!r} (now {meta['config'][k]!r})" for k in changed
                ),
            )
        with torch.no_grad():
            images.copy_(state["images"])
            syn_lr.copy_(torch.tensor(state["syn_lr"]))
        opt_img.load_state_dict(state["opt_img"])
        opt_lr.load_state_dict(state["opt_lr"])
        for group in opt_lr.param_groups:
            group["lr"] = config.lr_lr
        schedule.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["numpy_rng"]
        generator.set_state(state["torch_rng"])
        history = list(state["history"])
        start_iteration = int(state["iteration"])
        log.info("resuming %s at iteration %d", out, start_iteration)
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "config.yaml")

    def checkpoint(iteration: int) -> None:
        state = {
            "meta": meta,
            "iteration": iteration,
            "images": images.detach().clone(),
            "labels": labels,
            "syn_lr": syn_lr.item(),
            "opt_img": opt_img.state_dict(),
            "opt_lr": opt_lr.state_dict(),
            "schedule": schedule.state_dict(),
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": generator.get_state(),
            "history": history,
        }
        with atomic_output(ckpt_path) as tmp:
            torch.save(state, tmp)

    last_good = start_iteration
    lr_floor = lr_init / 100.0  # a learnt lr at 0 or below silently stops learning
    floor_warned = False
    iteration = start_iteration
    while iteration < config.iterations and not schedule.finished:
        t0 = time.perf_counter()
        lr_now = config.lr_img * schedule.lr_scale()
        for group in opt_img.param_groups:
            group["lr"] = lr_now
        expert = int(rng.integers(len(buf)))
        start_epoch = schedule.sample_start(rng)
        start = buf.params(expert, start_epoch)
        target = buf.params(expert, start_epoch + m)
        loss = matching_loss(
            model,
            layout,
            start,
            target,
            images,
            labels,
            syn_lr,
            syn_steps=config.syn_steps,
            batch_syn=config.batch_syn,
            augment=augment,
            generator=generator,
        )
        value = loss.item()
        if not math.isfinite(value) or value > config.divergence_loss:
            _diverged(out, iteration, value, last_good, config)
        opt_img.zero_grad(set_to_none=True)
        opt_lr.zero_grad(set_to_none=True)
        loss.backward()
        opt_img.step()
        opt_lr.step()
        with torch.no_grad():
            if syn_lr.item() < lr_floor:
                if not floor_warned:
                    log.warning(
                        "iteration %d: the learnt lr fell to its floor %.3g (lr_init / 100); "
                        "lower --lr-lr (MTT uses 1e-7 at IPC 1)",
                        iteration + 1,
                        lr_floor,
                    )
                    floor_warned = True
                syn_lr.clamp_(min=lr_floor)
        if not (torch.isfinite(images).all() and math.isfinite(syn_lr.item())):
            _diverged(out, iteration, float("nan"), last_good, config, what="an image or the lr")
        probe = None
        if schedule.needs_probe:
            # The probe series must change only because the images change: within a
            # stage it always uses the same expert, batch order and augmentation
            # (a random expert per iteration made the series too noisy to pass).
            p = schedule.probe_epoch
            probe_expert = p % len(buf)
            probe_generator = torch.Generator().manual_seed(config.seed * 1000003 + 7919 * p)
            probe = (
                matching_loss(
                    model,
                    layout,
                    buf.params(probe_expert, p),
                    buf.params(probe_expert, p + m),
                    images.detach(),
                    labels,
                    syn_lr.detach(),
                    syn_steps=config.syn_steps,
                    batch_syn=config.batch_syn,
                    augment=augment,
                    generator=probe_generator,
                    create_graph=False,
                )
                .detach()
                .item()
            )
        for event in schedule.update(iteration, probe, config.lr_img):
            log.info(event)
        iteration += 1
        history.append(
            {
                "iteration": iteration,
                "loss": value,
                "probe_loss": probe if probe is not None else float("nan"),
                "start_epoch": start_epoch,
                "max_start_epoch": schedule.max_start_epoch,
                "lr_img": lr_now,
                "syn_lr": syn_lr.item(),
                "seconds": time.perf_counter() - t0,
            }
        )
        if iteration % config.checkpoint_every == 0:
            checkpoint(iteration)
            last_good = iteration
            log.info("iteration %d: loss %.4f, syn_lr %.4g", iteration, value, syn_lr.item())
    checkpoint(iteration)
    meta["iteration"] = iteration
    meta["syn_lr"] = syn_lr.item()
    save_distilled(out / "distilled.pt", images, labels, syn_lr.item(), meta)
    _write_history(out / "history.csv", history)
    try:
        from galaxy_xai.distill.figures import prototype_grid
        from galaxy_xai.distill.io import load_distilled

        prototype_grid(load_distilled(out / "distilled.pt"), out / "prototypes.png")
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        log.warning("prototype figure skipped: %s", exc)
    seconds = [h["seconds"] for h in history[start_iteration:]] or [float("nan")]
    return DistillResult(
        path=out,
        images=images.detach().clone(),
        labels=labels,
        syn_lr=syn_lr.item(),
        history=history,
        iterations_done=iteration,
        seconds_per_iteration=float(np.mean(seconds)),
        class_names=data.class_names,
    )


def _diverged(
    out: Path,
    iteration: int,
    value: float,
    last_good: int,
    config: DistillConfig,
    what: str = "matching loss",
) -> None:
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
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        names = [f.name for f in fields(_HistoryRow)]
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in history:
            writer.writerow({k: row.get(k) for k in names})


@dataclass
class _HistoryRow:
    iteration: int
    loss: float
    probe_loss: float
    start_epoch: int
    max_start_epoch: int
    lr_img: float
    syn_lr: float
    seconds: float
