"""Peak resident memory of one run, also when several runs share a process (`fintune compare` runs them in turn).

The kernel's lifetime peak (`ru_maxrss`) only grows, so in a sweep every run would report the largest run before
it. On Linux the peak (VmHWM) can be reset by writing 5 to /proc/self/clear_refs; elsewhere, or where that is not
allowed, the lifetime peak is reported, an upper bound. Memory that the allocator kept from an earlier run in the
same process is still resident, so a reset peak is never below it (README, "Comparing runs").
"""

from __future__ import annotations

import re
import resource
from pathlib import Path

_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def reset_peak_rss() -> None:
    """Start counting the peak from the memory in use now."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """The largest resident set since `reset_peak_rss` (or since the process started), in MiB."""
    try:
        found = re.search(r"VmHWM:\s+(\d+)\s+kB", _STATUS.read_text())
    except OSError:
        found = None
    if found:
        return round(int(found.group(1)) / 1024, 1)

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
