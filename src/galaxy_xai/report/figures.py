"""The report's figures (matplotlib, Agg, no pyplot state) and the numbers behind them.

Every ``*_figure`` function takes a panel read by :mod:`galaxy_xai.report.artefacts`
and returns a :class:`FigureResult`: the PNG bytes and a JSON-safe mapping of every
number the figure shows, which the report writes beside it. The statistics
(:func:`confusion_matrix`, :func:`reliability_bins`, :func:`bar_agreement`) come from
:mod:`galaxy_xai.stats`.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from galaxy_xai import stats
from galaxy_xai.report.artefacts import (
    AuditPanel,
    BarPanel,
    ClassificationPanel,
    FeaturesPanel,
    GalleryPanel,
    PrototypePanel,
    RealismPanel,
    SanityPanel,
    TrainingPanel,
)
from galaxy_xai.stats import agreement as bar_agreement
from galaxy_xai.stats import confusion_matrix

__all__ = [
    "FigureResult",
    "audit_figure",
    "bar_agreement",
    "bar_scatter_figure",
    "confusion_figure",
    "confusion_matrix",
    "display_image",
    "features_figure",
    "gallery_figure",
    "prototype_figure",
    "realism_figure",
    "reliability_bins",
    "reliability_figure",
    "sanity_figure",
    "training_figure",
]

DPI = 100  # PNG resolution: sharp on screen, small enough to embed many figures
MAX_GALLERY = 12  # galaxies shown per gallery panel
MEASURED_COLOUR = "#00e5ff"  # measured bar (cyan, visible over grey and inferno)
TRUE_COLOUR = "#ff4b4b"  # true bar (red, dashed)


@dataclass(frozen=True)
class FigureResult:
    """A rendered figure: PNG bytes, its numbers, and alt text for the HTML."""

    png: bytes
    data: dict[str, Any]
    alt: str


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


# --------------------------------------------------------------------------- statistics
def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10
) -> dict[str, Any]:
    """The report's reliability data: :func:`galaxy_xai.stats.reliability_bins` as lists.

    ``bin_edges``, per-bin ``count``, mean ``confidence`` and ``accuracy`` (None for
    empty bins) and ``ece`` = sum over bins of (count / N) |accuracy - confidence|
    (:meth:`~galaxy_xai.stats.ReliabilityBins.to_columns`).

    Raises
    ------
    ParameterError
        If ``n_bins`` < 1.
    """
    return stats.reliability_bins(confidence, correct, n_bins=n_bins).to_columns()


# --------------------------------------------------------------------------- images
def display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """A ``(C, H, W)`` image as something ``imshow`` shows well, and its colour map.

    One channel: grey, stretched between the 0.5 and 99.5 percentiles. Three channels:
    RGB with one common stretch. Other channel counts: their mean, in grey.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[None]
    if image.shape[0] == 3:
        lo, hi = np.nanpercentile(image, [0.5, 99.5])
        rgb = np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1)
        return np.nan_to_num(rgb.transpose(1, 2, 0)), None
    grey = image.mean(axis=0)
    lo, hi = np.nanpercentile(grey, [0.5, 99.5])
    return np.nan_to_num(np.clip((grey - lo) / max(hi - lo, 1e-12), 0, 1)), "gray"


def _saliency_rgba(saliency: np.ndarray) -> np.ndarray:
    """Absolute saliency as an RGBA overlay: inferno colours, opacity rising with value."""
    s = np.abs(np.nan_to_num(np.asarray(saliency, dtype=np.float64)))
    top = np.percentile(s, 99.5) if s.size else 0.0
    s = np.clip(s / top, 0, 1) if top > 0 else np.zeros_like(s)
    rgba = matplotlib.colormaps["inferno"](s)
    rgba[..., 3] = 0.85 * s**0.7
    return rgba


def _bar_segment(
    cx: float, cy: float, length: float, angle_deg: float
) -> tuple[list[float], list[float]] | None:
    if not (math.isfinite(length) and math.isfinite(angle_deg)) or length <= 0:
        return None
    dx = 0.5 * length * math.cos(math.radians(angle_deg))
    dy = 0.5 * length * math.sin(math.radians(angle_deg))
    return [cx - dx, cx + dx], [cy - dy, cy + dy]


