"""Helpers shared by the benchmarks: the real-data folder, timing, peak memory.

Intervals live in :mod:`galaxy_xai.stats` (``bootstrap_interval`` is re-exported here).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from galaxy_xai.errors import DataMissingError
from galaxy_xai.stats import bootstrap_interval as bootstrap_interval  # moved; old path


def data_dir() -> Path:
    """The real-data folder from ``GALAXY_XAI_DATA`` (default ``../shared/data``)."""
    root = Path(
        os.environ.get(
            "GALAXY_XAI_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
        )
    )
    if not root.is_dir():
        raise DataMissingError(f"real-data folder '{root}' not found; set GALAXY_XAI_DATA")
    return root


def cache_dir() -> Path:
    """Scratch folder for benchmark intermediates (ignored by git)."""
    path = Path(__file__).resolve().parent / "results" / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def best_time(fn: Callable[[], object], *, repeats: int = 3) -> float:
    """Fastest wall time (s) of ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
