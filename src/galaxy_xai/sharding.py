"""``--shard i/N`` for cluster array jobs: the i-th of N disjoint, contiguous parts."""

from __future__ import annotations

import numpy as np

from galaxy_xai.errors import ParameterError

__all__ = ["parse_shard", "shard_range"]


def parse_shard(text: str | None) -> tuple[int, int]:
    """Parse ``"i/N"`` (0-based i, 0 <= i < N) into ``(i, N)``; None means ``(0, 1)``.

    Raises
    ------
    ParameterError
        If the text is not of the form ``i/N`` with ``0 <= i < N``.
    """
    if text is None:
        return 0, 1
    try:
        i_text, n_text = str(text).split("/")
        index, count = int(i_text), int(n_text)
    except ValueError:
        raise ParameterError("--shard", text, "must look like i/N, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise ParameterError("--shard", text, "needs N >= 1 and 0 <= i < N (i counts from 0)")
    return index, count


def shard_range(n_items: int, index: int, count: int) -> np.ndarray:
    """Row indices of shard ``index`` of ``count`` over ``n_items`` rows (contiguous)."""
    start = n_items * index // count
    stop = n_items * (index + 1) // count
    return np.arange(start, stop, dtype=np.int64)
