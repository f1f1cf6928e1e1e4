"""Dataset distillation of galaxy morphology: expert buffers, MTT and STM.

Typical use::

    from galaxy_xai.distill import BufferConfig, DistillConfig, distill, train_experts
    buffer = train_experts("gz1.h5", "buffer/", BufferConfig(experts=10, epochs=30))
    result = distill(buffer, "distilled/", DistillConfig(ipc=1, method="stm"))
    scores = evaluate_distilled("distilled/", config=EvalConfig(runs=5), out="eval.json")

References: Cazenavette et al. 2022 (MTT, arXiv 2203.11932); Guan, Zhao, Wang, Li &
Kempe 2023 (STM on Galaxy Zoo 2, arXiv 2311.17967); Zhao & Bilen 2021 (DSA).
"""

from galaxy_xai.distill.augment import SiameseAugment
from galaxy_xai.distill.buffer import BufferConfig, ExpertBuffer, load_buffer, train_experts
from galaxy_xai.distill.data import LabelledImages, load_labelled, parse_class_map
from galaxy_xai.distill.evaluate import EvalConfig, evaluate_distilled, train_network
from galaxy_xai.distill.io import DistilledSet, load_distilled, save_distilled
from galaxy_xai.distill.mtt import (
    DistillConfig,
    DistillResult,
    DivergenceError,
    distill,
    matching_loss,
)
from galaxy_xai.distill.schedule import AdaptiveSchedule, FixedSchedule, STMConstants
from galaxy_xai.distill.zca import ZCA

__all__ = [
    "ZCA",
    "AdaptiveSchedule",
    "BufferConfig",
    "DistillConfig",
    "DistillResult",
    "DistilledSet",
    "DivergenceError",
    "EvalConfig",
    "ExpertBuffer",
    "FixedSchedule",
    "LabelledImages",
    "STMConstants",
    "SiameseAugment",
    "distill",
    "evaluate_distilled",
    "load_buffer",
    "load_distilled",
    "load_labelled",
    "matching_loss",
    "parse_class_map",
    "save_distilled",
    "train_experts",
    "train_network",
]
