"""distill-digits: MTT/STM dataset distillation on scikit-learn's handwritten digits.

Builds an expert buffer on the digits (upsampled to 16 px), distils IPC 1 with STM
and with MTT at the same iteration budget, IPC 10 with STM, and evaluates each on the
held-out test digits with fresh networks, against K random real images per class and
the full training set trained in the same run.

Aims (issue 6): at IPC 1, at least twice the gain over chance of random real images
(``ipc1_gain_ratio >= 2``); at IPC 10, >= 85% of full-data accuracy
(``ipc10_fraction_of_full``); STM at least as good as MTT (``stm_minus_mtt >= 0``,
with ``stm_minus_mtt_se`` the standard error of the difference over evaluation runs
paired by seed). On digits, random real images already reach ~0.72 at IPC 1, so a
gain ratio of 2 would need an accuracy above 1: ``ipc1_gap_closed`` (the share of the
gap between random real images and the full set that distillation closes) says more.

The full-data baseline trains long enough to converge (``full_epochs``): with too few
epochs it under-fits and makes every "fraction of full" look better than it is.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks._common import cache_dir

SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "size": 16,
        "buffer": {"experts": 3, "epochs": 10, "width": 32, "depth": 2, "batch_size": 128},
        "iterations": 200,
        "iterations_ipc10": 20,
        "batch_syn_ipc10": 50,
        "syn_steps": 15,
        "expert_epochs": 2,
        "max_start_epoch": 6,
        "lr_img": 100.0,
        "lr_lr_ipc1": 1e-7,
        "stm": {"stage_limit": 60, "decay_every": 20},
        "eval": {"runs": 5, "epochs": 150, "full_epochs": 50},
    },
    "full": {
        "size": 16,
        "buffer": {"experts": 10, "epochs": 30, "width": 64, "depth": 2, "batch_size": 128},
        "iterations": 600,
        "iterations_ipc10": 400,
        "batch_syn_ipc10": None,
        "syn_steps": 20,
        "expert_epochs": 2,
        "max_start_epoch": 10,
        "lr_img": 100.0,
        "lr_lr_ipc1": 1e-7,
        "stm": {"stage_limit": 1000, "decay_every": 50},  # Guan et al.
        "eval": {"runs": 5, "epochs": 300, "full_epochs": 100},
    },
}


def run_distillation_benchmark(
    data: Path, work: Path, settings: dict[str, Any], *, class_map: str | None = None
) -> dict[str, float]:
    """Buffer, three distillations and their evaluation; the benchmark's figures."""
    from galaxy_xai.distill import (
        BufferConfig,
        DistillConfig,
        EvalConfig,
        STMConstants,
        distill,
        evaluate_distilled,
        train_experts,
    )

    torch.set_num_threads(1)
    if work.exists():
        shutil.rmtree(work)
    t0 = time.perf_counter()
    buffer = train_experts(
        data, work / "buffer", BufferConfig(class_map=class_map, **settings["buffer"])
    )
    buffer_s = time.perf_counter() - t0
    common = {
        "syn_steps": settings["syn_steps"],
        "expert_epochs": settings["expert_epochs"],
        "max_start_epoch": settings["max_start_epoch"],
        "lr_img": settings["lr_img"],
        "checkpoint_every": 50,
        "stm": STMConstants(**settings["stm"]),
    }
    ipc1 = {"iterations": settings["iterations"], "lr_lr": settings["lr_lr_ipc1"]}
    runs = {
        "stm_ipc1": DistillConfig(ipc=1, method="stm", **ipc1, **common),
        "mtt_ipc1": DistillConfig(ipc=1, method="mtt", **ipc1, **common),
        "stm_ipc10": DistillConfig(
            ipc=10,
            method="stm",
            iterations=settings["iterations_ipc10"],
            batch_syn=settings["batch_syn_ipc10"],
            **common,
        ),
    }
    seconds = {}
    for name, cfg in runs.items():
        result = distill(buffer, work / name, cfg)
        seconds[name] = result.seconds_per_iteration
        if name == "stm_ipc1":
            stm_final_max_start = int(result.history[-1]["max_start_epoch"])
    ev = settings["eval"]
    base = {"runs": ev["runs"], "epochs": ev["epochs"], "full_epochs": ev["full_epochs"]}
    ipc1 = evaluate_distilled(
        work / "stm_ipc1", config=EvalConfig(baselines=("random", "full"), saliency=None, **base)
    )
    mtt1 = evaluate_distilled(
        work / "mtt_ipc1", config=EvalConfig(baselines=(), saliency=None, **base)
    )
    ipc10 = evaluate_distilled(
        work / "stm_ipc10",
        config=EvalConfig(baselines=("random",), **base),
        out=work / "stm_ipc10_eval.json",
    )
    chance = ipc1["chance"]
    full = ipc1["full"]["mean"]
    random1 = ipc1["random"]["mean"]
    figures = {
        "ipc1_accuracy": ipc1["distilled"]["mean"],
        "ipc1_accuracy_std": ipc1["distilled"]["std"],
        "ipc1_random_real": random1,
        "ipc10_accuracy": ipc10["distilled"]["mean"],
        "ipc10_accuracy_std": ipc10["distilled"]["std"],
        "ipc10_random_real": ipc10["random"]["mean"],
        "full_accuracy": full,
        "stm_ipc1_accuracy": ipc1["distilled"]["mean"],
        "mtt_ipc1_accuracy": mtt1["distilled"]["mean"],
        "seconds_per_iteration": seconds["stm_ipc1"],
        "mtt_seconds_per_iteration": seconds["mtt_ipc1"],
        "ipc10_seconds_per_iteration": seconds["stm_ipc10"],
        "chance": chance,
        "ipc1_gain_ratio": (ipc1["distilled"]["mean"] - chance) / max(random1 - chance, 1e-9),
        "ipc10_fraction_of_full": ipc10["distilled"]["mean"] / max(full, 1e-9),
        "stm_minus_mtt": ipc1["distilled"]["mean"] - mtt1["distilled"]["mean"],
        "stm_minus_mtt_se": paired_standard_error(
            ipc1["distilled"]["runs"], mtt1["distilled"]["runs"]
        ),
        # where random real images leave little room above chance (digits: 0.72 at
        # IPC 1), the gain ratio cannot reach 2; the share of the gap between random
        # real images and the full set that distillation closes is the fair figure
        "ipc1_gap_closed": (ipc1["distilled"]["mean"] - random1) / max(full - random1, 1e-9),
        "buffer_seconds": buffer_s,
        "full_epochs": ev["full_epochs"],
        "stm_final_max_start_epoch": stm_final_max_start,
        "experts": len(buffer),
        "iterations": settings["iterations"],
    }
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}


def paired_standard_error(a: list[float], b: list[float]) -> float:
    """Standard error of ``mean(a) - mean(b)`` for runs paired by seed (same init)."""
    import numpy as np

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")


def run(quick: bool) -> dict:
    from galaxy_xai.distill.digits import write_digits_dataset

    settings = SETTINGS["quick" if quick else "full"]
    cache = cache_dir()
    data = cache / f"digits_{settings['size']}px.h5"
    if not data.exists():
        write_digits_dataset(data, size=settings["size"])
    work = cache / f"distill_digits_{'quick' if quick else 'full'}"
    return run_distillation_benchmark(data, work, settings)
