"""The Lightning module: one network, one head, the optimiser and augmentation."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from galaxy_xai.models.heads import Head
from galaxy_xai.train.config import OptimConfig

__all__ = ["GalaxyLitModule"]


class GalaxyLitModule(L.LightningModule):
    """Train ``model`` with ``head``'s loss; log ``train_loss``/``val_loss`` (+ accuracy).

    Parameters
    ----------
    model
        Any ``(N, C, H, W) -> (N, K)`` network.
    head
        The task head (:mod:`galaxy_xai.models.heads`).
    optim
        Optimiser and schedule settings.
    augment
        Batch augmentation applied to training batches only (or None).
    lr_scale
        Learning-rate multiplier (transfer learning fine-tunes at a lower rate).
    max_epochs
        For the cosine schedule's period.
    extra
        JSON-ready run information saved in every checkpoint under ``"galaxy_xai"``
        (resolved config, package version, architecture, output names).
    """

    def __init__(
        self,
        model: nn.Module,
        head: Head,
        *,
        optim: OptimConfig,
        augment: nn.Module | None = None,
        lr_scale: float = 1.0,
        max_epochs: int = 10,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.head = head
        self.augment = augment
        self.optim_cfg = optim
        self.lr_scale = float(lr_scale)
        self.max_epochs = int(max_epochs)
        self.extra = dict(extra or {})
        self.has_val = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            x, y = batch
            batch = (self.augment(x), y)
        return batch

    def _step(self, batch: Any, stage: str) -> torch.Tensor:
        x, y = batch
        raw = self.model(x)
        loss = self.head.loss(raw, y)
        on_step = False
        sync = stage != "train"
        self.log(f"{stage}_loss", loss, on_step=on_step, on_epoch=True, prog_bar=True,
                 batch_size=len(x), sync_dist=sync)  # fmt: skip
        if self.head.task == "classification":
            acc = (raw.argmax(1) == y).float().mean()
            self.log(f"{stage}_accuracy", acc, on_step=on_step, on_epoch=True,
                     batch_size=len(x), sync_dist=sync)  # fmt: skip
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        cfg = self.optim_cfg
        params = [p for p in self.parameters() if p.requires_grad]
        lr = cfg.lr * self.lr_scale
        if cfg.name == "adam":
            opt: torch.optim.Optimizer = torch.optim.Adam(
                params, lr=lr, weight_decay=cfg.weight_decay
            )
        elif cfg.name == "adamw":
            opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
        else:
            opt = torch.optim.SGD(
                params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
            )
        if cfg.schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(self.max_epochs, 1))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
        if cfg.schedule == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, factor=cfg.plateau_factor, patience=cfg.plateau_patience
            )
            monitor = "val_loss" if self.has_val else "train_loss"
            return {"optimizer": opt, "lr_scheduler": {"scheduler": plateau, "monitor": monitor}}
        return opt

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["galaxy_xai"] = self.extra
