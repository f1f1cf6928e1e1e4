"""The Lightning ``Trainer`` factory: checkpoints every epoch, early stopping, CSV logs."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from galaxy_xai.io import atomic_output
from galaxy_xai.progress import _is_enabled
from galaxy_xai.train.config import TrainerConfig

__all__ = ["EpochMetrics", "EpochSeed", "RankParameterHash", "make_trainer", "parameter_hash"]

#: Columns of ``RUN/metrics.csv``, one row per epoch.
METRIC_COLUMNS = (
    "epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "time_s",
)  # fmt: skip


def parameter_hash(model: torch.nn.Module) -> str:
    """SHA-256 of all parameters and buffers (names, shapes and exact values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class EpochMetrics(Callback):
    """Write ``metrics.csv``: one row per finished epoch (rewritten atomically, resumable)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._t0 = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else float("nan")
        row = {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "lr": lr,
            **{k: metrics.get(k, "") for k in METRIC_COLUMNS[3:7]},
            "time_s": round(time.perf_counter() - self._t0, 3),
        }
        rows = []
        if self.path.exists():
            with self.path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) < trainer.current_epoch]
        rows.append(row)
        with atomic_output(self.path) as tmp, tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=METRIC_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


class EpochSeed(Callback):
    """Reseed torch from ``(seed, epoch)`` at each epoch start.

    Batch order and augmentation of an epoch then depend only on the seed and the epoch
    number, so a run resumed from ``last.ckpt`` replays the same epochs as an
    uninterrupted one.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(
            self.seed * 1_000_003 + trainer.current_epoch + trainer.global_rank * 7919
        )


class RankParameterHash(Callback):
    """In multi-process runs, each rank writes ``ddp_rank<r>.json`` with its parameter hash.

    All ranks of a correct data-parallel run end with identical weights; comparing the
    files checks that (``galaxy-xai`` tests do).
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size <= 1:
            return
        payload = {
            "global_rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "parameter_sha256": parameter_hash(pl_module),
        }
        path = self.run_dir / f"ddp_rank{trainer.global_rank}.json"
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(payload) + "\n")


def make_trainer(
    cfg: TrainerConfig,
    run_dir: Path,
    *,
    monitor: str = "val_loss",
    seed: int = 0,
    callbacks: list[Callback] | None = None,
    **overrides: Any,
) -> L.Trainer:
    """A Lightning ``Trainer`` for a run folder.

    Checkpoints ``RUN/checkpoints/last.ckpt`` every epoch (for ``--resume``) and
    ``best.ckpt`` on ``monitor``; stops early after ``cfg.patience`` epochs without
    improvement; logs to ``RUN/logs`` (Lightning CSV) and ``RUN/metrics.csv`` (one row
    per epoch). ``devices``, ``strategy``, ``num_nodes``, ``accelerator`` and
    ``precision`` are passed through; ``overrides`` go to ``Trainer`` as they are.
    """
    run_dir = Path(run_dir)
    ckpt = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode="min",
        save_top_k=1,
        save_last=True,
        every_n_epochs=1,
        enable_version_counter=False,
    )
    cbs: list[Callback] = [ckpt, EpochMetrics(run_dir / "metrics.csv"), RankParameterHash(run_dir)]
    cbs.append(EpochSeed(seed))
    if cfg.patience > 0:
        cbs.append(EarlyStopping(monitor=monitor, patience=cfg.patience, mode="min"))
    cbs += list(callbacks or [])
    kwargs: dict[str, Any] = {
        "max_epochs": cfg.max_epochs,
        "accelerator": cfg.accelerator,
        "devices": cfg.devices,
        "strategy": cfg.strategy,
        "num_nodes": cfg.num_nodes,
        "precision": cfg.precision,
        "deterministic": cfg.deterministic,
        "gradient_clip_val": cfg.gradient_clip_val or None,
        "log_every_n_steps": cfg.log_every_n_steps,
        "callbacks": cbs,
        "logger": CSVLogger(save_dir=str(run_dir), name="logs"),
        "enable_progress_bar": _is_enabled(),
        "enable_model_summary": False,
        "default_root_dir": str(run_dir),
    }
    if cfg.max_time_s is not None:
        kwargs["max_time"] = timedelta(seconds=float(cfg.max_time_s))
    kwargs.update(overrides)
    return L.Trainer(**kwargs)
