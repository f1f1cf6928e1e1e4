"""How far simulated galaxies are from the real ones they stand in for.

Three measurements of one gap, for two sets of images at the same size and
preprocessing (float ``(N, C, H, W)`` in [0, 1]):

- :func:`domain_auc_cnn`: ROC AUC, k-fold cross-validated, of a small CNN trained to
  tell simulated from real images (0.5: indistinguishable);
- :func:`image_statistics` + :func:`domain_auc_statistics`: the same for a logistic
  regression on a handful of simple pixel statistics, so that the cause is visible;
- :func:`morphology_table` + :func:`distribution_distances`: non-parametric morphology
  with statmorph (Rodriguez-Gomez et al. 2019, MNRAS 483, 4140) and, per quantity,
  the 1-D Wasserstein distance and the two-sample KS statistic between the sets.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import median_abs_deviation

from galaxy_xai.errors import ParameterError

__all__ = [
    "MORPHOLOGY_QUANTITIES",
    "STATISTICS",
    "distribution_distances",
    "domain_auc_cnn",
    "domain_auc_statistics",
    "domain_cnn",
    "image_statistics",
    "morphology_table",
    "offcentre_source_counts",
]

log = logging.getLogger(__name__)

#: Pixel statistics of :func:`image_statistics` (grey level of [0, 1] images).
STATISTICS = (
    "near_black_fraction",  # share of pixels below 0.02
    "border_mean",  # mean of the outer ring (width H/16)
    "border_noise",  # robust sigma (1.4826 MAD) of the outer ring
    "central_concentration",  # mean within r < H/10 over the image mean
    "image_max",
    "image_mean",
    "noise_grain",  # median correlation of horizontally adjacent pixels of the ring
    "offcentre_sources",  # sources apart from the central one (offcentre_source_counts)
)
#: statmorph quantities of :func:`morphology_table`.
MORPHOLOGY_QUANTITIES = (
    "concentration",
    "asymmetry",
    "smoothness",
    "gini",
    "m20",
    "ellipticity",
    "half_light_radius_frac",  # statmorph r50 (circular) over the image side
    "sn_per_pixel",
)


def _grey(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ParameterError("images", images.shape, "must be (N, C, H, W)")
    return images.mean(axis=1)


def _border(grey: np.ndarray) -> np.ndarray:
    """``(N, P)`` pixels of the outer ring of each ``(H, W)`` image."""
    h, w = grey.shape[1:]
    width = max(2, h // 16)
    ring = np.ones((h, w), bool)
    ring[width:-width, width:-width] = False
    return grey[:, ring]


def _noise_grain(grey: np.ndarray) -> np.ndarray:
    """Correlation of horizontally adjacent pixels in the top and bottom strips."""
    h = grey.shape[1]
    width = max(2, h // 16)
    strips = np.concatenate([grey[:, :width], grey[:, -width:]], axis=1)
    strips = strips - np.median(strips, axis=(1, 2), keepdims=True)
    a, b = strips[:, :, :-1].reshape(len(grey), -1), strips[:, :, 1:].reshape(len(grey), -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    denom = np.sqrt((a**2).sum(1) * (b**2).sum(1))
    return np.where(denom > 0, (a * b).sum(1) / np.maximum(denom, 1e-12), 0.0)


def offcentre_source_counts(
    images: np.ndarray, *, threshold_sigma: float = 2.5, min_pixels: int = 4
) -> np.ndarray:
    """Number of sources apart from the central galaxy in each image.

    A source is a connected region (>= ``min_pixels``) of the grey image, smoothed by a
    1-pixel Gaussian, above the border's median plus ``threshold_sigma`` times its
    robust noise; the regions that touch the central 4 x 4 pixels are the galaxy.
    Foreground stars and neighbours: 88% of GZ1 cutouts hold at least one.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` in [0, 1]; bands are averaged.
    threshold_sigma, min_pixels
        Detection threshold (border sigma) and smallest source (pixels).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int counts.

    Raises
    ------
    ParameterError
        If ``images`` is not 4-D.
    """
    grey = _grey(images)
    border = _border(grey)
    return _offcentre_counts(
        grey,
        np.median(border, axis=1),
        median_abs_deviation(border, axis=1, scale="normal"),
        threshold_sigma=threshold_sigma,
        min_pixels=min_pixels,
    )


def _offcentre_counts(
    grey: np.ndarray,
    level: np.ndarray,
    sigma: np.ndarray,
    *,
    threshold_sigma: float = 2.5,
    min_pixels: int = 4,
) -> np.ndarray:
    """:func:`offcentre_source_counts` of ``(N, H, W)`` grey images, border level and sigma."""
    from scipy import ndimage

    h, w = grey.shape[1:]
    cy, cx = h // 2, w // 2
    counts = np.zeros(len(grey), dtype=int)
    for i, image in enumerate(grey):
        mask = ndimage.gaussian_filter(image, 1.0) > level[i] + threshold_sigma * sigma[i]
        labels, n = ndimage.label(mask)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        central = np.unique(labels[cy - 2 : cy + 2, cx - 2 : cx + 2])
        keep = sizes >= min_pixels
        keep[0] = False
        keep[central] = False
        counts[i] = int(keep.sum())
    return counts


def image_statistics(images: np.ndarray) -> pd.DataFrame:
    """Simple pixel statistics per image (:data:`STATISTICS`), for the domain gap.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` in [0, 1]; bands are averaged.

    Returns
    -------
    pandas.DataFrame
        One row per image, one column per statistic.

    Raises
    ------
    ParameterError
        If ``images`` is not 4-D.
    """
    grey = _grey(images)
    n, h, w = grey.shape
    border = _border(grey)
    border_noise = median_abs_deviation(border, axis=1, scale="normal")
    yy, xx = np.mgrid[:h, :w]
    centre = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2) < h / 10
    mean = grey.reshape(n, -1).mean(1)
    return pd.DataFrame(
        {
            "near_black_fraction": (grey < 0.02).reshape(n, -1).mean(1),
            "border_mean": border.mean(1),
            "border_noise": border_noise,
            "central_concentration": grey[:, centre].mean(1) / np.maximum(mean, 1e-6),
            "image_max": grey.reshape(n, -1).max(1),
            "image_mean": mean,
            "noise_grain": _noise_grain(grey),
            "offcentre_sources": _offcentre_counts(
                grey, np.median(border, axis=1), border_noise
            ).astype(float),
        }
    )


def _folds(n_sim: int, n_real: int, folds: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    labels = np.r_[np.zeros(n_sim, int), np.ones(n_real, int)]
    if min(n_sim, n_real) < folds:
        raise ParameterError(
            "folds", folds, f"needs at least {folds} images of each set ({n_sim}, {n_real})"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return labels, list(splitter.split(np.zeros(len(labels)), labels))


def domain_auc_statistics(
    sim: pd.DataFrame, real: pd.DataFrame, *, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated ROC AUC of a logistic regression telling ``sim`` from ``real``.

    Parameters
    ----------
    sim, real
        Tables of :func:`image_statistics` (or any numeric features, same columns).
    folds
        Stratified folds; every image is scored by a model that did not see it.
    seed
        Seed of the fold assignment.

    Returns
    -------
    float
        0.5 when the statistics cannot tell the sets apart, 1.0 when they always can.

    Raises
    ------
    ParameterError
        If a set has fewer images than ``folds``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels, splits = _folds(len(sim), len(real), folds, seed)
    x = np.nan_to_num(np.vstack([sim.to_numpy(float), real[sim.columns].to_numpy(float)]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = cross_val_predict(model, x, labels, cv=splits, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


def domain_cnn(in_channels: int, *, width: int = 8) -> Any:
    """The small domain classifier: ``(N, C, H, W)`` -> 2 logits (simulated, real).

    Three 3x3 convolutions of stride 2 (``width``, ``2 width``, ``4 width`` channels,
    ReLU), global mean and max pooling, one linear layer: enough to see noise, sky,
    framing and profile shapes, cheap enough for k-fold training on two CPU cores.
    """
    from torch import nn

    class _Pool(nn.Module):
        def forward(self, x: Any) -> Any:  # (N, C, h, w) -> (N, 2C)
            return torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)

    import torch

    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.ReLU(),
        _Pool(), nn.Linear(8 * width, 2),
    )  # fmt: skip


def domain_auc_cnn(
    sim: np.ndarray,
    real: np.ndarray,
    *,
    folds: int = 5,
    epochs: int = 10,
    min_steps: int = 300,
    width: int = 8,
    batch_size: int = 32,
    seed: int = 0,
) -> float:
    """Cross-validated ROC AUC of a small CNN trained to tell ``sim`` from ``real``.

    Per fold a fresh small CNN (:func:`domain_cnn`: three strided convolutions and a
    linear layer on the pooled features) is trained with Adam on the other folds
    (random flips and 90-degree turns, classes weighted equally) and scores the
    held-out fold; the AUC is over all out-of-fold scores.

    Parameters
    ----------
    sim, real
        ``(N, C, H, W)`` images in [0, 1], same ``C, H, W``.
    folds, epochs, min_steps, width, batch_size, seed
        Cross-validation folds; training epochs per fold, raised so that each fold
        takes at least ``min_steps`` optimiser steps (a weak classifier would
        understate the gap); network width; minibatch size; the seed of folds,
        weights and batch order.

    Returns
    -------
    float
        0.5 when the network cannot tell the sets apart.

    Raises
    ------
    ParameterError
        If the shapes differ or a set has fewer images than ``folds``.
    """
    import torch
    from sklearn.metrics import roc_auc_score

    sim = np.asarray(sim, np.float32)
    real = np.asarray(real, np.float32)
    if sim.shape[1:] != real.shape[1:]:
        raise ParameterError("real", real.shape, f"image shape differs from sim's {sim.shape}")
    labels, splits = _folds(len(sim), len(real), folds, seed)
    x_all = torch.from_numpy(np.concatenate([sim, real]))
    y_all = torch.from_numpy(labels)
    scores = np.zeros(len(labels))
    c = sim.shape[1]
    for k, (train, test) in enumerate(splits):
        gen = torch.Generator().manual_seed(seed * 1000 + k)
        torch.manual_seed(seed * 1000 + k)
        net = domain_cnn(c, width=width)
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        counts = np.bincount(labels[train], minlength=2)
        weight = torch.tensor(len(train) / (2.0 * np.maximum(counts, 1)), dtype=torch.float32)
        tr = torch.from_numpy(train)
        steps_per_epoch = -(-len(train) // batch_size)
        for _ in range(max(epochs, -(-min_steps // steps_per_epoch))):
            net.train()
            for idx in tr[torch.randperm(len(tr), generator=gen)].split(batch_size):
                xb = x_all[idx]
                if torch.rand((), generator=gen) < 0.5:
                    xb = xb.flip(-1)
                xb = torch.rot90(xb, int(torch.randint(4, (), generator=gen)), dims=(2, 3))
                loss = torch.nn.functional.cross_entropy(net(xb), y_all[idx], weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(x_all[torch.from_numpy(b)]) for b in np.array_split(test, 8)])
        scores[test] = torch.softmax(logits, 1)[:, 1].numpy()
    return float(roc_auc_score(labels, scores))


def _segment(image: np.ndarray, sigma: float, background: float) -> np.ndarray:
    """Segmentation map of the central source: smoothed pixels 1.5 sigma above the sky."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(image, 1.0)
    labels, n = ndimage.label(smooth > background + 1.5 * sigma / 2.0)
    if n == 0:
        return np.zeros(image.shape, int)
    h, w = image.shape
    yy, xx = np.mgrid[:h, :w]
    distance = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2)
    near = labels[distance < max(2.0, h / 12)]
    near = near[near > 0]
    keep = np.bincount(near).argmax() if len(near) else 0
    return (labels == keep).astype(int) if keep else np.zeros(image.shape, int)


