"""A PNG grid of galaxy images with catalogue annotations (for reports and docs)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["save_galaxy_grid"]

_LABELS = {
    "bulge_to_total": "B/T",
    "bar_length_px": "bar px",
    "bar_length_arcsec": 'bar "',
    "pitch_angle_deg": "pitch",
    "n_arms": "arms",
    "snr": "S/N",
    "magnitude": "mag",
}


def _display(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W)`` or ``(H, W, 3)`` in [0, 1] for imshow.

    Values already in [0, 1] (JPEG-like) are shown as they are; other images (counts)
    get an asinh stretch between the median and the 99.5th percentile.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.min() < 0 or img.max() > 1:
        lo = np.median(img)
        hi = np.percentile(img, 99.5)
        scale = max(hi - lo, 1e-12)
        img = np.arcsinh(np.clip((img - lo) / scale, 0, None) * 10) / np.arcsinh(10)
        img = np.clip(img, 0, 1)
    return img[0] if img.shape[0] == 1 else np.moveaxis(img[:3], 0, -1)


def save_galaxy_grid(
    images: np.ndarray,
    catalog: pd.DataFrame | None,
    out_png: str | os.PathLike[str],
    *,
    ncols: int = 8,
    annotate: Sequence[str] = ("bulge_to_total", "bar_length_px"),
    show_bars: bool = True,
    panel_px: int = 160,
    title: str | None = None,
) -> Path:
    """Write a grid of galaxy images as a PNG, annotated from the catalogue.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` with C = 1 or 3: values in [0, 1] are shown as they are,
        others (counts) with an asinh stretch.
    catalog
        One row per image (or None: no annotations).
    out_png
        Output path (written atomically).
    ncols
        Panels per row.
    annotate
        Catalogue columns printed in each panel (missing columns are skipped).
    show_bars
        Draw each barred galaxy's true bar (``bar_length_px``, ``bar_position_angle_deg``)
        as a line, which also shows the angle convention.
    panel_px
        Size of one panel in the PNG (pixels); the PNG is
        ``(ncols * panel_px) x (nrows * panel_px)`` (plus ``panel_px // 4`` rows for a title).
    title
        Optional title above the grid.

    Returns
    -------
    Path
        ``out_png``.

    Raises
    ------
    ParameterError
        If ``images`` is not ``(N, C, H, W)`` with N >= 1, or ``ncols`` / ``panel_px`` < 1.
    DataFormatError
        If the catalogue does not have one row per image.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from galaxy_xai.io import atomic_output

    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0 or images.shape[1] not in (1, 3):
        raise ParameterError("images", images.shape, "must be (N, C, H, W) with N >= 1, C 1 or 3")
    if ncols < 1:
        raise ParameterError("ncols", ncols, "must be >= 1")
    if panel_px < 16:
        raise ParameterError("panel_px", panel_px, "must be >= 16")
    if catalog is not None and len(catalog) != len(images):
        raise DataFormatError(f"catalogue has {len(catalog)} rows for {len(images)} images")
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    dpi = 100
    title_px = panel_px // 4 if title else 0
    fig = Figure(figsize=(ncols * panel_px / dpi, (nrows * panel_px + title_px) / dpi), dpi=dpi)
    height = nrows * panel_px + title_px
    rows = catalog.reset_index(drop=True) if catalog is not None else None
    for k in range(n):
        r, c = divmod(k, ncols)
        ax = fig.add_axes(
            (c / ncols, 1 - (title_px + (r + 1) * panel_px) / height, 1 / ncols, panel_px / height)
        )
        shown = _display(images[k])
        ax.imshow(shown, cmap="gray", origin="lower", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        if rows is None:
            continue
        row = rows.iloc[k]
        lines = []
        for col in annotate:
            if col in row.index:
                value = row[col]
                label = _LABELS.get(col, col)
                lines.append(
                    f"{label} {value:.2f}" if isinstance(value, float) else f"{label} {value}"
                )
        if lines:
            ax.text(
                0.03,
                0.97,
                "\n".join(lines),
                transform=ax.transAxes,
                va="top",
                ha="left",
                color="yellow",
                fontsize=max(5, panel_px // 22),
                family="monospace",
            )
        if show_bars and int(row.get("barred", 0)) and float(row.get("bar_length_px", 0)) > 0:
            h, w = images.shape[2:]
            half = float(row["bar_length_px"]) / 2
            angle = math.radians(float(row["bar_position_angle_deg"]))
            cx, cy = (w - 1) / 2, (h - 1) / 2
            dx, dy = half * math.cos(angle), half * math.sin(angle)
            ax.plot([cx - dx, cx + dx], [cy - dy, cy + dy], color="cyan", lw=0.8, alpha=0.8)
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(-0.5, h - 0.5)
    if title:
        fig.text(
            0.5,
            1 - title_px / height / 2,
            title,
            ha="center",
            va="center",
            fontsize=max(8, panel_px // 14),
        )
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="black")
    return Path(out_png)
