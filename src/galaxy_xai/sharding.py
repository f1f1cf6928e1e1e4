"""Splitting work: ``--shard i/N`` for cluster array jobs, and local worker pools.

A job is split across machines with :func:`parse_shard` / :func:`shard_range` (the
i-th of N disjoint, contiguous parts) and across the cores of one machine with
:func:`worker_pool`, a process pool whose workers exit when the process that made it
dies (killed with SIGKILL, say), instead of running on as orphans.
"""

from __future__ import annotations

import ctypes
import multiprocessing.context
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError

__all__ = ["parse_shard", "shard_bounds", "shard_range", "worker_pool"]

#: Seconds between a worker's checks that its parent is still alive (the portable
#: fallback; on Linux the kernel kills the worker at once, see PR_SET_PDEATHSIG).
PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


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
        raise ParameterError("shard", text, "must look like i/N, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise ParameterError("shard", text, "needs N >= 1 and 0 <= i < N (i counts from 0)")
    return index, count


def shard_bounds(n_items: int, index: int, count: int) -> tuple[int, int]:
    """``(start, stop)`` of shard ``index`` of ``count`` over ``n_items`` rows.

    Cheap for any ``n_items`` (no index array), so sizes can be checked before
    anything is allocated.
    """
    return n_items * index // count, n_items * (index + 1) // count


def shard_range(n_items: int, index: int, count: int) -> np.ndarray:
    """Row indices of shard ``index`` of ``count`` over ``n_items`` rows (contiguous)."""
    start, stop = shard_bounds(n_items, index, count)
    return np.arange(start, stop, dtype=np.int64)


# --------------------------------------------------------------------------- workers
def _set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies (True if it worked)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return False


def _watch_parent(parent_pid: int, interval: float) -> None:
    """Exit this process as soon as its parent is no longer ``parent_pid``."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent is gone: nobody will collect our results
        time.sleep(interval)


def _start_worker(
    parent_pid: int,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Initializer of :func:`worker_pool` workers: die with the parent, then init."""
    # A forked worker inherits the CLI's SIGTERM handler (raise KeyboardInterrupt),
    # which a pool worker would swallow; terminate() must end it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # died between fork and prctl
        os._exit(1)
    threading.Thread(
        target=_watch_parent,
        args=(parent_pid, PARENT_POLL_S),
        name="galaxy-xai-parent-watch",
        daemon=True,
    ).start()
    if initializer is not None:
        initializer(*initargs)


def worker_pool(
    max_workers: int,
    *,
    mp_context: multiprocessing.context.BaseContext | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: Sequence[Any] = (),
) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers die with it.

    Each worker, before ``initializer(*initargs)``, sets ``PR_SET_PDEATHSIG`` on Linux
    (the kernel sends it SIGKILL when its parent dies) and starts a daemon thread that
    polls :func:`os.getppid` (every :data:`PARENT_POLL_S` seconds, on every platform),
    so killing the parent, even with SIGKILL, never leaves workers running. Worker
    SIGTERM is reset to the default action.

    Linux delivers the signal when the parent *thread* that started the worker exits,
    so submit work to the pool from the thread that uses it to the end (as a plain
    loop does); workers are started on the first ``submit``.

    Parameters
    ----------
    max_workers
        Number of worker processes.
    mp_context
        Multiprocessing context (start method), as for ``ProcessPoolExecutor``.
    initializer, initargs
        Called in each worker after the parent-death set-up (must be picklable for
        the spawn start method).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        The pool; shut it down as usual.

    Raises
    ------
    ParameterError
        If ``max_workers`` is not an integer >= 1.
    """
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ParameterError("max_workers", max_workers, "must be an integer >= 1")
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, tuple(initargs)),
    )
