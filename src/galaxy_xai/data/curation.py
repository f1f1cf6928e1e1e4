"""Label curation: GaMorNet classes from bulge-to-total, Galaxy Zoo decision-tree helpers."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from galaxy_xai.errors import ParameterError

__all__ = ["GAMORNET_CLASS_NAMES", "gamornet_labels"]

#: GaMorNet's three classes, in the order of the integer labels returned by
#: :func:`gamornet_labels` (Ghosh et al. 2020, ApJ 895, 112, section 2).
GAMORNET_CLASS_NAMES = ("disk-dominated", "indeterminate", "bulge-dominated")


def gamornet_labels(
    bulge_to_total: ArrayLike,
    *,
    disk_max: float = 0.45,
    bulge_min: float = 0.55,
) -> np.ndarray:
    """GaMorNet class per galaxy from its bulge-to-total flux ratio.

    Parameters
    ----------
    bulge_to_total
        B/T flux ratio per galaxy, in [0, 1].
    disk_max
        B/T below this is disk-dominated (Ghosh et al. 2020: 0.45).
    bulge_min
        B/T above this is bulge-dominated (Ghosh et al. 2020: 0.55); in between is
        indeterminate.

    Returns
    -------
    numpy.ndarray
        int64 labels: 0 disk-dominated, 1 indeterminate, 2 bulge-dominated
        (see :data:`GAMORNET_CLASS_NAMES`).

    Raises
    ------
    ParameterError
        If the thresholds are not ``0 <= disk_max <= bulge_min <= 1`` or a B/T value is
        outside [0, 1] or NaN.
    """
    if not 0.0 <= disk_max <= bulge_min <= 1.0:
        raise ParameterError("disk_max/bulge_min", (disk_max, bulge_min), "need 0 <= disk_max <= bulge_min <= 1")
    bt = np.asarray(bulge_to_total, dtype=np.float64)
    bad = ~((bt >= 0.0) & (bt <= 1.0))
    if np.any(bad):
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ParameterError("bulge_to_total", float(bt.ravel()[i]), f"at index {i} must lie in [0, 1]")
    labels = np.ones(bt.shape, dtype=np.int64)
    labels[bt < disk_max] = 0
    labels[bt > bulge_min] = 2
    return labels
