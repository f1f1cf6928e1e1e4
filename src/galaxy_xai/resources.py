"""What this machine has free right now: memory, for refusing jobs that cannot fit.

Jobs that would allocate more than the machine has (a crafted dataset declaring a
billion images, a simulation of too many galaxies held in memory) are refused up front
with a message saying how much would fit, instead of being killed by the kernel.
"""

from __future__ import annotations

import os

__all__ = ["available_memory_bytes", "format_bytes"]


def format_bytes(n: float) -> str:
    """A byte count for messages, in decimal units (``"8.2 KB"``)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation now, in bytes (None if it cannot be told).

    Uses psutil when installed, else ``MemAvailable`` of ``/proc/meminfo`` (Linux),
    else free physical pages from :func:`os.sysconf`.
    """
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None
