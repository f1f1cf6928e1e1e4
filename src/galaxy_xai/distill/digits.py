"""scikit-learn's handwritten digits as a dataset file: the computer-vision benchmark.

The 1,797 8x8 digits (Alpaydin & Kaynak 1998, bundled with scikit-learn, offline) are
the standard sanity check of a distillation method before it meets galaxies.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from galaxy_xai.data.store import write_dataset
from galaxy_xai.errors import ParameterError

__all__ = ["write_digits_dataset"]


def write_digits_dataset(
    path: str | os.PathLike[str], *, size: int = 16, limit: int | None = None
) -> Path:
    """Write the digits, upsampled bilinearly to ``size`` px, as a 1-channel dataset.

    Parameters
    ----------
    path
        Output ``.h5`` file.
    size
        Image side (px); 8 keeps the original resolution.
    limit
        Keep only the first ``limit`` digits (for tests).

    Raises
    ------
    ParameterError
        If ``size`` < 8 or ``limit`` < 1.
    """
    from sklearn.datasets import load_digits

    if size < 8:
        raise ParameterError("size", size, "must be >= 8 (the digits are 8x8 px)")
    if limit is not None and limit < 1:
        raise ParameterError("limit", limit, "must be >= 1")
    digits = load_digits()
    images = digits.images[:limit].astype(np.float32) / 16.0  # (N, 8, 8) in [0, 1]
    labels = digits.target[:limit].astype(np.int64)
    x = torch.from_numpy(images)[:, None]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    catalog = pd.DataFrame(
        {
            "id": [f"digit{i:04d}" for i in range(len(labels))],
            "label": labels,
            "pixel_scale_arcsec": np.nan,
            "source_file": "sklearn.datasets.load_digits",
        }
    )
    return write_dataset(
        path,
        x.clamp(0, 1).numpy(),
        catalog,
        metadata={
            "kind": "benchmark",
            "label_names": [str(d) for d in range(10)],
            "provenance": {"source": "sklearn.datasets.load_digits", "size_px": size},
        },
    )
