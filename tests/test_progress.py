"""Progress in a log (not a terminal): a line every ~10 s with count, rate and ETA, and one at the end."""

import io

from rich.console import Console

from fintune import progress


def test_a_log_gets_a_line_every_ten_seconds_and_one_at_the_end(monkeypatch, capsys):
    clock = iter(float(t) for t in [0, 3, 6, 11, 14, 22, 23, 30])  # start, then one reading per advance, the end
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    not_a_terminal = Console(file=io.StringIO(), force_terminal=False)
    with progress.progress_bar("scoring", 6, "prompts", console=not_a_terminal) as advance:
        for _ in range(6):
            advance(1, note="loss 0.5")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "scoring: 3/6 prompts, 0.27/s, eta 11s, loss 0.5",  # 11 s after the start
        "scoring: 5/6 prompts, 0.23/s, eta 4s, loss 0.5",  # 11 s after the line before
        "scoring: 6 prompts in 30s (0.20/s), loss 0.5",
    ]


def test_a_phase_says_when_it_starts_and_how_long_it_took(monkeypatch):
    clock = iter([100.0, 112.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    with progress.phase("baselines: majority", Console(file=out, force_terminal=False, width=120)):
        pass
    assert out.getvalue().splitlines() == ["baselines: majority ...", "baselines: majority: done in 12s"]


def test_the_estimate_waits_for_enough_measured_steps_then_speaks_once(monkeypatch):
    now = [50.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    estimate = progress.Estimate("training", total=100, done=20)  # resumed at step 20
    now[0] = 60.0
    assert estimate.line(25) is None  # 10 s measured: too soon
    now[0] = 66.0
    assert estimate.line(22) is None  # 16 s but only 2 steps
    assert estimate.line(28) == (  # 16 s over 8 steps: 2 s a step, 72 steps left
        "estimate: training ends in about 2m24s (2.00 s a step over the first 8); "
        "evaluation and the report come after it"
    )
    now[0] = 90.0
    assert estimate.line(40) is None  # once


def test_a_slow_step_in_a_log_still_gets_lines_and_only_from_the_innermost_step(monkeypatch, capsys):
    import time

    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.1)
    monkeypatch.setattr(progress, "WATCH_EVERY_S", 0.01)
    not_a_terminal = Console(file=io.StringIO(), force_terminal=False)
    phase_out = io.StringIO()
    with progress.progress_bar("train", 2, "steps", console=not_a_terminal) as advance:
        time.sleep(0.35)  # the first step, slower than a log line: the watcher repeats the state
        outer = capsys.readouterr().err.splitlines()
        with progress.phase("validation", Console(file=phase_out, force_terminal=False, width=120)):
            time.sleep(0.35)  # the inner step speaks; the training bar keeps quiet
        during_inner = capsys.readouterr().err
        advance(2)
    assert len(outer) >= 2 and set(outer) == {"train: 0/2 steps, the first batch running for 0s"}
    assert during_inner == ""
    assert "validation: still running" in phase_out.getvalue()


def test_the_estimate_counts_the_evaluation_still_to_come(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    seen = []

    def after(step: int) -> float:
        seen.append(step)
        return 90.0  # e.g. two validations of 30 s and a 30 s test

    estimate = progress.Estimate("training", total=20, after=after)
    now[0] = 16.0
    assert estimate.line(8) == (  # 2 s a step, 12 steps left = 24 s, then 90 s of evaluation
        "estimate: training ends in about 24s (2.00 s a step over the first 8); "
        "with validation and test scoring (1m30s, timed on a few texts), the run in 1m54s"
    )
    assert seen == [8]
