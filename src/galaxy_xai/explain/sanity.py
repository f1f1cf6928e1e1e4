"""The model-parameter randomisation test (Adebayo et al. 2018).

An explanation that explains the *model* must change when the model's learned weights
are destroyed. We re-initialise the layers of a deep copy of the network with their own
initialisers, either *cascading* from the top (output) layer down to the first, as in
Adebayo et al., or each layer *independently*, and compare the maps of the trained and
randomised networks per image with the Spearman rank correlation (and optionally
SSIM). A method that passes has a rank correlation well below 1 once the network is
randomised; edge-detector-like maps that stay the same fail.

References
----------
Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018, "Sanity Checks for Saliency
Maps", NeurIPS, arXiv 1810.03292.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import analysis_mode, as_images, derive_seed, prepare_model
from galaxy_xai.explain.core import attribute
from galaxy_xai.explain.methods import resolve_methods

__all__ = [
    "parameter_layers",
    "randomized_copy",
    "rank_correlation",
    "sanity_check",
    "structural_similarity",
]

log = logging.getLogger(__name__)

_MODES = ("cascading", "independent", "full")


def parameter_layers(module: nn.Module, example: torch.Tensor) -> list[str]:
    """Names of the modules that own parameters, in the order the forward pass runs them.

    Parameters
    ----------
    module
        The network.
    example
        ``(n, C, H, W)`` input for one probing forward pass.
    """
    owners = {
        name: sub
        for name, sub in module.named_modules()
        if any(True for _ in sub.parameters(recurse=False))
    }
    order: list[str] = []
    handles = []
    for name, sub in owners.items():

        def hook(*_: Any, name: str = name) -> None:
            if name not in order:
                order.append(name)

        handles.append(sub.register_forward_hook(hook))
    try:
        with analysis_mode(module), torch.no_grad():
            module(example)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _reinitialise(sub: nn.Module, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reset_parameters = getattr(sub, "reset_parameters", None)
        if callable(reset_parameters):
            reset_parameters()
        else:  # a custom layer: Gaussian weights, the scale of a fan-in initialisation
            for p in sub.parameters(recurse=False):
                fan_in = p[0].numel() if p.ndim > 1 else 1
                with torch.no_grad():
                    p.normal_(0.0, fan_in**-0.5)


def randomized_copy(module: nn.Module, layers: Sequence[str], *, seed: int = 0) -> nn.Module:
    """A deep copy of ``module`` with the named layers re-initialised (seeded).

    Each layer is reset by its own ``reset_parameters`` (the initialiser it was built
    with; BatchNorm also forgets its running statistics).

    Raises
    ------
    ParameterError
        If a layer name is not a submodule.
    """
    clone = copy.deepcopy(module)
    for name in layers:
        try:
            sub = clone.get_submodule(name)
        except AttributeError:
            raise ParameterError("layers", name, "is not a submodule of the model") from None
        _reinitialise(sub, derive_seed(seed, sum(name.encode())) % 2**31)
    return clone


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps ``(N, ...)``; NaN for constant maps."""
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        x, y = np.ravel(a[i]), np.ravel(b[i])
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = spearmanr(x, y).statistic
    return out


