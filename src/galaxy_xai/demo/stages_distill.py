"""Stage 8: a distilled prototype set per class (expert buffer + STM)."""

from __future__ import annotations

from typing import Any

from galaxy_xai.demo.common import source_set
from galaxy_xai.demo.config import MORPH_CLASSES
from galaxy_xai.demo.runner import Context

__all__ = ["stage_distill"]


def stage_distill(ctx: Context) -> dict[str, Any]:
    """Distil the training set with STM and score the prototypes against baselines."""
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
        source_set(ctx),
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
            runs=cfg.distill_eval_runs,
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
