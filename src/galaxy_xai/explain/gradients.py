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

from collections.abc import Iterator

import torch

from galaxy_xai.explain._base import Prepared, derive_seed

__all__ = ["NOISE_METHODS", "noise_sigmas", "noisy_gradients", "sample_noise"]

NOISE_METHODS = ("smoothgrad", "smoothgrad_sq", "vargrad")


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


def noisy_gradients(
    prepared: Prepared,
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    method: str,
    noise_level: float,
    n_samples: int,
    batch_size: int,
    seed: int,
    abs_value: bool,
    keys: torch.Tensor,
    masks: object | None = None,
) -> torch.Tensor:
    """``(N, C, H, W)`` attributions of ``gradient``/``smoothgrad``/``smoothgrad_sq``/``vargrad``.

    Parameters
    ----------
    prepared
        The model (see :func:`~galaxy_xai.explain._base.prepare_model`).
    x
        ``(N, C, H, W)`` images.
    targets
        ``(N,)`` output index per image.
    method
        One of ``"gradient"``, ``"smoothgrad"``, ``"smoothgrad_sq"``, ``"vargrad"``.
    noise_level
        Noise sigma as a fraction of each image's range (ignored for ``gradient``).
    n_samples
        Noisy copies per image (1 for ``gradient``).
    batch_size
        Most rows per forward/backward pass (bounds memory).
    seed
        Seed of the noise; with ``keys`` it fixes every image's noise.
    abs_value
        Take the absolute value of each gradient (``gradient``, ``smoothgrad``).
    keys
        ``(N,)`` integer key of each image (position or dataset row).
    masks
        Monte Carlo dropout hooks whose ``row_keys`` are set per chunk, or None.
    """
    if method == "gradient":
        n_samples, noise_level = 1, 0.0
    sigmas = noise_sigmas(x, noise_level)
    acc = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
    acc_sq = torch.zeros_like(acc) if method in ("smoothgrad_sq", "vargrad") else None
    for rows, owner in _chunks(
        x, keys, n_samples=n_samples, sigmas=sigmas, seed=seed, batch_size=batch_size
    ):
        if masks is not None:
            masks.row_keys = keys[owner]  # type: ignore[attr-defined]
        grad = input_gradients(prepared, rows, targets[owner]).to(torch.float64)
        owner = owner.to(x.device)
        if method == "vargrad":
            acc.index_add_(0, owner, grad)
            acc_sq.index_add_(0, owner, grad * grad)  # type: ignore[union-attr]
        elif method == "smoothgrad_sq":
            acc_sq.index_add_(0, owner, grad * grad)  # type: ignore[union-attr]
        else:
            acc.index_add_(0, owner, grad.abs() if abs_value else grad)
    # acc_sq is allocated exactly for "vargrad" and "smoothgrad_sq".
    if acc_sq is None:
        result = acc / n_samples
    elif method == "vargrad":
        mean = acc / n_samples
        result = (acc_sq / n_samples - mean * mean).clamp_min(0.0)
    else:
        result = acc_sq / n_samples
    return result.to(torch.float32)
