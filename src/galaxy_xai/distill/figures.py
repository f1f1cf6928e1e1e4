"""Figures of distilled sets: prototypes per class and their saliency maps."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galaxy_xai.distill.io import DistilledSet
from galaxy_xai.io import atomic_output

__all__ = ["display_images", "prototype_grid", "prototype_saliency", "saliency_grid"]

log = logging.getLogger(__name__)


def display_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, H, W, 3)`` or ``(N, H, W)`` in [0, 1] for display.

    Each image is stretched between its own 1st and 99th percentiles, so prototypes
    with very different pixel ranges stay visible side by side.
    """
    x = np.asarray(torch.as_tensor(images).detach().cpu(), dtype=np.float64)
    out = np.empty_like(x)
    for i, img in enumerate(x):
        lo, hi = np.percentile(img, [1, 99])
        out[i] = np.clip((img - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    out = out.transpose(0, 2, 3, 1)
    return out[..., 0] if out.shape[-1] == 1 else out[..., :3]


def _grid(
    panels: np.ndarray,
    rows: int,
    cols: int,
    row_names: list[str],
    path: Path,
    *,
    cmap: str,
    title: str,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        rows, cols, figsize=(1.4 * cols + 1.2, 1.4 * rows + 0.4), squeeze=False
    )
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.imshow(panels[r * cols + c], cmap=cmap, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(row_names[r], fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def prototype_grid(distilled: DistilledSet, path: str | os.PathLike[str]) -> Path:
    """PNG grid of the prototypes: one row per class, ``ipc`` columns.

    Images are shown in pixel space (inverse ZCA, un-normalised), each stretched
    between its own 1st and 99th percentiles.
    """
    pixels = distilled.pixel_images()
    order = torch.argsort(distilled.labels, stable=True)
    panels = display_images(pixels[order])
    k = len(distilled.class_names)
    cols = len(order) // k
    return _grid(
        panels,
        k,
        cols,
        distilled.class_names,
        Path(path),
        cmap="gray",
        title=f"distilled prototypes ({distilled.meta.get('method', '?')}, {cols} per class)",
    )


def prototype_saliency(
    model: torch.nn.Module, distilled: DistilledSet, *, method: str = "smoothgrad", **kwargs: Any
) -> np.ndarray:
    """Saliency maps ``(N, H, W)`` of ``model`` on the prototypes, for their own class.

    Uses :func:`galaxy_xai.explain.attribute`; ``kwargs`` go to it (e.g. ``n_samples``).
    """
    try:
        from galaxy_xai.explain import attribute
    except ImportError:
        from galaxy_xai.explain.core import attribute
    return np.asarray(
        attribute(
            model,
            distilled.images.detach(),
            method=method,
            target=distilled.labels.tolist(),
            output_names=distilled.class_names,
            **kwargs,
        )
    )


def saliency_grid(
    distilled: DistilledSet, maps: np.ndarray, path: str | os.PathLike[str], *, method: str
) -> Path:
    """PNG grid of saliency maps on the prototypes, one row per class."""
    order = np.argsort(distilled.labels.numpy(), kind="stable")
    m = np.abs(np.asarray(maps, dtype=np.float64))[order]
    panels = m / np.maximum(m.reshape(len(m), -1).max(1), 1e-12)[:, None, None]
    k = len(distilled.class_names)
    return _grid(
        panels,
        k,
        len(order) // k,
        distilled.class_names,
        Path(path),
        cmap="inferno",
        title=f"{method} saliency of a network trained on the prototypes",
    )