def _row_value(row: Any, column: str, default: float = float("nan")) -> float:
    value = row.get(column, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- figures
def gallery_figure(panel: GalleryPanel, *, max_galaxies: int = MAX_GALLERY) -> FigureResult:
    """Each galaxy twice: the image with its bars, and its saliency map over it.

    The measured bar is a solid cyan segment of the measured full length and angle,
    centred on the galaxy centre; the true bar (if known) a dashed red one.
    """
    n = min(len(panel.images), max_galaxies)
    ncols = min(n, 6) if n else 1
    nrows_gal = max(math.ceil(n / ncols), 1)
    fig = Figure(figsize=(2.0 * ncols, 4.3 * nrows_gal), layout="constrained")
    galaxies = []
    for i in range(n):
        row = panel.table.iloc[i]
        image, cmap = display_image(panel.images[i])
        h, w = image.shape[:2]
        cx = _row_value(row, "centre_x_px", (w - 1) / 2)
        cy = _row_value(row, "centre_y_px", (h - 1) / 2)
        if not math.isfinite(cx) or not math.isfinite(cy):
            cx, cy = (w - 1) / 2, (h - 1) / 2
        measured = _bar_segment(
            cx, cy, _row_value(row, "bar_length_px"), _row_value(row, "bar_angle_deg")
        )
        true = _bar_segment(
            cx, cy, _row_value(row, "true_bar_length_px"), _row_value(row, "true_bar_angle_deg")
        )
        g, c = divmod(i, ncols)
        caption = str(row.get("caption", "")) if "caption" in panel.table.columns else ""
        for k, overlay in enumerate((False, True)):
            ax = fig.add_subplot(2 * nrows_gal, ncols, (2 * g + k) * ncols + c + 1)
            ax.imshow(image, cmap=cmap, origin="lower", interpolation="nearest")
            if overlay:
                ax.imshow(_saliency_rgba(panel.saliency[i]), origin="lower")
            if true is not None and not overlay:
                ax.plot(*true, color=TRUE_COLOUR, lw=1.2, ls="--")
            if measured is not None:
                ax.plot(*measured, color=MEASURED_COLOUR, lw=1.6)
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(-0.5, h - 0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if not overlay:
                ax.set_title(f"{row['id']}\n{caption}".strip(), fontsize=7)
            else:
                ax.set_title("saliency", fontsize=7)
        galaxies.append(
            {
                "id": str(row["id"]),
                "caption": caption,
                "centre_px": [cx, cy],
                "bar_length_px": _finite(_row_value(row, "bar_length_px")),
                "bar_angle_deg": _finite(_row_value(row, "bar_angle_deg")),
                "true_bar_length_px": _finite(_row_value(row, "true_bar_length_px")),
                "true_bar_angle_deg": _finite(_row_value(row, "true_bar_angle_deg")),
                "measured_segment_px": measured,
                "true_segment_px": true,
                "saliency_peak": _finite(float(np.abs(panel.saliency[i]).max())),
            }
        )
    if n == 0:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no galaxies", ha="center", va="center")
        ax.set_axis_off()
    has_true = any(g["true_segment_px"] is not None for g in galaxies)
    fig.suptitle(
        "solid cyan: measured bar" + ("; dashed red: true bar" if has_true else ""), fontsize=8
    )
    return FigureResult(
        _png(fig),
        {"galaxies": galaxies, "n_shown": n, "n_total": len(panel.images)},
        f"Gallery of {n} galaxies with saliency overlays and measured bars",
    )


def bar_scatter_figure(panel: BarPanel) -> FigureResult:
    """Measured against true bar length, with the 1:1 line, Pearson r and RMSE."""
    table = panel.table
    true = table["true_bar_length_px"].to_numpy(dtype=np.float64)
    measured = table["measured_bar_length_px"].to_numpy(dtype=np.float64)
    err = (
        table["measured_bar_length_err_px"].to_numpy(dtype=np.float64)
        if "measured_bar_length_err_px" in table.columns
        else None
    )
    stats = bar_agreement(true, measured)
    ok = np.isfinite(true) & np.isfinite(measured)
    fig = Figure(figsize=(4.6, 4.3))
    ax = fig.add_subplot(1, 1, 1)
    if ok.any():
        ax.errorbar(
            true[ok],
            measured[ok],
            yerr=None if err is None else np.nan_to_num(err[ok]),
            fmt="o",
            ms=3.5,
            alpha=0.75,
            elinewidth=0.8,
            color="#1f77b4",
            label="galaxies",
        )
        lo = float(min(true[ok].min(), measured[ok].min()))
        hi = float(max(true[ok].max(), measured[ok].max()))
        pad = 0.05 * max(hi - lo, 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="1:1")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    else:
        ax.text(0.5, 0.5, "no measured bars", ha="center", va="center", transform=ax.transAxes)
    r = "n/a" if stats["pearson_r"] is None else f"{stats['pearson_r']:.3f}"
    rmse = "n/a" if stats["rmse"] is None else f"{stats['rmse']:.2f} {panel.unit}"
    ax.set_title(f"r = {r}, RMSE = {rmse}, N = {stats['n']}", fontsize=9)
    ax.set_xlabel(f"true bar length [{panel.unit}]")
    ax.set_ylabel(f"measured bar length [{panel.unit}]")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_aspect("equal", adjustable="box")
    data = {
        **stats,
        "unit": panel.unit,
        "points": [
            {
                "id": str(i),
                "true": _finite(t),
                "measured": _finite(m),
                **({"measured_err": _finite(e)} if err is not None else {}),
            }
            for i, t, m, e in zip(
                table["id"], true, measured, err if err is not None else true, strict=True
            )
        ],
        "reported_metrics": panel.metrics,
    }
    return FigureResult(_png(fig), data, f"Measured vs true bar length, r={r}, RMSE={rmse}")


def confusion_figure(panel: ClassificationPanel) -> FigureResult:
    """Confusion matrix: counts, shaded by the row-normalised fraction (recall)."""
    k = len(panel.label_names)
    matrix = confusion_matrix(panel.table["label"], panel.table["pred"], k)
    rows = matrix.sum(axis=1, keepdims=True)
    frac = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    fig = Figure(figsize=(1.0 * k + 2.2, 0.95 * k + 1.5))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n{frac[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if frac[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(k), panel.label_names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(k), panel.label_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    accuracy = float(np.trace(matrix) / matrix.sum()) if matrix.sum() else None
    ax.set_title(
        f"accuracy {accuracy:.3f}, N = {int(matrix.sum())}" if accuracy is not None else "N = 0",
        fontsize=9,
    )
    scores = stats.precision_recall_f1(matrix)
    data = {
        "label_names": panel.label_names,
        "confusion": matrix.tolist(),
        "accuracy": accuracy,
        "recall": scores["recall"],
        "precision": scores["precision"],
        "f1": scores["f1"],
        "macro_f1": float(np.mean(scores["f1"])) if k else None,
        "n": int(matrix.sum()),
    }
    return FigureResult(_png(fig), data, "Confusion matrix")


def reliability_figure(panel: ClassificationPanel, *, n_bins: int = 10) -> FigureResult:
    """Reliability diagram: accuracy against confidence per bin, with the ECE."""
    probs = panel.probabilities()
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = panel.table["pred"].to_numpy() == panel.table["label"].to_numpy()
    bins = reliability_bins(confidence, correct, n_bins=n_bins)
    edges = np.asarray(bins["bin_edges"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig = Figure(figsize=(3.9, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    acc = np.array([np.nan if a is None else a for a in bins["accuracy"]])
    ax.bar(
        centres,
        np.nan_to_num(acc),
        width=np.diff(edges),
        edgecolor="k",
        lw=0.5,
        color="#4c72b0",
        alpha=0.8,
        label="accuracy",
    )
    for x, a, n in zip(centres, acc, bins["count"], strict=True):
        if n:
            ax.text(x, min(a + 0.02, 0.95), str(n), ha="center", fontsize=6, color="#333333")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (mean probability of the predicted class)", fontsize=8)
    ax.set_ylabel("accuracy (number: galaxies in the bin)", fontsize=8)
    ece = bins["ece"]
    ax.set_title(
        "ECE = n/a" if ece is None else f"ECE = {ece:.3f}, N = {len(confidence)}", fontsize=9
    )
    ax.legend(fontsize=8, loc="upper left")
    data: dict[str, Any] = dict(bins)
    if "uncertainty" in panel.table.columns:
        unc = panel.table["uncertainty"].to_numpy(dtype=np.float64)
        data["mean_uncertainty_correct"] = (
            _finite(float(np.nanmean(unc[correct]))) if correct.any() else None
        )
        data["mean_uncertainty_wrong"] = (
            _finite(float(np.nanmean(unc[~correct]))) if (~correct).any() else None
        )
    return FigureResult(_png(fig), data, "Reliability diagram")


_LOSS_WORDS = ("loss",)


def training_figure(panel: TrainingPanel) -> FigureResult:
    """Training curves: losses on the left, the other per-epoch metrics on the right."""
    table = panel.table
    epoch = table["epoch"].to_numpy(dtype=np.float64)
    columns = [c for c in table.columns if c != "epoch"]
    losses = [c for c in columns if any(w in c.lower() for w in _LOSS_WORDS)]
    others = [c for c in columns if c not in losses and not c.lower().startswith("lr")]
    fig = Figure(figsize=(9.0, 3.4))
    for k, (group, ylabel) in enumerate(((losses, "loss"), (others, "metric"))):
        ax = fig.add_subplot(1, 2, k + 1)
        for c in group:
            y = table[c].to_numpy(dtype=np.float64)
            ok = np.isfinite(y)
            ax.plot(epoch[ok], y[ok], marker="o", ms=3, label=c)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if group:
            ax.legend(fontsize=7)
        else:
            ax.text(
                0.5, 0.5, f"no {ylabel} logged", ha="center", va="center", transform=ax.transAxes
            )
    data = {
        "epoch": epoch.tolist(),
        "series": {c: [_finite(v) for v in table[c].to_numpy(dtype=np.float64)] for c in columns},
    }
    return FigureResult(_png(fig), data, "Training curves")


def _cascade(panel: SanityPanel) -> dict[str, dict[str, list]]:
    """Per method, the layer-by-layer randomisation curve saved by the explain stage.

    Read from ``extra["checks"][method]["layers"]`` (a list of ``{"layer",
    "spearman", ...}``, as :func:`galaxy_xai.explain.sanity_check` returns); empty if
    not saved.
    """
    checks = panel.extra.get("checks")
    curves: dict[str, dict[str, list]] = {}
    if not isinstance(checks, dict):
        return curves
    for method, result in checks.items():
        steps = result.get("layers") if isinstance(result, dict) else None
        if not isinstance(steps, list) or not steps:
            continue
        try:
            curves[str(method)] = {
                "layer": [str(s["layer"]) for s in steps],
                "spearman": [float(s["spearman"]) for s in steps],
            }
        except (KeyError, TypeError, ValueError):
            continue
    return curves


def sanity_figure(panel: SanityPanel) -> FigureResult:
    """Grouped bars of each sanity-check score per method, and the randomisation cascade.

    With a ``threshold`` in the panel's details it is drawn as a dashed line; with the
    layer-by-layer results (cascading randomisation) a second panel shows the rank
    correlation as more layers are re-initialised, from the output down.
    """
    methods = list(panel.scores)
    checks = sorted({c for scores in panel.scores.values() for c in scores})
    curves = _cascade(panel)
    ncols = 2 if curves else 1
    fig = Figure(figsize=(max(4.5, 1.4 * len(methods) + 2.5) + 4.5 * (ncols - 1), 3.8))
    ax = fig.add_subplot(1, ncols, 1)
    width = 0.8 / max(len(checks), 1)
    x = np.arange(len(methods))
    for j, check in enumerate(checks):
        values = [panel.scores[m].get(check, float("nan")) for m in methods]
        ax.bar(x + (j - (len(checks) - 1) / 2) * width, np.nan_to_num(values), width, label=check)
    labels = [
        f"{m}\n{'pass' if panel.passed[m] else 'FAIL'}" if m in panel.passed else m for m in methods
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    threshold = panel.extra.get("threshold")
    if isinstance(threshold, int | float):
        ax.axhline(threshold, color="#d62728", ls="--", lw=1, label=f"pass below {threshold:g}")
    ax.set_ylabel("score")
    ax.set_title("fully randomised network", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    if curves:
        ax2 = fig.add_subplot(1, ncols, 2)
        for method, curve in curves.items():
            ax2.plot(range(len(curve["layer"])), curve["spearman"], marker="o", ms=3, label=method)
        longest = max(curves.values(), key=lambda c: len(c["layer"]))["layer"]
        ax2.set_xticks(range(len(longest)), longest, rotation=45, ha="right", fontsize=7)
        ax2.set_ylim(-1.05, 1.05)
        ax2.axhline(0, color="k", lw=0.6)
        ax2.set_xlabel("randomised down to layer (cascading)")
        ax2.set_ylabel("rank correlation with trained maps")
        ax2.legend(fontsize=7, loc="best")
    data = {
        "methods": methods,
        "checks": checks,
        "scores": {m: {c: _finite(v) for c, v in s.items()} for m, s in panel.scores.items()},
        "passed": panel.passed,
        "threshold": threshold if isinstance(threshold, int | float) else None,
        "cascade": curves,
    }
    return FigureResult(_png(fig), data, "Sanity-check scores per attribution method")


def prototype_figure(panel: PrototypePanel, *, max_per_class: int = 10) -> FigureResult:
    """The distilled prototypes, one row per class."""
    k = len(panel.label_names)
    per_class = [np.flatnonzero(panel.labels == c)[:max_per_class] for c in range(k)]
    ncols = max([len(p) for p in per_class] + [1])
    fig = Figure(figsize=(1.3 * ncols + 1.2, 1.4 * max(k, 1)))
    for c, idx in enumerate(per_class):
        for j in range(ncols):
            ax = fig.add_subplot(max(k, 1), ncols, c * ncols + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(idx):
                image, cmap = display_image(panel.images[idx[j]])
                ax.imshow(image, cmap=cmap, origin="lower", interpolation="nearest")
            else:
                ax.set_axis_off()
            if j == 0:
                ax.set_ylabel(panel.label_names[c], fontsize=8)
    data = {
        "label_names": panel.label_names,
        "per_class": {panel.label_names[c]: int(np.sum(panel.labels == c)) for c in range(k)},
        "image_shape": list(panel.images.shape[1:]),
        "pixel_mean": [float(panel.images[i].mean()) for i in range(len(panel.images))],
        "metrics": panel.metrics,
    }
    return FigureResult(_png(fig), data, "Distilled prototypes per class")


def realism_figure(panel: RealismPanel) -> FigureResult:
    """Overlaid histograms of each quantity, simulated vs real, with the KS statistic."""
    from scipy.stats import ks_2samp

    quantities = list(panel.simulated.columns)
    ncols = min(4, max(len(quantities), 1))
    nrows = max(1, math.ceil(len(quantities) / ncols))
    fig = Figure(figsize=(3.0 * ncols, 2.5 * nrows))
    data: dict[str, Any] = {"quantities": {}}
    for k, q in enumerate(quantities):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        a = panel.simulated[q].to_numpy(float)
        b = panel.real[q].to_numpy(float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        entry: dict[str, Any] = {"n_simulated": len(a), "n_real": len(b)}
        if len(a) >= 2 and len(b) >= 2:
            low, high = np.percentile(np.r_[a, b], [1, 99])
            bins = np.linspace(low, high if high > low else low + 1, 25).tolist()
            ax.hist(b, bins=bins, density=True, alpha=0.55, color="#ff7f0e", label="real")
            ax.hist(a, bins=bins, density=True, alpha=0.55, color="#1f77b4", label="simulated")
            entry.update(ks=float(ks_2samp(a, b).statistic), median_simulated=float(np.median(a)),
                         median_real=float(np.median(b)))  # fmt: skip
            ax.set_title(f"{q} (KS {entry['ks']:.2f})", fontsize=8)
        else:
            ax.set_title(f"{q} (too few values)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        data["quantities"][q] = entry
    if quantities:
        fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    return FigureResult(_png(fig), data, f"Simulated vs real distributions: {panel.title}")


def features_figure(panel: FeaturesPanel) -> FigureResult:
    """Measured vs true bulge B/T (top) and half-light radius (bottom), one column per
    method, with Pearson r."""
    methods = list(dict.fromkeys(panel.table["method"]))
    fig = Figure(figsize=(2.8 * max(1, len(methods)), 5.4))
    data: dict[str, Any] = {"methods": {}}
    for j, method in enumerate(methods):
        rows = panel.table[panel.table["method"] == method]
        entry: dict[str, Any] = {}
        for i, (q, unit) in enumerate((("bt", "B/T"), ("re_arcsec", "bulge R_e (arcsec)"))):
            ax = fig.add_subplot(2, len(methods), i * len(methods) + j + 1)
            t = rows[f"true_{q}"].to_numpy(float)
            m = rows[f"measured_{q}"].to_numpy(float)
            ok = np.isfinite(t) & np.isfinite(m)
            ax.scatter(t[ok], m[ok], s=5, alpha=0.6)
            r = float(np.corrcoef(t[ok], m[ok])[0, 1]) if ok.sum() > 2 else float("nan")
            if ok.sum() > 2:
                lim = [min(t[ok].min(), m[ok].min()), max(t[ok].max(), m[ok].max())]
                ax.plot(lim, lim, "k--", lw=0.7)
            ax.set_title(f"{method}: {unit}\nr = {r:.2f} (n = {int(ok.sum())})", fontsize=8)
            ax.set_xlabel("true", fontsize=7)
            ax.set_ylabel("measured", fontsize=7)
            ax.tick_params(labelsize=7)
            entry[f"pearson_r_{q}"] = _finite(r)
            entry[f"n_{q}"] = int(ok.sum())
        data["methods"][method] = entry
    fig.tight_layout()
    return FigureResult(_png(fig), data, f"Bulge B/T and radius measured vs true: {panel.title}")


def audit_figure(panel: AuditPanel) -> FigureResult:
    """The shown suspects (image, then the map of the suggested class) and the share of
    each given class flagged."""
    n = len(panel.images)
    cols = 8
    rows = max(1, math.ceil(2 * n / cols))
    fig = Figure(figsize=(1.5 * cols, 1.7 * rows + 2.2))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[1.7] * rows + [2.2])
    for k in range(n):
        row = panel.suspects.iloc[k]
        for half in (0, 1):
            slot = 2 * k + half
            ax = fig.add_subplot(grid[slot // cols, slot % cols])
            ax.set_axis_off()
            if half == 0:
                img = np.moveaxis(panel.images[k], 0, -1).squeeze()
                lo, hi = np.percentile(img, [1, 99.5])
                ax.imshow(np.clip((img - lo) / max(float(hi - lo), 1e-6), 0, 1), cmap="gray")
                ax.set_title(f"{row['given_label']}->{row['suggested_label']}\n"
                             f"sc={float(row['self_confidence']):.2f}", fontsize=6)  # fmt: skip
            else:
                ax.imshow(np.abs(panel.saliency[k]), cmap="inferno")
                ax.set_title(f"map: {row['suggested_label']}", fontsize=6)
    if n == 0:
        ax = fig.add_subplot(grid[0, :])
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no galaxy flagged", ha="center", va="center", fontsize=10)
    trends = {k: v for k, v in panel.trends.items()
              if isinstance(v, dict) and "bin_edges" in v and "predicted_share" in v}  # fmt: skip
    span = max(1, cols // (1 + len(trends)))
    ax = fig.add_subplot(grid[rows, :span])
    names = list(panel.flagged_share)
    ax.bar(names, [panel.flagged_share[c] for c in names], color="#d62728")
    ax.set_ylabel("share flagged", fontsize=8)
    ax.set_title("flagged share per given class", fontsize=8)
    ax.tick_params(labelsize=7)
    for j, (cov, trend) in enumerate(trends.items(), start=1):
        ax = fig.add_subplot(grid[rows, j * span : (j + 1) * span])
        edges = np.asarray(trend["bin_edges"], dtype=float)
        centres = 0.5 * (edges[:-1] + edges[1:])
        for k, (cls, share) in enumerate(trend["predicted_share"].items()):
            if len(share) == len(centres):
                ax.plot(centres, np.asarray(share, dtype=float), marker="o", color=f"C{k}",
                        label=str(cls))  # fmt: skip
            given = (trend.get("given_share") or {}).get(cls)
            if isinstance(given, list) and len(given) == len(centres):
                ax.plot(centres, np.asarray(given, dtype=float), ls="--", color=f"C{k}",
                        alpha=0.7)  # fmt: skip
        ax.set_title(f"class share vs {cov} (dashed: given)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()
    data = {"suspects": panel.suspects.to_dict(orient="list"), "flagged_share": panel.flagged_share}
    return FigureResult(_png(fig), data, f"Likely label errors: {panel.title}")
