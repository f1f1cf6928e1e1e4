"""``attribute``: one verb for every attribution method."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.explain._base import (
    METHODS,
    Prepared,
    analysis_mode,
    as_images,
    check_positive_int,
    derive_seed,
    prepare_model,
    reduce_channels,
)
from galaxy_xai.explain.gradcam import gradcam
from galaxy_xai.explain.gradients import noisy_gradients
from galaxy_xai.explain.integrated import integrated_gradients
from galaxy_xai.explain.occlusion import occlusion
from galaxy_xai.explain.targets import resolve_target

__all__ = ["DEFAULT_ABS", "attribute", "attribute_mc_dropout", "check_method", "resolve_targets"]

log = logging.getLogger(__name__)

#: Whether each method takes absolute values by default: magnitudes for gradient maps
#: (Simonyan et al. 2014; captum's Saliency), signed for methods whose sign means
#: something (Integrated Gradients' completeness, occlusion's output drop); squared,
#: variance and ReLU'd Grad-CAM maps are non-negative already.
DEFAULT_ABS = {
    "gradient": True,
    "smoothgrad": True,
    "smoothgrad_sq": False,
    "vargrad": False,
    "integrated_gradients": False,
    "gradcam": False,
    "occlusion": False,
}


def check_method(method: str) -> str:
    """Return ``method`` if known, else raise :class:`ParameterError` listing the valid ones."""
    if method not in METHODS:
        raise ParameterError("method", method, f"unknown; choose one of {', '.join(METHODS)}")
    return method


def resolve_targets(
    target: Any, prepared: Prepared, x: torch.Tensor
) -> tuple[torch.Tensor, int | None]:
    """Per-image output indices ``(N,)`` and the common index (None if per-image)."""
    with analysis_mode(prepared.module), torch.no_grad():
        n_outputs = int(prepared.forward(x[:1]).shape[1])
    if isinstance(target, list | tuple | np.ndarray | torch.Tensor):
        values = [
            resolve_target(t, output_names=prepared.output_names, n_outputs=n_outputs)
            for t in np.asarray(target, dtype=object).ravel()
        ]
        if len(values) != len(x):
            raise ParameterError(
                "target", f"{len(values)} values", f"needs one per image ({len(x)}) or a single one"
            )
        return torch.tensor(values, dtype=torch.long), None
    index = resolve_target(target, output_names=prepared.output_names, n_outputs=n_outputs)
    return torch.full((len(x),), index, dtype=torch.long), index


def attribute(
    model: Any,
    images: Any,
    *,
    method: str = "smoothgrad",
    target: int | str | Sequence[int | str] | None = None,
    output_names: Sequence[str] | None = None,
    noise_level: float = 0.15,
    n_samples: int = 50,
    batch_size: int = 32,
    seed: int = 0,
    abs: bool | None = None,
    keep_channels: bool = False,
    mc_dropout: bool = False,
    baseline: Any = 0.0,
    n_steps: int = 50,
    layer: str | nn.Module | None = None,
    window_px: int | None = None,
    stride_px: int | None = None,
    noise_keys: Sequence[int] | None = None,
    ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Attribution maps of one model output for a batch of images.

    Parameters
    ----------
    model
        An ``nn.Module`` (outputs ``(N, K)`` or ``(N,)``) or a ``TrainedModel`` from
        :func:`galaxy_xai.train.load_trained` (its ``output_names`` and ``input_shape``
        are used). The model is not modified (eval mode and frozen parameters only
        during the call).
    images
        ``(N, C, H, W)`` tensor or array, preprocessed as for the model.
    method
        ``"gradient"``, ``"smoothgrad"``, ``"smoothgrad_sq"``, ``"vargrad"``,
        ``"integrated_gradients"``, ``"gradcam"`` or ``"occlusion"``.
    target
        Output to explain: an index, a name from ``output_names`` (e.g. ``"bar"``), one
        of these per image, or None for a single-output model.
    output_names
        Names of the outputs, overriding the model's own.
    noise_level
        SmoothGrad/VarGrad noise sigma as a fraction of each image's range,
        ``sigma = noise_level * (max - min)`` (Smilkov et al. 2017 suggest 0.1-0.2).
    n_samples
        Noisy copies per image for the noise methods.
    batch_size
        Most model inputs per forward/backward pass; bounds memory and never changes
        the result.
    seed
        Seed of the noise (and of the dropout masks with ``mc_dropout``).
    abs
        Absolute value of each attribution before the channel sum; default per method
        (:data:`DEFAULT_ABS`).
    keep_channels
        Return ``(N, C, H, W)`` (``(N, 1, H, W)`` for Grad-CAM) instead of the channel sum.
    mc_dropout
        Monte Carlo dropout: the dropout layers drop units (BatchNorm stays in eval
        mode), with one mask per image drawn from ``seed`` and shared by all its noise
        samples, so a call gives the map of one network drawn from the approximate
        posterior. Call with several seeds (:func:`attribute_mc_dropout`) for a
        distribution of maps.
    baseline
        Integrated Gradients / occlusion reference: a number or an image-shaped array.
    n_steps
        Integrated Gradients path points.
    layer
        Grad-CAM layer (module or dotted name); default the model's ``gradcam_layer``
        or its last convolution.
    window_px, stride_px
        Occlusion window side and stride (px); default 1/8 of the image and half that.
    noise_keys
        Integer key per image that seeds its noise (default its position 0..N-1);
        :func:`explain_dataset` passes dataset rows so that shards reproduce one run.
    ids
        Image ids, used only to name an image in error messages.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, H, W)`` maps (or ``(N, C, H, W)`` with ``keep_channels``).

    Raises
    ------
    ParameterError
        Unknown method (the valid ones are listed), a target name the model does not
        have (its names are listed), a target index out of range, a bad option value.
    ModelMismatchError
        Images whose shape does not fit the model.
    DataFormatError
        Images or resulting maps with NaN or infinite values (naming the image).

    Examples
    --------
    >>> maps = attribute(net, images, method="smoothgrad", target="bar")  # doctest: +SKIP
    """
    check_method(method)
    if not (isinstance(noise_level, int | float) and math.isfinite(noise_level)) or noise_level < 0:
        raise ParameterError("noise_level", noise_level, "must be a finite number >= 0")
    n_samples = check_positive_int("n_samples", n_samples)
    batch_size = check_positive_int("batch_size", batch_size)
    n_steps = check_positive_int("n_steps", n_steps)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError("seed", seed, "must be an integer")
    prepared = prepare_model(model, output_names=output_names)
    x = as_images(images, prepared, ids=ids)
    targets, _ = resolve_targets(target, prepared, x)
    keys = torch.arange(len(x)) if noise_keys is None else torch.as_tensor(list(noise_keys))
    if len(keys) != len(x):
        raise ParameterError("noise_keys", f"{len(keys)} keys", f"needs one per image ({len(x)})")
    use_abs = DEFAULT_ABS[method] if abs is None else bool(abs)
    with analysis_mode(prepared.module, mc_dropout=mc_dropout, seed=int(seed)) as masks:
        if method in ("gradient", "smoothgrad", "smoothgrad_sq", "vargrad"):
            attr = noisy_gradients(
                prepared,
                x,
                targets,
                method=method,
                noise_level=float(noise_level),
                n_samples=n_samples,
                batch_size=batch_size,
                seed=int(seed),
                abs_value=use_abs,
                keys=keys,
                masks=masks,
            )
            use_abs = use_abs and method in ("smoothgrad_sq", "vargrad")
        else:

            def run(rows: torch.Tensor, rows_targets: torch.Tensor) -> torch.Tensor:
                if method == "integrated_gradients":
                    return integrated_gradients(
                        prepared,
                        rows,
                        rows_targets,
                        baseline=baseline,
                        n_steps=n_steps,
                        batch_size=batch_size,
                    )
                if method == "gradcam":
                    return gradcam(prepared, rows, rows_targets, layer=layer, batch_size=batch_size)
                return occlusion(
                    prepared,
                    rows,
                    rows_targets,
                    window_px=window_px,
                    stride_px=stride_px,
                    baseline=baseline,
                    batch_size=batch_size,
                )

            if masks is None:
                attr = run(x, targets)
            else:  # one image at a time so that each image keeps its own dropout mask
                parts = []
                for i in range(len(x)):
                    masks.row_keys = int(keys[i])
                    parts.append(run(x[i : i + 1], targets[i : i + 1]))
                attr = torch.cat(parts)
        if use_abs:
            attr = attr.abs()
    maps = reduce_channels(attr, keep_channels=keep_channels)
    finite = np.isfinite(maps.reshape(len(maps), -1)).all(1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        where = f"id {ids[bad]!r}" if ids is not None else f"index {bad}"
        raise DataFormatError(
            f"{method} map of image {where} has NaN or infinite values (model output "
            f"{int(targets[bad])}); check the model and the image"
        )
    return maps


def attribute_mc_dropout(
    model: Any, images: Any, *, n_draws: int = 20, seed: int = 0, **kwargs: Any
) -> np.ndarray:
    """Maps of ``n_draws`` Monte Carlo dropout networks: ``(n_draws, N, H, W)``.

    Each draw is :func:`attribute` with ``mc_dropout=True`` and its own seed (which
    fixes both the dropout masks and the SmoothGrad noise), so the spread of the maps
    carries the model uncertainty into anything measured from them (e.g. bar lengths
    reported as median and 16-84th percentiles). Keyword arguments go to
    :func:`attribute`.
    """
    n_draws = check_positive_int("n_draws", n_draws)
    kwargs.pop("mc_dropout", None)
    return np.stack(
        [
            attribute(
                model, images, mc_dropout=True, seed=derive_seed(seed, draw) % 2**31, **kwargs
            )
            for draw in range(n_draws)
        ]
    )
