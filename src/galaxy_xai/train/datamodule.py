"""Datasets and loaders of a run: fixed seeded splits, in-memory or lazy reading."""

from __future__ import annotations

import logging
from collections.abc import Sized
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from galaxy_xai.data.splits import split_indices
from galaxy_xai.data.store import GalaxyDataset, TorchGalaxyDataset
from galaxy_xai.errors import DataFormatError
from galaxy_xai.train.config import DataConfig
from galaxy_xai.train.targets import Targets

__all__ = [
    "SPLIT_PARTS",
    "EpochShuffleSampler",
    "TargetedDataset",
    "make_dataset",
    "make_split",
    "read_images",
    "require_finite_images",
]

log = logging.getLogger(__name__)

SPLIT_PARTS = ("train", "val", "test")
_IN_MEMORY_LIMIT = 2 * 1024**3  # bytes of float32 images cached by in_memory="auto"
_CHECK_CHUNK_BYTES = 64 * 1024**2  # float32 images read at a time by require_finite_images


def make_split(targets: Targets, cfg: DataConfig, task: str) -> dict[str, np.ndarray]:
    """Positions into ``targets.rows`` per part, seeded by ids, stratified for classes.

    Raises
    ------
    DataFormatError
        If the training part is empty (too few usable rows).
    """
    fractions = dict(
        zip(SPLIT_PARTS, (cfg.train_fraction, cfg.val_fraction, cfg.test_fraction), strict=True)
    )
    stratify = targets.values if task == "classification" else None
    parts = split_indices(list(targets.ids), fractions, seed=cfg.split_seed, stratify=stratify)
    if len(parts["train"]) == 0:
        raise DataFormatError(
            f"the training split is empty ({len(targets.rows)} usable rows, "
            f"train_fraction={cfg.train_fraction}): use more data or a larger fraction"
        )
    return parts


def read_images(ds: GalaxyDataset, rows: np.ndarray, *, chunk: int = 512) -> torch.Tensor:
    """Images of dataset ``rows`` as one float32 ``(N, C, H, W)`` tensor (read in chunks)."""
    out = torch.empty((len(rows), *ds.image_shape), dtype=torch.float32)
    for start in range(0, len(rows), chunk):
        out[start : start + chunk] = torch.from_numpy(ds.images[rows[start : start + chunk]])
    return out


def require_finite_images(ds: GalaxyDataset, rows: np.ndarray) -> None:
    """Refuse NaN or infinite pixels in dataset ``rows``, read in chunks of about 64 MiB.

    The dataset writer refuses such pixels, but a file written by another tool may
    hold them, and a network trained on them has NaN weights throughout.

    Raises
    ------
    DataFormatError
        Naming the first such row and its id.
    """
    ordered = np.sort(np.asarray(rows, dtype=np.int64))
    chunk = max(1, _CHECK_CHUNK_BYTES // (4 * int(np.prod(ds.image_shape))))
    for start in range(0, len(ordered), chunk):
        block = ordered[start : start + chunk]
        finite = np.isfinite(ds.images[block].reshape(len(block), -1)).all(1)
        if not finite.all():
            row = int(block[np.argmin(finite)])
            raise DataFormatError(
                f"dataset '{ds.path}' row {row} (id {ds.catalog['id'].iloc[row]!r}): NaN or "
                "infinite pixels; nothing was trained (fix or drop those images)"
            )


class TargetedDataset(Dataset):
    """Lazy images of some dataset rows with given targets (worker and DDP safe)."""

    def __init__(self, path: Path, rows: np.ndarray, targets: torch.Tensor) -> None:
        self.images = TorchGalaxyDataset(path, target=None, indices=rows)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i][0], self.targets[i]


def make_dataset(
    ds: GalaxyDataset, targets: Targets, positions: np.ndarray, cfg: DataConfig
) -> Dataset:
    """A torch dataset of ``targets`` at ``positions`` (in memory when small enough)."""
    rows = targets.rows[positions]
    values = targets.values[positions]
    y = torch.as_tensor(values, dtype=torch.long if values.dtype.kind in "iu" else torch.float32)
    nbytes = 4 * len(rows) * int(np.prod(ds.image_shape))
    if cfg.in_memory == "always" or (cfg.in_memory == "auto" and nbytes <= _IN_MEMORY_LIMIT):
        return TensorDataset(read_images(ds, rows), y)
    return TargetedDataset(ds.path, rows, y)


class EpochShuffleSampler(Sampler[int]):
    """A random order of ``n`` items fixed by ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before each epoch, so the order of an epoch does
    not depend on how many epochs ran in this process: a resumed run sees the same
    batches as an uninterrupted one.
    """

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n, self.seed, self.epoch = int(n), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        yield from torch.randperm(self.n, generator=g).tolist()


def make_loader(
    dataset: Dataset, *, batch_size: int, shuffle: bool, cfg: DataConfig, seed: int = 0
) -> Any:
    """A DataLoader with the run's worker settings (shuffled by (seed, epoch) if ``shuffle``)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        # map-style datasets (make_dataset's) define __len__; torch's Dataset type omits it
        sampler=EpochShuffleSampler(len(cast(Sized, dataset)), seed) if shuffle else None,
        # own generator: creating an iterator must not draw from the global RNG, which
        # EpochSeed reseeds for augmentation and dropout
        generator=torch.Generator().manual_seed(seed),
        num_workers=cfg.num_workers,
        persistent_workers=cfg.num_workers > 0,
        drop_last=False,
    )
