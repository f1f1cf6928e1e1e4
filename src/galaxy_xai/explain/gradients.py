"""Input gradients and their noise-averaged variants.

* ``gradient``: the saliency map of Simonyan, Vedaldi & Zisserman (2014),
  :math:`\\partial y_t / \\partial x`.
* ``smoothgrad``: the mean gradient over ``n_samples`` copies of the image with added
  Gaussian noise (Smilkov et al. 2017), :math:`\\frac{1}{n}\\sum_i g(x + \\epsilon_i)`.
* ``smoothgrad_sq``: the mean squared gradient, :math:`\\frac{1}{n}\\sum_i g^2`.
* ``vargrad``: the variance of the noisy gradients (Adebayo et al. 2018),
  :math:`\\frac{1}{n}\\sum_i g^2 - (\\frac{1}{n}\\sum_i g)^2`.

The noise standard deviation is ``noise_level * (max(x) - min(x))`` per image, as in
Smilkov et al. Results equal captum's ``NoiseTunnel(Saliency(model))`` with the same
noise (``abs`` applies to each noisy gradient, as captum's ``Saliency(abs=True)``;
``smoothgrad_sq`` and ``vargrad`` use the signed gradients). They are computed faster
and in bounded memory: the noisy copies of all images are streamed in chunks of at
most ``batch_size`` rows, each chunk needs one forward and one backward pass, no
parameter gradients are built, and the sums are accumulated in float64.

The streaming is not specific to gradients: :func:`noisy_attributions` is the noise
tunnel of any per-row attribution (``rows_fn``), which
:func:`galaxy_xai.explain.methods.noise_tunnel` uses to compose SmoothGrad over any
registered method.

Noise is seeded per image from ``(seed, key)``, where the key is the image's position
(or its dataset row), so a map does not depend on the batch size, on the other images
in the batch, or on the shard that computed it.

References
----------
Simonyan, Vedaldi & Zisserman 2014, ICLR workshop, arXiv 1312.6034.
Smilkov, Thorat, Kim, Viégas & Wattenberg 2017, arXiv 1706.03825.
Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018, NeurIPS, arXiv 1810.03292.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from galaxy_xai.errors import ParameterError
from galaxy_xai.explain._base import Prepared, derive_seed

__all__ = [
    "NT_TYPES",
    "RowsFunction",
    "input_gradients",
    "noise_sigmas",
    "noisy_attributions",
    "sample_noise",
]

#: The noise tunnel's statistics of the noisy attributions, captum's ``nt_type`` names.
NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")

#: ``rows_fn(rows, rows_targets, rows_keys) -> attributions`` of a chunk of rows.
RowsFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def noise_sigmas(x: torch.Tensor, noise_level: float) -> torch.Tensor:
    """Per-image noise standard deviation ``noise_level * (max - min)``, shape (N,)."""
    flat = x.reshape(len(x), -1)
    return noise_level * (flat.max(1).values - flat.min(1).values)


def sample_noise(
    shape: tuple[int, ...], *, seed: int, key: int, sigma: float, device: torch.device
) -> torch.Tensor:
    """The ``(n_samples, C, H, W)`` Gaussian noise of image ``key`` (reproducible)."""
    gen = torch.Generator().manual_seed(derive_seed(seed, key, 0))
    noise = torch.randn(shape, generator=gen)
    return (noise * sigma).to(device)


def _chunks(
    x: torch.Tensor,
    keys: torch.Tensor,
    *,
    n_samples: int,
    sigmas: torch.Tensor,
    seed: int,
    batch_size: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (rows, owner) with at most ``batch_size`` noisy copies of the images.

    ``owner`` gives, per row, the position of its image in ``x``.
    """
    pending: list[torch.Tensor] = []
    owners: list[torch.Tensor] = []
    count = 0
    for i in range(len(x)):
        sigma = float(sigmas[i])
        if n_samples == 1 and sigma == 0.0:
            samples = x[i : i + 1]
        else:
            noise = sample_noise(
                (n_samples, *x.shape[1:]),
                seed=seed,
                key=int(keys[i]),
                sigma=sigma,
                device=x.device,
            )
            samples = x[i : i + 1] + noise  # (n_samples, C, H, W)
        start = 0
        while start < n_samples:
            take = min(batch_size - count, n_samples - start)
            pending.append(samples[start : start + take])
            owners.append(torch.full((take,), i, dtype=torch.long))
            count += take
            start += take
            if count == batch_size:
                yield torch.cat(pending), torch.cat(owners)
                pending, owners, count = [], [], 0
    if count:
        yield torch.cat(pending), torch.cat(owners)


