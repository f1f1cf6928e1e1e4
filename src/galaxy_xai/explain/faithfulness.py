"""Is a map faithful to the model? Deletion/insertion curves, infidelity, sensitivity.

* **Deletion** (Petsiuk, Das & Saenko 2018): remove pixels from the image, most
  important first (set to ``deletion_baseline``, 0 = empty sky), and follow the model's
  target score; a faithful map makes it fall fast (small area under the curve).
* **Insertion**: start from a blurred copy of the image and restore pixels, most
  important first; a faithful map makes the score rise fast (large area).
  Both are compared with a random pixel order (``*_auc_random``) on the same images.
* **Infidelity** (Yeh et al. 2019, captum ``infidelity``): expected squared error
  between the map's dot product with a Gaussian perturbation and the output change it
  causes (lower is better; maps rescaled optimally, ``normalize=True``).
* **Max-sensitivity** (Yeh et al. 2019, captum ``sensitivity_max``): largest relative
  change of the map under small uniform input perturbations (lower is better).

References
----------
Petsiuk, Das & Saenko 2018, BMVC, arXiv 1806.07421.
Yeh, Hsieh, Suggala, Inouye & Ravikumar 2019, NeurIPS, arXiv 1901.09392.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from captum.metrics import infidelity, sensitivity_max

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import (
    Prepared,
    analysis_mode,
    as_images,
    check_positive_int,
    derive_seed,
    prepare_model,
)
from galaxy_xai.explain.core import attribute, resolve_targets
from galaxy_xai.explain.methods import resolve_methods

__all__ = ["deletion_insertion", "faithfulness"]

_SCORES = ("auto", "raw", "softmax", "sigmoid")
_TASK_SCORES = {"classification": "softmax", "vote_fraction": "sigmoid"}


def _scores(
    prepared: Prepared, x: torch.Tensor, targets: torch.Tensor, score: str, batch_size: int
) -> np.ndarray:
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = prepared.forward(x[start : start + batch_size])
            if score == "softmax":
                logits = logits.softmax(1)
            elif score == "sigmoid":
                logits = logits.sigmoid()
            rows_targets = targets[start : start + batch_size, None].to(logits.device)
            out.append(logits.gather(1, rows_targets).squeeze(1))
    return torch.cat(out).double().cpu().numpy()


def _blur(x: torch.Tensor) -> torch.Tensor:
    import kornia

    sigma = max(x.shape[-1], x.shape[-2]) / 16.0
    size = int(2 * round(3 * sigma) + 1)
    return kornia.filters.gaussian_blur2d(x, (size, size), (sigma, sigma), border_type="reflect")


def deletion_insertion(
    model: Any,
    images: Any,
    maps: np.ndarray,
    *,
    target: Any = None,
    output_names: Sequence[str] | None = None,
    n_steps: int = 20,
    deletion_baseline: float = 0.0,
    insertion_baseline: str | float = "blur",
    score: str = "auto",
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """Deletion and insertion curves of the target score, and their areas.

    Parameters
    ----------
    model
        ``nn.Module`` or ``TrainedModel``.
    images
        ``(N, C, H, W)`` images.
    maps
        ``(N, H, W)`` maps ranking the pixels (larger = more important).
    target
        Output to follow (index or name).
    output_names
        Output names overriding the model's.
    n_steps
        Curve points after the start: fractions ``0, 1/n_steps, ..., 1`` of the pixels.
    deletion_baseline
        Value of removed pixels.
    insertion_baseline
        Start image of insertion: ``"blur"`` (Gaussian, sigma = 1/16 of the image side,
        as Petsiuk et al.) or a constant.
    score
        ``"raw"`` model output, its ``"softmax"`` / ``"sigmoid"``, or ``"auto"``: the
        softmax probability for a classification ``TrainedModel``, the sigmoid vote
        fraction for a vote-fraction one, else the raw output.
    batch_size
        Most images per forward pass.
    seed
        Seed of the random tie-breaking between pixels of equal importance.

    Returns
    -------
    dict
        ``fractions`` (n_steps+1,), ``deletion_curve`` and ``insertion_curve`` (mean
        score over images at each fraction), ``deletion_auc``, ``insertion_auc``
        (trapezoidal areas over the fraction axis, in score units).

    Raises
    ------
    ParameterError
        Maps that do not match the images, an unknown score, bad ``n_steps``.
    """
    n_steps = check_positive_int("n_steps", n_steps)
    if score not in _SCORES:
        raise ParameterError("score", score, f"must be one of {', '.join(_SCORES)}")
    prepared = prepare_model(model, output_names=output_names)
    if score == "auto":
        score = _TASK_SCORES.get(prepared.task or "", "raw")
    x = as_images(images, prepared)
    maps = np.asarray(maps, dtype=np.float64)
    if maps.shape != (x.shape[0], *x.shape[2:]):
        raise ParameterError(
            "maps", maps.shape, f"must be (N, H, W) = {(x.shape[0], *x.shape[2:])} like the images"
        )
    targets, _ = resolve_targets(target, prepared, x)
    n, _, height, width = x.shape
    n_pixels = height * width
    rng = np.random.default_rng(seed)
    # rank: most important first; random keys break ties (e.g. flat Grad-CAM regions)
    order = np.stack([np.lexsort((rng.random(n_pixels), -maps[i].ravel())) for i in range(n)])
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(n_pixels)[None, :]
    rank_t = torch.as_tensor(rank.reshape(n, 1, height, width), device=x.device)
    if insertion_baseline == "blur":
        start_image = _blur(x)
    elif isinstance(insertion_baseline, int | float):
        start_image = torch.full_like(x, float(insertion_baseline))
    else:
        raise ParameterError("insertion_baseline", insertion_baseline, "must be 'blur' or a number")
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    deletion, insertion = [], []
    with analysis_mode(prepared.module):
        for fraction in fractions:
            k = round(float(fraction) * n_pixels)
            top = rank_t < k  # (N, 1, H, W) pixels among the k most important
            deleted = torch.where(top, torch.full_like(x, float(deletion_baseline)), x)
            inserted = torch.where(top, x, start_image)
            deletion.append(_scores(prepared, deleted, targets, score, batch_size).mean())
            insertion.append(_scores(prepared, inserted, targets, score, batch_size).mean())
    deletion_curve, insertion_curve = np.array(deletion), np.array(insertion)
    return {
        "fractions": fractions.tolist(),
        "deletion_curve": deletion_curve.tolist(),
        "insertion_curve": insertion_curve.tolist(),
        "deletion_auc": float(np.trapezoid(deletion_curve, fractions)),
        "insertion_auc": float(np.trapezoid(insertion_curve, fractions)),
    }


def _gaussian_perturbation(ranges: torch.Tensor, level: float, seed: int) -> Any:
    """Captum ``perturb_func`` for infidelity: Gaussian noise of sigma ``level * range``."""
    gen = torch.Generator().manual_seed(seed)

    def perturb(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reps = len(inputs) // len(ranges)  # captum repeats each image ``reps`` times
        sigma = (level * ranges).repeat_interleave(reps)[:, None, None, None]
        noise = torch.randn(inputs.shape, generator=gen).to(inputs.device) * sigma.to(inputs.device)
        return noise, inputs - noise

    return perturb


def _uniform_perturbation(ranges: torch.Tensor, seed: int) -> Any:
    """Captum ``perturb_func`` for sensitivity_max: uniform in ``radius * range``."""
    gen = torch.Generator().manual_seed(seed)

    def perturb(inputs: torch.Tensor, radius: float) -> torch.Tensor:
        reps = len(inputs) // len(ranges)
        scale = (radius * ranges).repeat_interleave(reps)[:, None, None, None]
        step = (2 * torch.rand(inputs.shape, generator=gen) - 1).to(inputs.device)
        return inputs + step * scale.to(inputs.device)

    return perturb


def faithfulness(
    model: Any,
    images: Any,
    *,
    methods: Sequence[str] | None = None,
    target: Any = None,
    output_names: Sequence[str] | None = None,
    n_steps: int = 20,
    score: str = "auto",
    infidelity_samples: int = 10,
    infidelity_noise: float = 0.1,
    sensitivity_samples: int = 5,
    sensitivity_radius: float = 0.02,
    seed: int = 0,
    batch_size: int = 32,
    **attribute_options: Any,
) -> dict[str, dict[str, float]]:
    """Deletion/insertion AUC, infidelity and max-sensitivity of each method.

    Parameters
    ----------
    model, images, target, output_names
        As in :func:`attribute`.
    methods
        Attribution methods to score; default the registry's checked ones
        (:func:`~galaxy_xai.explain.methods.default_check_methods`).
    n_steps, score
        Deletion/insertion settings (:func:`deletion_insertion`).
    infidelity_samples
        Gaussian perturbations per image for captum's ``infidelity``.
    infidelity_noise
        Their standard deviation as a fraction of each image's range.
    sensitivity_samples
        Perturbations per image for captum's ``sensitivity_max`` (each costs one
        attribution of the image, so keep it small for SmoothGrad).
    sensitivity_radius
        Radius of the uniform (L-infinity) perturbations, as a fraction of each
        image's range.
    seed
        Seed of the attribution noise and of the perturbations.
    batch_size
        Most model inputs per pass.
    **attribute_options
        Passed to :func:`attribute` (``n_samples``, ``noise_level``...).

    Returns
    -------
    dict
        Per method: ``deletion_auc``, ``insertion_auc``, ``infidelity``,
        ``sensitivity_max``; plus ``"random"``: ``deletion_auc`` and ``insertion_auc``
        of a random pixel order (the reference a faithful map must beat).
    """
    methods = resolve_methods(methods)
    infidelity_samples = check_positive_int("infidelity_samples", infidelity_samples)
    sensitivity_samples = check_positive_int("sensitivity_samples", sensitivity_samples)
    prepared = prepare_model(model, output_names=output_names)
    x = as_images(images, prepared)
    targets, _ = resolve_targets(target, prepared, x)
    names = prepared.output_names
    flat = x.reshape(len(x), -1)
    ranges = (flat.max(1).values - flat.min(1).values).clamp_min(1e-12)  # (N,)
    options = dict(attribute_options, batch_size=batch_size, seed=seed, output_names=names)
    results: dict[str, dict[str, float]] = {}

    def explain(rows: Any, method: str, rows_targets: torch.Tensor) -> torch.Tensor:
        if isinstance(rows, tuple):  # captum passes its inputs as a 1-tuple
            rows = rows[0]
        k = max(1, len(rows) // len(x))
        keys = np.arange(len(rows)) // k  # perturbed copies of image i keep its noise
        maps = attribute(
            prepared,
            rows,
            method=method,
            target=rows_targets.tolist(),
            keep_channels=True,
            noise_keys=keys.tolist(),
            **options,
        )
        # (N, C', H, W) -> (N, C, H, W): a one-channel map (Grad-CAM) is repeated per
        # input channel; contiguous, because captum's metrics .view() the explanations
        maps_t = torch.as_tensor(maps, device=rows.device)
        return maps_t.expand(-1, rows.shape[1], -1, -1).contiguous()

    rng_random = np.random.default_rng(seed)
    random_maps = rng_random.random((x.shape[0], *x.shape[2:]))
    reference = deletion_insertion(
        prepared,
        x,
        random_maps,
        target=targets.tolist(),
        n_steps=n_steps,
        score=score,
        batch_size=batch_size,
        seed=seed,
    )
    for method in methods:
        chan_maps = explain(x, method, targets)  # (N, C, H, W)
        curves = deletion_insertion(
            prepared,
            x,
            chan_maps.sum(1).cpu().numpy(),
            target=targets.tolist(),
            n_steps=n_steps,
            score=score,
            batch_size=batch_size,
            seed=seed,
        )

        perturb = _gaussian_perturbation(ranges, infidelity_noise, derive_seed(seed, 11))
        with analysis_mode(prepared.module), torch.no_grad():
            infid = infidelity(
                prepared.forward,
                perturb,
                x,
                chan_maps,
                target=targets,
                n_perturb_samples=infidelity_samples,
                max_examples_per_batch=min(max(batch_size, len(x)), len(x) * infidelity_samples),
                normalize=True,
            )

        perturb_uniform = _uniform_perturbation(ranges, derive_seed(seed, 12))
        sens = sensitivity_max(
            lambda rows, target, m=method: (explain(rows, m, target),),
            x,
            perturb_func=perturb_uniform,
            perturb_radius=sensitivity_radius,
            n_perturb_samples=sensitivity_samples,
            target=targets,
        )
        results[method] = {
            "deletion_auc": curves["deletion_auc"],
            "insertion_auc": curves["insertion_auc"],
            "infidelity": float(infid.double().mean()),
            "sensitivity_max": float(sens.double().mean()),
        }
    results["random"] = {
        "deletion_auc": reference["deletion_auc"],
        "insertion_auc": reference["insertion_auc"],
    }
    return results
