"""Safe output writing: write to a temporary name, rename when complete.

An interrupted job must never leave a file that looks finished. Every writer in
galaxy-xai goes through :func:`atomic_output`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_output", "partial_path", "write_json"]


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Return the temporary name used while ``path`` is being written.

    The partial file sits in the same folder (so the final rename is atomic on POSIX)
    and ends in ``.partial`` so that no reader mistakes it for a finished output.
    """
    path = Path(path)
    return path.with_name(path.name + ".partial")


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, keep_partial: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it to ``path`` on success.

    Parameters
    ----------
    path
        The final output path. Its parent folder is created if needed.
    keep_partial
        Keep the partial file when the block raises (for resumable jobs), instead of
        deleting it. Either way ``path`` itself is never created by a failed block.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        yield tmp
    except BaseException:
        if not keep_partial:
            tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, final)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (NaN written as ``null``)."""

    def _clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:  # NaN
            return None
        if isinstance(value, dict):
            return {str(k): _clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_clean(v) for v in value]
        if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
            return _clean(value.item())
        return value

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(_clean(obj), indent=indent, sort_keys=False) + "\n")
    return Path(path)
