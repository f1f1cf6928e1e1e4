"""``data-import``: images/s importing ``gz1-sdss`` at 128 px, 1 process and 2 workers.

Figures: ``images_per_s`` (single process), ``images_per_s_2_workers`` and
``speedup_2_workers`` (their ratio, measured in the same run). Quick mode imports the
first 600 images; the full mode all 6,664. Each timing is the best of its repeats
(files cached by the OS after the first read, as in a repeated import).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks._common import data_dir

SIZE = 128


def _rate(
    source: Path, out: Path, *, workers: int, limit: int | None, repeats: int
) -> tuple[float, int]:
    from galaxy_xai.data import import_dataset, open_dataset

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        import_dataset("gz1", source, out, size=SIZE, workers=workers, limit=limit)
        best = min(best, time.perf_counter() - t0)
    with open_dataset(out) as ds:
        n = len(ds)
    return n / best, n


def run(quick: bool) -> dict:
    source = data_dir() / "gz1-sdss"
    limit = 600 if quick else None
    repeats = 2 if quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        _rate(source, Path(tmp) / "warm.h5", workers=1, limit=64, repeats=1)  # warm caches
        one, n = _rate(source, Path(tmp) / "one.h5", workers=1, limit=limit, repeats=repeats)
        two, _ = _rate(source, Path(tmp) / "two.h5", workers=2, limit=limit, repeats=repeats)
    return {
        "n_images": n,
        "size_px": SIZE,
        "images_per_s": round(one, 1),
        "images_per_s_2_workers": round(two, 1),
        "speedup_2_workers": round(two / one, 3),
    }
