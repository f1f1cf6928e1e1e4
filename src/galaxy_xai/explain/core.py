"""``attribute``: one verb for every attribution method of the registry."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.explain._base import (
    Prepared,
    analysis_mode,
    as_images,
    check_positive_int,
    derive_seed,
    prepare_model,
    reduce_channels,
)
from galaxy_xai.explain.methods import (
    DEFAULT_ABS,
    Call,
    MethodSpec,
    check_method,
    get_method,
    method_options,
)
from galaxy_xai.explain.targets import resolve_target

__all__ = ["DEFAULT_ABS", "attribute", "attribute_mc_dropout", "check_method", "resolve_targets"]

log = logging.getLogger(__name__)


def resolve_targets(
    target: Any, prepared: Prepared, x: torch.Tensor
) -> tuple[torch.Tensor, int | None]:
    """Per-image output indices ``(N,)`` and the common index (None if per-image).

    Raises
    ------
    ParameterError
        If ``target`` is a sequence without one value per image, or a value names no
        output of the model.
    """
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
    options: Any = None,
    target: int | str | Sequence[int | str] | None = None,
    output_names: Sequence[str] | None = None,
    batch_size: int = 32,
    seed: int = 0,
    abs: bool | None = None,
    keep_channels: bool = False,
    mc_dropout: bool = False,
    noise_keys: Sequence[int] | None = None,
    ids: Sequence[str] | None = None,
    **method_keywords: Any,
) -> np.ndarray:
    """Attribution maps of one model output for a batch of images.

    Parameters
    ----------
    model
        An ``nn.Module`` (outputs ``(N, K)`` or ``(N,)``) or a trained model from
        :func:`galaxy_xai.models.load_model` (a ``LoadedModel``; the ``TrainedModel``
        of :func:`galaxy_xai.train.load_trained` works too): its ``output_names`` and
        ``input_shape`` are used. The model is not modified (eval mode and frozen
        parameters only during the call).
    images
        ``(N, C, H, W)`` tensor or array, preprocessed as for the model.
    method
        A registered method (:data:`~galaxy_xai.explain.methods.METHODS`):
        ``"gradient"``, ``"smoothgrad"``, ``"smoothgrad_sq"``, ``"vargrad"``,
        ``"integrated_gradients"``, ``"gradcam"``, ``"occlusion"``, ...
    options
        The method's own options, an instance of its options class
        (:attr:`MethodSpec.options <galaxy_xai.explain.methods.MethodSpec>`, e.g.
        :class:`~galaxy_xai.explain.methods.NoiseTunnelOptions` for ``smoothgrad``);
        default the method's defaults.
    target
        Output to explain: an index, a name from ``output_names`` (e.g. ``"bar"``), one
        of these per image, or None for a single-output model.
    output_names
        Names of the outputs, overriding the model's own.
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
    noise_keys
        Integer key per image that seeds its noise (default its position 0..N-1);
        :func:`explain_dataset` passes dataset rows so that shards reproduce one run.
    ids
        Image ids, used only to name an image in error messages.
    **method_keywords
        Single options of the method, overriding ``options``: ``noise_level`` (noise
        sigma as a fraction of each image's range, Smilkov et al. suggest 0.1-0.2) and
        ``n_samples`` (noisy copies) for the noise tunnels; ``baseline`` (a number or an
        image-shaped array) and ``n_steps`` for Integrated Gradients; ``layer`` (module
        or dotted name; default the model's ``gradcam_layer`` or last convolution) for
        Grad-CAM; ``window_px``, ``stride_px`` (default 1/8 of the image and half that)
        and ``baseline`` for occlusion. An option of another method only is checked
        and ignored, so that one set of options serves several methods.

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
    TypeError
        A keyword that no registered method takes.

    Examples
    --------
    >>> maps = attribute(net, images, method="smoothgrad", target="bar")  # doctest: +SKIP
    """
    spec = get_method(method)
    opts = method_options(spec, options, **method_keywords)
    batch_size = check_positive_int("batch_size", batch_size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError("seed", seed, "must be an integer")
    prepared = prepare_model(model, output_names=output_names)
    x = as_images(images, prepared, ids=ids)
    targets, _ = resolve_targets(target, prepared, x)
    keys = torch.arange(len(x)) if noise_keys is None else torch.as_tensor(list(noise_keys))
    if len(keys) != len(x):
        raise ParameterError("noise_keys", f"{len(keys)} keys", f"needs one per image ({len(x)})")
    use_abs = spec.default_abs if abs is None else bool(abs)
    with analysis_mode(prepared.module, mc_dropout=mc_dropout, seed=int(seed)) as masks:
        call = Call(prepared, batch_size, int(seed), use_abs, keys, masks)
        attr = _run(spec, call, x, targets, opts)
        if use_abs and not spec.abs_inside:
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


def _run(
    spec: MethodSpec, call: Call, x: torch.Tensor, targets: torch.Tensor, options: Any
) -> torch.Tensor:
    """The method's ``(N, C', H, W)`` attributions, one image at a time under MC dropout
    unless the method keeps one dropout mask per image itself."""
    if call.masks is None or spec.handles_dropout:
        return spec.run(call, x, targets, options)
    parts = []
    for i in range(len(x)):  # each image keeps its own dropout mask
        call.masks.row_keys = int(call.keys[i])
        one = dataclasses.replace(call, keys=call.keys[i : i + 1])
        parts.append(spec.run(one, x[i : i + 1], targets[i : i + 1], options))
    return torch.cat(parts)


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
