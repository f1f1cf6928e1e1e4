"""One progress-bar helper for the whole package (tqdm), switchable off.

Set ``GALAXY_XAI_PROGRESS=0`` (or call :func:`set_progress_enabled`) to silence bars,
e.g. in batch jobs whose logs should stay small.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress", "set_progress_enabled"]

T = TypeVar("T")
_enabled: bool | None = None


def set_progress_enabled(enabled: bool) -> None:
    """Turn progress bars on or off for this process."""
    global _enabled
    _enabled = enabled


def _is_enabled() -> bool:
    if _enabled is not None:
        return _enabled
    env = os.environ.get("GALAXY_XAI_PROGRESS")
    if env is not None:
        return env not in ("0", "false", "no", "")
    return sys.stderr.isatty()


def progress(
    iterable: Iterable[T], *, desc: str = "", total: int | None = None, **kwargs: Any
) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar on stderr when bars are enabled."""
    if not _is_enabled():
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, file=sys.stderr, dynamic_ncols=True, **kwargs)
