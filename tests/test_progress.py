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
