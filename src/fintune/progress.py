"""Progress with rate and ETA for every long step: training, label scoring, generation.

On a terminal it is a live bar on stderr; in a log file (a background run, CI) it is a plain line every ~10 s
and one at the end, so a log also says that a step is alive, how far it got and how long the rest will take.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def status_console() -> Console:
    """Where progress and status lines go: stderr. In a log (not a terminal) a line is never wrapped: Rich would cut
    it at 80 columns, and a grep for one line would find half of it."""
    return Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, soft_wrap=True, width=160)


Advance = Callable[..., None]
"""advance(n, note="") moves the bar on by n; `note` is shown beside it (e.g. the training loss)."""


@contextlib.contextmanager
def progress_bar(
    what: str, total: int, unit: str, enabled: bool = True, done: int = 0, console: Console | None = None
) -> Iterator[Advance]:
    """Yields `advance`; `what` names the step ("label scoring"), `unit` what `total` counts ("prompts"), `done`
    how much was done before (a resumed run)."""
    console = console or status_console()
    if not enabled or total <= 0:
        yield lambda n, note="": None
    elif console.is_terminal:
        with _live_bar(what, total, unit, done, console) as advance:
            yield advance
    else:
        yield from _log_lines(what, total, unit, done)


@contextlib.contextmanager
def phase(what: str, console: Console | None = None, min_report_s: float = 1.0) -> Iterator[None]:
    """A step without a natural count (test scoring with its bootstrap, baselines, the report): a line as it
    starts, and its time when it took longer than `min_report_s`, so a slow machine never looks hung (in a log,
    also a 'still running' line every LOG_EVERY_S while nothing inside it speaks)."""
    console = console or status_console()
    console.print(f"{what} ...")
    t0 = time.perf_counter()
    last = {"said": time.monotonic()}

    def still_running() -> None:
        console.print(f"{what}: still running ({_clock(time.perf_counter() - t0)})")
        last["said"] = time.monotonic()

    if console.is_terminal:
        yield
    else:
        with _watched(what, lambda: time.monotonic() - last["said"], still_running):
            yield
    elapsed = time.perf_counter() - t0
    if elapsed >= min_report_s:
        console.print(f"{what}: done in {_clock(elapsed)}")


@contextlib.contextmanager
def _live_bar(what: str, total: int, unit: str, done: int, console: Console) -> Iterator[Advance]:
    bar = Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{unit}  {{task.fields[rate]}}  {{task.fields[note]}}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )
    t0, start = time.perf_counter(), done
    with bar:
        task = bar.add_task(what, total=total, completed=done, rate="", note="")

        def advance(n: int, note: str = "") -> None:
            nonlocal done
            done += n
            rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, advance=n, rate=f"{rate:.1f}/s", note=note)

        yield advance


LOG_EVERY_S = 10.0
"""In a log, a progress line at most this often: enough to see a step is alive, few enough to read."""

WATCH_EVERY_S = 1.0
"""How often the watcher below looks at the clock."""
_speaking: list[str] = []
"""The log-mode bars and phases now running, innermost last: only the innermost repeats its line, so a training
bar stays quiet while the validation inside it reports."""


@contextlib.contextmanager
def _watched(what: str, quiet_for: Callable[[], float], say: Callable[[], None]) -> Iterator[None]:
    """A step slower than LOG_EVERY_S (a CPU training step, a batch of generations) would leave a log silent until
    it ends: while it runs, a watcher calls `say` whenever `quiet_for()` reaches LOG_EVERY_S and no step inside
    this one is running, so silence in a log always means a hang."""
    token = f"{what}#{len(_speaking)}"
    _speaking.append(token)
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(WATCH_EVERY_S):
            if _speaking and _speaking[-1] == token and quiet_for() >= LOG_EVERY_S:
                say()

    watcher = threading.Thread(target=watch, name=f"progress: {what}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()
        _speaking.remove(token)


def _log_lines(what: str, total: int, unit: str, done: int) -> Iterator[Advance]:
    t0, start = time.perf_counter(), done
    state = {"done": done, "said": t0, "note": "", "quiet_since": time.monotonic()}

    def say_state(clock: float) -> None:
        now, note = state["done"], state["note"]
        rate = (now - start) / max(clock - t0, 1e-9)
        if rate > 0:
            line = f"{what}: {now:,}/{total:,} {unit}, {rate:.2f}/s, eta {_clock((total - now) / rate)}"
        else:  # a first batch still running (a batch of generations): the time so far, not a rate of 0
            line = f"{what}: {now:,}/{total:,} {unit}, the first batch running for {_clock(clock - t0)}"
        _say(line + (f", {note}" if note else ""))
        state["said"], state["quiet_since"] = clock, time.monotonic()

    def advance(n: int, note: str = "") -> None:
        state["done"] += n
        state["note"] = note
        clock = time.perf_counter()
        if clock - state["said"] >= LOG_EVERY_S and state["done"] < total:
            say_state(clock)

    def quiet_for() -> float:
        return time.monotonic() - state["quiet_since"]

    with _watched(what, quiet_for, lambda: say_state(time.perf_counter())):
        yield advance
    elapsed = time.perf_counter() - t0
    rate = (state["done"] - start) / max(elapsed, 1e-9)
    note = f", {state['note']}" if state["note"] else ""
    _say(f"{what}: {state['done']:,} {unit} in {_clock(elapsed)} ({rate:.2f}/s){note}")


ESTIMATE_AFTER_S = 15.0
"""Measure this long (and at least ESTIMATE_AFTER_STEPS) before saying how long the rest will take: the first steps
include warm-up (allocations, kernel choice) and would promise too little or too much."""
ESTIMATE_AFTER_STEPS = 3


class Estimate:
    """One line, once, from the first measured steps: how long the rest of a phase will take at that pace, and,
    given `after(done)` (the seconds of measured-ahead work still to come after step `done`: validations, the
    test), how long the whole run will take."""

    def __init__(self, what: str, total: int, done: int = 0, after: Callable[[int], float] | None = None) -> None:
        self.what, self.total, self.first, self.after = what, total, done, after
        self.started = time.perf_counter()
        self.said = False

    def line(self, done: int) -> str | None:
        """The line the first time enough is measured and something remains, else None."""
        measured, spent = done - self.first, time.perf_counter() - self.started
        if self.said or done >= self.total or measured < ESTIMATE_AFTER_STEPS or spent < ESTIMATE_AFTER_S:
            return None
        self.said = True
        per_step = spent / measured
        rest = per_step * (self.total - done)
        head = (
            f"estimate: {self.what} ends in about {_clock(rest)} ({per_step:.2f} s a step over the first {measured:,})"
        )
        if self.after is None:
            return f"{head}; evaluation and the report come after it"
        later = self.after(done)
        return (
            f"{head}; with validation and test scoring ({_clock(later)}, timed on a few texts), "
            f"the run in {_clock(rest + later)}"
        )


def _clock(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, s = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{s:02d}s" if minutes else f"{s}s"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
