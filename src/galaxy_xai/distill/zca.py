"""ZCA whitening fitted on the real training images (optional in distillation).

MTT (Cazenavette et al. 2022) distils CIFAR in ZCA-whitened space, following
kornia's ``ZCAWhitening`` with regularisation ``eps = 0.1``: whitening removes the
pixel correlations that make trajectory matching favour smooth, low-frequency images.
The transform is fitted once on the training part, saved with the buffer, and its
inverse brings prototypes back to pixel space for figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.io import atomic_output
from galaxy_xai.models.files import safe_torch_load

__all__ = ["ZCA"]


@dataclass
class ZCA:
    """A fitted ZCA whitening ``x -> (x - mean) @ W`` on flattened images.

    Attributes
    ----------
    mean : torch.Tensor
        ``(D,)`` mean of the flattened training images, ``D = C * H * W``.
    transform, inverse : torch.Tensor
        ``(D, D)`` whitening matrix and its inverse (both symmetric).
    shape : tuple
        ``(C, H, W)`` the transform was fitted on.
    """

    mean: torch.Tensor
    transform: torch.Tensor
    inverse: torch.Tensor
    shape: tuple[int, int, int]

    @classmethod
    def fit(cls, images: torch.Tensor, *, eps: float = 0.1) -> ZCA:
        """Fit on ``(N, C, H, W)`` training images.

        Parameters
        ----------
        images
            The (normalised) training images.
        eps
            Added to the covariance eigenvalues; larger keeps more of the image's
            low-frequency structure (kornia's and MTT's default is 0.1).

        Raises
        ------
        ParameterError
            If ``eps`` is not positive or fewer than two images are given.
        """
        if eps <= 0:
            raise ParameterError("eps", eps, "must be > 0")
        if images.ndim != 4 or len(images) < 2:
            raise ParameterError("images", tuple(images.shape), "needs (N >= 2, C, H, W)")
        flat = images.reshape(len(images), -1).double()
        mean = flat.mean(0)
        centred = flat - mean
        cov = centred.T @ centred / (len(flat) - 1)
        evals, evecs = torch.linalg.eigh(cov)
        evals = evals.clamp_min(0)
        transform = (evecs * (evals + eps).rsqrt()) @ evecs.T
        inverse = (evecs * (evals + eps).sqrt()) @ evecs.T
        return cls(mean.float(), transform.float(), inverse.float(), tuple(images.shape[1:]))  # type: ignore[arg-type]

    def _check(self, x: torch.Tensor) -> None:
        if tuple(x.shape[1:]) != self.shape:
            raise DataFormatError(
                f"ZCA was fitted on images {self.shape}; got {tuple(x.shape[1:])}"
            )

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Whiten ``(N, C, H, W)`` images."""
        self._check(x)
        return ((x.reshape(len(x), -1) - self.mean) @ self.transform).reshape(x.shape)

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`apply` (for figures of prototypes in pixel space)."""
        self._check(x)
        return (x.reshape(len(x), -1) @ self.inverse + self.mean).reshape(x.shape)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the transform to ``path`` (``torch.save``, atomically)."""
        with atomic_output(path) as tmp:
            torch.save(
                {
                    "mean": self.mean,
                    "transform": self.transform,
                    "inverse": self.inverse,
                    "shape": list(self.shape),
                },
                tmp,
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ZCA:
        """Read a transform written by :meth:`save`."""
        state = safe_torch_load(path, what="ZCA transform")
        return cls(state["mean"], state["transform"], state["inverse"], tuple(state["shape"]))
