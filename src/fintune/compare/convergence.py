"""How fast each run's loss comes down: steps and seconds to a common target loss.

Training loss: the target is the highest final (smoothed) training loss among the runs unless the sweep names
one, so every run reaches it and the comparison is about speed, not about where each one ends. Seconds are the
run's training time pro-rated by steps (the step time is constant within a run).

Validation loss (runs with `train.eval_steps`): the target is the highest of the runs' lowest validation losses,
the best loss every run reaches; seconds are the training clock at that evaluation (evaluation time excluded).
"""

from __future__ import annotations

import numpy as np

SMOOTH = 20  # steps in the moving average: single-batch losses are too noisy to time a threshold on


def smoothed(losses: list) -> tuple[np.ndarray, np.ndarray]:
    """(steps, moving average of the training loss) from train_log.json's (step, epoch, loss) rows."""
    if not losses:
        return np.array([]), np.array([])
    steps = np.array([s for s, _, _ in losses])
    values = np.array([v for _, _, v in losses], dtype=float)
    window = min(SMOOTH, len(values))
    kernel = np.ones(window) / window
    return steps[window - 1 :], np.convolve(values, kernel, mode="valid")


def common_target(curves: dict[str, np.ndarray]) -> float | None:
    finals = [c[-1] for c in curves.values() if len(c)]
    return float(max(finals)) if finals else None


def time_to_target(losses: list, runtime_s: float, target: float) -> dict:
    steps, curve = smoothed(losses)
    reached = np.flatnonzero(curve <= target)
    if not len(reached):
        return {"steps": None, "seconds": None}
    step = int(steps[reached[0]])
    total = int(steps[-1]) if len(steps) else 1
    return {"steps": step, "seconds": round(runtime_s * step / max(total, 1), 1)}


def val_target(curves: list[list]) -> float | None:
    """The highest of the runs' lowest validation losses (curves of (step, seconds, loss) rows)."""
    lows = [min(loss for _, _, loss in c) for c in curves if c]
    return float(max(lows)) if lows else None


def time_to_val_target(curve: list, target: float) -> dict:
    for step, seconds, loss in curve:
        if loss <= target + 1e-12:
            return {"steps": int(step), "seconds": round(float(seconds), 1)}
    return {"steps": None, "seconds": None}
