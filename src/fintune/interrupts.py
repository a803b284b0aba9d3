"""Ctrl-C that cannot be lost.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be. Some libraries catch every
exception there: torch.distributed.checkpoint wraps it into a CheckpointException (a BaseException, not a
KeyboardInterrupt), and a bare `except:` elsewhere can swallow it and carry on. A sweep interrupted at such a moment
used to run every remaining setting and exit 0. `remembered_interrupts` keeps the fact that Ctrl-C was pressed, so
the caller can stop at the next safe point and report it as an interruption (exit 130) whatever the exception was.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupts:
    """How many times SIGINT arrived while the context was open."""

    def __init__(self) -> None:
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def stop_if_pressed(self) -> None:
        """At a safe point (between two runs of a sweep): raise the interruption a library may have swallowed."""
        if self.count:
            raise KeyboardInterrupt


@contextmanager
def remembered_interrupts() -> Iterator[Interrupts]:
    """Within it, SIGINT raises KeyboardInterrupt as before and is also counted. Outside the main thread (where
    signal handlers cannot be set) and where SIGINT is ignored (a background job) it only yields a counter."""
    seen = Interrupts()
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield seen
        return

    def on_sigint(signum, frame):
        seen.count += 1
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