def input_gradients(prepared: Prepared, rows: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradients of output ``targets[i]`` of row ``i`` with respect to the rows.

    One forward and one backward pass for the whole chunk; parameters must be frozen
    (see :func:`galaxy_xai.explain._base.analysis_mode`).
    """
    rows = rows.detach().requires_grad_(True)
    with torch.enable_grad():
        out = prepared.forward(rows)  # (B, K)
        score = out.gather(1, targets.to(out.device)[:, None]).sum()
        (grad,) = torch.autograd.grad(score, rows)
    return grad


def noisy_attributions(
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    rows_fn: RowsFunction,
    nt_type: str,
    noise_level: float,
    n_samples: int,
    batch_size: int,
    seed: int,
    abs_value: bool,
    keys: torch.Tensor,
    masks: object | None = None,
) -> torch.Tensor:
    """``(N, C', H, W)`` noise tunnel of a per-row attribution (captum's ``NoiseTunnel``).

    Parameters
    ----------
    x
        ``(N, C, H, W)`` images.
    targets
        ``(N,)`` output index per image.
    rows_fn
        ``rows_fn(rows, rows_targets, rows_keys)``: the attribution of a chunk of at
        most ``batch_size`` (noisy) rows, e.g. :func:`input_gradients`.
    nt_type
        ``"smoothgrad"`` (mean), ``"smoothgrad_sq"`` (mean square) or ``"vargrad"``
        (variance) of the noisy attributions (:data:`NT_TYPES`).
    noise_level
        Noise sigma as a fraction of each image's range.
    n_samples
        Noisy copies per image (1 with ``noise_level=0``: the plain attribution).
    batch_size
        Most rows per call of ``rows_fn`` (bounds memory).
    seed
        Seed of the noise; with ``keys`` it fixes every image's noise.
    abs_value
        Take the absolute value of each attribution (``"smoothgrad"`` only).
    keys
        ``(N,)`` integer key of each image (position or dataset row).
    masks
        Monte Carlo dropout hooks whose ``row_keys`` are set per chunk, or None.

    Raises
    ------
    ParameterError
        If ``nt_type`` is not one of :data:`NT_TYPES`.
    """
    if nt_type not in NT_TYPES:
        raise ParameterError("nt_type", nt_type, f"must be one of {', '.join(NT_TYPES)}")
    sigmas = noise_sigmas(x, noise_level)
    acc: torch.Tensor | None = None
    acc_sq: torch.Tensor | None = None
    for rows, owner in _chunks(
        x, keys, n_samples=n_samples, sigmas=sigmas, seed=seed, batch_size=batch_size
    ):
        if masks is not None:
            masks.row_keys = keys[owner]  # type: ignore[attr-defined]
        attr = rows_fn(rows, targets[owner], keys[owner]).to(torch.float64)
        if acc is None:  # the attribution's own shape: (N, C, H, W), or (N, 1, H, W)
            acc = torch.zeros((len(x), *attr.shape[1:]), dtype=torch.float64, device=x.device)
            acc_sq = torch.zeros_like(acc) if nt_type in ("smoothgrad_sq", "vargrad") else None
        owner = owner.to(x.device)
        if nt_type == "vargrad":
            acc.index_add_(0, owner, attr)
            acc_sq.index_add_(0, owner, attr * attr)  # type: ignore[union-attr]
        elif nt_type == "smoothgrad_sq":
            acc_sq.index_add_(0, owner, attr * attr)  # type: ignore[union-attr]
        else:
            acc.index_add_(0, owner, attr.abs() if abs_value else attr)
    if acc is None:  # _chunks yields at least one chunk for N >= 1 images
        raise ParameterError("images", tuple(x.shape), "holds no images")
    # acc_sq is allocated exactly for "vargrad" and "smoothgrad_sq".
    if acc_sq is None:
        result = acc / n_samples
    elif nt_type == "vargrad":
        mean = acc / n_samples
        result = (acc_sq / n_samples - mean * mean).clamp_min(0.0)
    else:
        result = acc_sq / n_samples
    return result.to(torch.float32)
