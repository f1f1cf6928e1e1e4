"""The demo's settings: :class:`DemoConfig`, the quick preset and the class names."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galaxy_xai.errors import DataMissingError, ParameterError

__all__ = ["BAR_CLASSES", "DEMO_MARKER", "MORPH_CLASSES", "QUICK", "DemoConfig", "demo_config"]

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
    n_bar_train: int = 1500  # simulated disk galaxies the bar network is fine-tuned on
    model: str = "gamornet"  # morphology architecture
    model_width: float = 0.125  # GaMorNet width multiplier (1.0 = published)
    # deprecated, unused: the bar network is zoo:bar-sdss fine-tuned, in its architecture
    bar_model: str = "compact"
    epochs: int = 10  # epochs of the morphology network
    bar_epochs: int = 20  # epochs of the bar network
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
    # each unrolls 10 student steps: the costliest loop here. At 20 the prototypes scored
    # 0.33 (chance) against 0.34 for random real images (2 runs); at 100, 0.42 and 0.46
    # for two distillation seeds against 0.37 (4 runs)
    distill_iterations: int = 100
    distill_eval_runs: int = 4  # fresh networks per evaluated set (mean and spread)
    distill_eval_epochs: int = 60
    real_limit: int = 1200  # real galaxies imported per set with --data
    n_zoo: int = 300  # fresh simulated galaxies per shipped model the demo scores

    def __post_init__(self) -> None:
        if self.bar_model != "compact":
            warnings.warn(
                "DemoConfig.bar_model is deprecated and ignored: the demo's bar network is "
                "zoo:bar-sdss fine-tuned, so its architecture is the shipped model's",
                FutureWarning,
                stacklevel=3,
            )


QUICK = {
    "image_size": 40,
    "n_source": 320,
    "n_target": 120,
    "n_bar_train": 320,
    "model_width": 0.0625,
    "epochs": 5,
    "bar_epochs": 5,
    "transfer_epochs": 3,
    "mc_samples": 5,
    "smoothgrad_samples": 10,
    "n_explain": 32,
    "n_zoo": 80,
    "n_sanity": 4,
    "sanity_methods": ("gradient", "smoothgrad"),
    "distill_experts": 2,
    "distill_expert_epochs": 4,
    "distill_ipc": 2,
    "distill_iterations": 8,
    "distill_eval_runs": 1,
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
        raise ParameterError("seed", seed, "must be an integer >= 0")
    if data is not None and not Path(data).is_dir():
        raise DataMissingError(f"data folder '{data}' does not exist")
    overrides: dict[str, Any] = dict(QUICK) if quick else {}
    return DemoConfig(seed=seed, quick=quick, data=data, **overrides)