def morphology_table(images: np.ndarray) -> pd.DataFrame:
    """statmorph morphology of each image (:data:`MORPHOLOGY_QUANTITIES`).

    The sky level and noise come from the image's outer ring (median, 1.4826 MAD);
    the source is the segment of smoothed pixels above the sky that holds the centre.
    A galaxy statmorph cannot measure (no segment, statmorph flag > 1) gets NaNs and
    counts in ``flag_bad``, instead of stopping the batch.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` in [0, 1]; bands are averaged.

    Returns
    -------
    pandas.DataFrame
        One row per image: the quantities and ``flag_bad`` (bool).

    Raises
    ------
    ParameterError
        If ``images`` is not 4-D.
    """
    import statmorph

    grey = _grey(images).astype(np.float64)
    border = _border(grey)
    rows = []
    for image, ring in zip(grey, border, strict=True):
        background = float(np.median(ring))
        sigma = max(float(median_abs_deviation(ring, scale="normal")), 1e-3)
        segmap = _segment(image, sigma, background)
        row: dict[str, float | bool] = dict.fromkeys(MORPHOLOGY_QUANTITIES, np.nan)
        row["flag_bad"] = True
        if segmap.sum() >= 5:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                logging.getLogger("statmorph").setLevel(logging.ERROR)
                try:
                    m = statmorph.source_morphology(
                        image - background, segmap, weightmap=np.full(image.shape, sigma)
                    )[0]
                except Exception as exc:  # statmorph raises bare errors on odd sources
                    log.debug("statmorph failed: %s", exc)
                    m = None
            if m is not None and m.flag <= 1:
                row.update(
                    concentration=m.concentration, asymmetry=m.asymmetry,
                    smoothness=m.smoothness, gini=m.gini, m20=m.m20,
                    ellipticity=m.ellipticity_asymmetry,
                    half_light_radius_frac=m.r50 / image.shape[0], sn_per_pixel=m.sn_per_pixel,
                    flag_bad=False,
                )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def distribution_distances(
    sim: pd.DataFrame, real: pd.DataFrame, quantities: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Per quantity: 1-D Wasserstein distance, KS statistic and both medians.

    Non-finite values are left out of each quantity.

    Returns
    -------
    dict
        ``{quantity: {"w1", "ks", "median_sim", "median_real"}}``.
    """
    from scipy.stats import ks_2samp, wasserstein_distance

    out = {}
    for q in quantities:
        a = sim[q].to_numpy(float)
        b = real[q].to_numpy(float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) < 2 or len(b) < 2:
            out[q] = dict.fromkeys(("w1", "ks", "median_sim", "median_real"), float("nan"))
            continue
        out[q] = {
            "w1": float(wasserstein_distance(a, b)),
            "ks": float(ks_2samp(a, b).statistic),
            "median_sim": float(np.median(a)),
            "median_real": float(np.median(b)),
        }
    return out
