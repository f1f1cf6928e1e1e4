"""Safe output writing: write to a temporary name, rename when complete.

An interrupted job must never leave a file that looks finished, and two jobs must
never write the same output at once. Every writer in galaxy-xai goes through
:func:`atomic_output` (or, for resumable HDF5 writers, holds an :class:`OutputLock`):
the partial file ``<out>.partial`` is written under an exclusive lock on
``<out>.partial.lock``, which is removed when the writer finishes or gives up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from galaxy_xai.errors import OutputBusyError

__all__ = ["OutputLock", "atomic_output", "lock_path", "partial_path", "write_json"]


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Return the temporary name used while ``path`` is being written.

    The partial file sits in the same folder (so the final rename is atomic on POSIX)
    and ends in ``.partial`` so that no reader mistakes it for a finished output.
    """
    path = Path(path)
    return path.with_name(path.name + ".partial")


def lock_path(path: str | os.PathLike[str]) -> Path:
    """Return the lock file held while ``path`` is being written (``<path>.partial.lock``)."""
    partial = partial_path(path)
    return partial.with_name(partial.name + ".lock")


class OutputLock:
    """An exclusive, non-blocking lock on the partial file of one output.

    The lock is an OS file lock (:class:`filelock.FileLock`, ``flock`` on POSIX) on
    :func:`lock_path`, so it is released by the kernel if the process dies; the lock
    file itself is removed on :meth:`release` (a file left by a killed process is
    harmless: the next writer takes it over).

    Parameters
    ----------
    path
        The final output path (not the partial file).

    Examples
    --------
    >>> with OutputLock("out.h5"):  # doctest: +SKIP
    ...     write_partial_and_rename()
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self._lock: Any = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._lock is not None

    def acquire(self) -> Self:
        """Take the lock now or fail (never waits).

        Raises
        ------
        OutputBusyError
            If another process (or another writer in this one) holds it.
        """
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return self
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_file), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OutputBusyError(
                f"another process is writing '{self.path}' (lock '{self.lock_file}'); "
                "wait for it to finish or write to another path"
            ) from None
        self._lock = lock
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (does nothing if not held)."""
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            # Unlinked while still held: a process that opened the old file and then
            # wins flock on it sees it unlinked and does not count it as the lock.
            self.lock_file.unlink(missing_ok=True)
        finally:
            lock.release()

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, keep_partial: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it to ``path`` on success.

    The partial file is written under an exclusive :class:`OutputLock`, taken before
    the block runs and released (its lock file removed) when it ends either way.

    Parameters
    ----------
    path
        The final output path. Its parent folder is created if needed.
    keep_partial
        Keep the partial file when the block raises (for resumable jobs), instead of
        deleting it. Either way ``path`` itself is never created by a failed block.

    Raises
    ------
    OutputBusyError
        If another process is writing ``path`` now (nothing is touched then).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    with OutputLock(final):
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
