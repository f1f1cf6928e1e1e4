"""PNG overlays of attribution maps on their galaxy images.

Each PNG shows the image (asinh stretch, grey or RGB) beside the same image with the
map laid over it as a semi-transparent colour map; the map is scaled to its 99.5th
percentile so that a few hot pixels do not wash it out.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from galaxy_xai.errors import ParameterError
from galaxy_xai.io import atomic_output

__all__ = ["overlay_filename", "overlay_rgb", "write_overlay"]


def _stretch(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` image -> ``(H, W, 3)`` float in [0, 1] (asinh of the 0.5-99.5% range)."""
    img = np.asarray(image, dtype=np.float64)
    rgb = img[:3] if img.shape[0] >= 3 else np.repeat(img[:1], 3, axis=0)
    lo, hi = np.percentile(rgb, [0.5, 99.5])
    scaled = np.clip((rgb - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(rgb)
    scaled = np.arcsinh(10 * scaled) / np.arcsinh(10)
    return np.moveaxis(scaled, 0, -1)


def overlay_rgb(
    image: np.ndarray, saliency: np.ndarray, *, alpha: float = 0.6, cmap: str = "inferno"
) -> np.ndarray:
    """The two-panel overlay as a ``(H, 2W, 3)`` uint8 array.

    Parameters
    ----------
    image
        ``(C, H, W)`` image.
    saliency
        ``(H, W)`` map (its absolute value is shown).
    alpha
        Largest opacity of the map; a pixel's opacity grows with its map value.
    cmap
        Matplotlib colour map name.

    Raises
    ------
    ParameterError
        If the map and image sizes differ, or ``alpha`` is outside [0, 1].
    """
    image = np.asarray(image)
    saliency = np.abs(np.asarray(saliency, dtype=np.float64))
    if image.ndim != 3 or saliency.shape != image.shape[1:]:
        raise ParameterError(
            "saliency", saliency.shape, f"must be (H, W) of the image {image.shape}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ParameterError("alpha", alpha, "must lie in [0, 1]")
    base = _stretch(image)
    top = np.percentile(saliency, 99.5)
    level = np.clip(saliency / top, 0, 1) if top > 0 else np.zeros_like(saliency)
    colour = colormaps[cmap](level)[..., :3]
    weight = (alpha * level)[..., None]
    blended = (1 - weight) * base + weight * colour
    panel = np.concatenate([base, blended], axis=1)
    return np.round(panel * 255).astype(np.uint8)


def overlay_filename(item_id: str) -> str:
    """A safe PNG file name for an image id (unsafe characters become '_')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(item_id)) + ".png"


def write_overlay(
    path: str | os.PathLike[str],
    image: np.ndarray,
    saliency: np.ndarray,
    *,
    scale: int = 2,
    **kwargs: float | str,
) -> Path:
    """Write the overlay PNG of one image (``scale`` times enlarged, nearest pixel)."""
    rgb = overlay_rgb(image, saliency, **kwargs)  # type: ignore[arg-type]
    pil = Image.fromarray(rgb)
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    with atomic_output(path) as tmp:
        pil.save(tmp, format="PNG")
    return Path(path)
