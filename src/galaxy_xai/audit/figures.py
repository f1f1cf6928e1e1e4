"""Figures of a label audit: the top suspects with their saliency maps, a random
sample of suspects for checking by eye, and the bias check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "bias_figure",
    "bias_table",
    "check_sample_montage",
    "select_suspects",
    "suspects_montage",
]


def _rgb(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, dtype=np.float32)
    img = np.moveaxis(img, 0, -1) if img.ndim == 3 else img
    img = img.squeeze()
    lo, hi = np.percentile(img, [1, 99.5])
    return np.clip((img - lo) / max(float(hi - lo), 1e-6), 0, 1)


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    import matplotlib.pyplot as plt

    from galaxy_xai.io import atomic_output

    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def select_suspects(table: pd.DataFrame, *, per_pair: int = 6, pairs: int = 4) -> pd.DataFrame:
    """The ``per_pair`` most suspect galaxies of each of the ``pairs`` most common
    (given -> suggested) pairs among the flagged ones, in that order."""
    flagged = table[table["is_label_issue"]]
    counts = flagged.groupby(["given_label", "suggested_label"]).size()
    counts = counts.sort_values(ascending=False, kind="stable")
    parts = []
    for given, suggested in counts.index[:pairs]:
        part = flagged[
            (flagged["given_label"] == given) & (flagged["suggested_label"] == suggested)
        ]
        parts.append(part.head(per_pair).assign(pair_count=int(counts[(given, suggested)])))
    if not parts:
        return flagged.head(0).assign(pair_count=0)
    return pd.concat(parts, ignore_index=True)


def suspects_montage(
    table: pd.DataFrame,
    image_of: Callable[[str], np.ndarray],
    map_of: Callable[[str, str], np.ndarray] | None,
    path: str | os.PathLike[str],
    *,
    per_pair: int = 6,
    pairs: int = 4,
) -> Path:
    """The most suspect galaxies of the most common (given -> suggested) pairs.

    Each suspect is shown as its image and, when ``map_of`` is given, the saliency
    map of the suggested class (from the network that predicted it).

    Parameters
    ----------
    table
        Audit table (:func:`galaxy_xai.audit.labels.flag_label_issues`).
    image_of
        Image of a galaxy id.
    map_of
        Saliency map of ``(id, class name)``, or None.
    path
        PNG to write.
    per_pair, pairs
        Suspects per pair and pairs shown.

    Returns
    -------
    Path
    """
    plt = _pyplot()
    shown = select_suspects(table, per_pair=per_pair, pairs=pairs)
    chosen = list(dict.fromkeys(zip(shown["given_label"], shown["suggested_label"], strict=True)))
    cols = per_pair * (2 if map_of is not None else 1)
    nrows = max(1, len(chosen))
    fig, axes = plt.subplots(nrows, cols, figsize=(1.5 * cols, 1.75 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for r, (given, suggested) in enumerate(chosen):
        cases = shown[(shown["given_label"] == given) & (shown["suggested_label"] == suggested)]
        for c, (_, row) in enumerate(cases.iterrows()):
            step = 2 if map_of is not None else 1
            ax = axes[r, c * step]
            ax.imshow(_rgb(image_of(str(row["id"]))), cmap="gray")
            ax.set_title(f"{given}->{suggested}\nsc={row['self_confidence']:.2f}", fontsize=6)
            if map_of is not None:
                m = np.abs(np.asarray(map_of(str(row["id"]), str(suggested)), dtype=np.float32))
                axes[r, c * step + 1].imshow(m.squeeze() if m.ndim == 2 else m.sum(0),
                                             cmap="inferno")  # fmt: skip
                axes[r, c * step + 1].set_title(f"map: {suggested}", fontsize=6)
        axes[r, 0].text(-0.1, 0.5, f"{int(cases['pair_count'].iloc[0])} flagged", rotation=90,
                        ha="right", va="center", fontsize=7, transform=axes[r, 0].transAxes)  # fmt: skip
    if not chosen:
        axes[0, 0].text(0.0, 0.5, "no galaxy flagged", fontsize=9)
    fig.suptitle("Likely label errors (cleanlab, lowest self-confidence first): "
                 "given -> suggested label", fontsize=8)  # fmt: skip
    fig.tight_layout()
    return _save(fig, path)


def check_sample_montage(
    sample: pd.DataFrame,
    image_of: Callable[[str], np.ndarray],
    path: str | os.PathLike[str],
    *,
    columns: int = 8,
) -> Path:
    """A numbered montage of a random sample of flagged galaxies, for a reader to judge
    whether each given label is wrong (tile number = row of the sample CSV)."""
    plt = _pyplot()
    n = len(sample)
    nrows = max(1, -(-n // columns))
    fig, axes = plt.subplots(nrows, columns, figsize=(1.6 * columns, 1.85 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for k, (_, row) in enumerate(sample.iterrows()):
        ax = axes[k // columns, k % columns]
        ax.imshow(_rgb(image_of(str(row["id"]))), cmap="gray")
        ax.set_title(f"#{k + 1} given {row['given_label']}\nsuggested {row['suggested_label']}",
                     fontsize=6)  # fmt: skip
    fig.suptitle("Random sample of flagged galaxies: is the given label wrong?", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _share_per_bin(
    labels: np.ndarray, in_bin: list[np.ndarray], classes: Sequence[str]
) -> dict[str, list[float]]:
    """Share of each class among ``labels`` in each bin (NaN for an empty bin)."""
    return {
        c: [float(np.mean(labels[m] == c)) if m.any() else float("nan") for m in in_bin]
        for c in classes
    }


def bias_table(
    table: pd.DataFrame,
    predicted: Sequence[str],
    covariates: dict[str, np.ndarray],
    *,
    bins: int = 4,
) -> dict[str, Any]:
    """Flagged share per given class, and predicted-class shares per quantile bin of
    each covariate (e.g. galaxy size, brightness).

    Parameters
    ----------
    table
        Audit table (any row order).
    predicted
        Predicted class per row of ``table``.
    covariates
        Name -> value per row of ``table``.
    bins
        Quantile bins per covariate.

    Returns
    -------
    dict
        ``flagged_share_by_class`` and, per covariate, ``bin_edges``,
        ``predicted_share`` and ``given_share`` (class -> share per bin of the
        predicted and of the given labels).
    """
    classes = sorted(set(table["given_label"]) | set(predicted))
    out: dict[str, Any] = {
        "flagged_share_by_class": {
            c: float(table.loc[table["given_label"] == c, "is_label_issue"].mean())
            for c in sorted(set(table["given_label"]))
        }
    }
    pred = np.asarray(predicted, dtype=object)
    given = table["given_label"].to_numpy(dtype=object)
    for name, values in covariates.items():
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v)
        if ok.sum() < bins:
            continue
        edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
        in_bin = [ok & (which == b) for b in range(len(edges) - 1)]
        shares = _share_per_bin(pred, in_bin, classes)
        given_shares = _share_per_bin(given, in_bin, classes)
        out[name] = {"bin_edges": [float(e) for e in edges], "predicted_share": shares,
                     "given_share": given_shares}  # fmt: skip
    return out


def bias_figure(bias: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Flagged share per class and predicted-class share vs each covariate (PNG)."""
    plt = _pyplot()
    covs = [k for k in bias if k != "flagged_share_by_class"]
    fig, axes = plt.subplots(1, 1 + len(covs), figsize=(3.6 * (1 + len(covs)), 3.0),
                             squeeze=False)  # fmt: skip
    ax = axes[0, 0]
    flagged = bias["flagged_share_by_class"]
    ax.bar(list(flagged), list(flagged.values()), color="tab:red")
    ax.set_ylabel("share flagged")
    ax.set_title("flagged share per given class", fontsize=8)
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    for j, name in enumerate(covs, start=1):
        ax = axes[0, j]
        edges = np.asarray(bias[name]["bin_edges"])
        centres = 0.5 * (edges[:-1] + edges[1:])
        for k, (cls, share) in enumerate(bias[name]["predicted_share"].items()):
            colour = f"C{k}"
            ax.plot(centres, share, marker="o", color=colour, label=f"{cls} (predicted)")
            given = bias[name].get("given_share", {}).get(cls)
            if given is not None:
                ax.plot(centres, given, ls="--", color=colour, alpha=0.7)
        ax.set_xlabel(name)
        ax.set_ylabel("predicted share")
        ax.set_title(f"class share vs {name} (dashed: given labels)", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, path)