def structural_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean SSIM (kornia, Gaussian window) of each pair of maps, each scaled to [0, 1]."""
    import kornia

    def scale(m: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(m, dtype=np.float32))
        t = t.reshape(len(t), -1, *t.shape[-2:])
        lo = t.amin(dim=(1, 2, 3), keepdim=True)
        hi = t.amax(dim=(1, 2, 3), keepdim=True)
        return (t - lo) / (hi - lo).clamp_min(1e-12)

    size = min(a.shape[-1], a.shape[-2], 11)
    size = size if size % 2 else size - 1
    ssim = kornia.metrics.ssim(scale(a), scale(b), window_size=max(size, 3))
    return ssim.mean(dim=(1, 2, 3)).numpy().astype(np.float64)


def sanity_check(
    model: Any,
    images: Any,
    *,
    methods: Sequence[str] | None = None,
    target: Any = None,
    output_names: Sequence[str] | None = None,
    mode: str = "cascading",
    ssim: bool = False,
    seed: int = 0,
    **attribute_options: Any,
) -> dict[str, dict[str, Any]]:
    """Compare each method's maps on the trained and the randomised network.

    Parameters
    ----------
    model
        ``nn.Module`` or ``TrainedModel``; never modified (copies are randomised).
    images
        ``(N, C, H, W)`` images.
    methods
        Attribution methods to test (see :data:`galaxy_xai.explain.METHODS`); default
        the registry's checked ones (``gradient``, ``smoothgrad``,
        ``integrated_gradients``, ``gradcam``; :func:`~galaxy_xai.explain.methods.default_check_methods`).
    target
        Output to explain (index or name), as in :func:`attribute`.
    output_names
        Output names overriding the model's.
    mode
        ``"cascading"``: re-initialise layers successively from the top (output) layer
        down, as in Adebayo et al.; the last step is the fully randomised network.
        ``"independent"``: re-initialise one layer at a time, the rest trained; the
        fully randomised network is added as the last step. ``"full"``: only the fully
        randomised network (one step, fastest).
    ssim
        Also report the structural similarity (SSIM) of the maps.
    seed
        Seed of the re-initialisation and of the attribution noise.
    **attribute_options
        Passed to :func:`attribute` (``n_samples``, ``noise_level``, ``batch_size``...).

    Returns
    -------
    dict
        Per method: ``spearman`` (mean over images of the rank correlation between
        the maps of the trained and the fully randomised network), ``spearman_abs``
        (the same on absolute maps), ``ssim`` (if asked), ``n_images`` (images whose
        maps were not constant) and ``layers``: one entry per step, ``{"layer",
        "spearman", "spearman_abs"[, "ssim"]}`` in the order randomised.

    Raises
    ------
    ParameterError
        Unknown method or mode, and every error of :func:`attribute`.
    """
    if mode not in _MODES:
        raise ParameterError("mode", mode, f"must be one of {', '.join(_MODES)}")
    methods = resolve_methods(methods)
    if not methods:
        raise ParameterError("methods", [], "needs at least one method")
    prepared = prepare_model(model, output_names=output_names)
    x = as_images(images, prepared)
    layers = parameter_layers(prepared.module, x[:1])
    if not layers:
        raise ParameterError(
            "model", type(prepared.module).__name__, "has no parameters to randomise"
        )
    top_down = layers[::-1]
    if mode == "cascading":
        steps = [(name, top_down[: i + 1]) for i, name in enumerate(top_down)]
    elif mode == "independent":
        steps = [(name, [name]) for name in top_down] + [("all", top_down)]
    else:
        steps = [("all", top_down)]
    names = prepared.output_names

    def maps_of(net: nn.Module, method: str) -> np.ndarray:
        return attribute(
            net,
            x,
            method=method,
            target=target,
            output_names=names,
            seed=seed,
            **attribute_options,
        )

    trained = {m: maps_of(prepared.module, m) for m in methods}
    result: dict[str, dict[str, Any]] = {m: {"layers": [], "mode": mode} for m in methods}
    for step, (label, randomised) in enumerate(steps):
        net = randomized_copy(prepared.module, randomised, seed=seed)
        for m in methods:
            maps = maps_of(net, m)
            entry: dict[str, Any] = {
                "layer": label,
                "spearman": _nanmean(rank_correlation(trained[m], maps)),
                "spearman_abs": _nanmean(rank_correlation(np.abs(trained[m]), np.abs(maps))),
            }
            if ssim:
                entry["ssim"] = float(np.mean(structural_similarity(trained[m], maps)))
            result[m]["layers"].append(entry)
            if step == len(steps) - 1:
                corr = rank_correlation(trained[m], maps)
                result[m]["spearman"] = entry["spearman"]
                result[m]["spearman_abs"] = entry["spearman_abs"]
                result[m]["n_images"] = int(np.isfinite(corr).sum())
                if ssim:
                    result[m]["ssim"] = entry["ssim"]
        log.info("sanity: randomised %s (%d/%d)", label, step + 1, len(steps))
    return result


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
