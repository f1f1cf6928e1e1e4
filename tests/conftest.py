"""Shared fixtures: seeded RNGs, the real-data folder, tiny datasets."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("GALAXY_XAI_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - legacy global RNG seeded for third-party code
    try:
        import torch

        torch.manual_seed(0)
        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _real_data_root() -> Path | None:
    value = os.environ.get("GALAXY_XAI_DATA")
    if value:
        return Path(value)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real-data folder (``GALAXY_XAI_DATA``).

    Skips when absent, unless ``GALAXY_XAI_REQUIRE_DATA=1`` (set by ``.ci/run``), in
    which case a missing folder fails the test.
    """
    root = _real_data_root()
    if root is None or not root.is_dir():
        message = (
            f"real-data folder not found (GALAXY_XAI_DATA={os.environ.get('GALAXY_XAI_DATA')!r})"
        )
        if os.environ.get("GALAXY_XAI_REQUIRE_DATA") == "1":
            pytest.fail(message + " but GALAXY_XAI_REQUIRE_DATA=1")
        pytest.skip(message)
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """A 24-image, 2-class, 1x32x32 dataset file (blobs vs rings) with pixel scales."""
    from galaxy_xai.data.store import write_dataset

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:32, :32] - 15.5
    r = np.hypot(xx, yy)
    images, rows = [], []
    for i in range(24):
        label = i % 2
        img = np.exp(-0.5 * (r / 4) ** 2) if label == 0 else np.exp(-0.5 * ((r - 9) / 2) ** 2)
        img = img + 0.02 * rng.standard_normal(img.shape)
        images.append(img[None].astype(np.float32))
        rows.append(
            {
                "id": f"g{i:03d}",
                "label": label,
                "pixel_scale_arcsec": 0.396,
                "source_file": "synthetic",
            }
        )
    path = tmp_path / "tiny.h5"
    write_dataset(
        path,
        np.stack(images),
        pd.DataFrame(rows),
        metadata={"kind": "test", "label_names": ["blob", "ring"]},
    )
    return path
