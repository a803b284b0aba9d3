"""Trend sweeps: every setting's test-period backtest in one table, beside buy-and-hold over the same periods.

Each run trades its own daily votes (long/flat: long on `up`; long/short: also short on `down`) with the run's
costs; buy-and-hold is the same for every run of a sweep (same test periods), so it is one row at the end.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fintune.report.table import BACKTEST_COLUMNS

MODES = {"strategy_long_flat": "long/flat", "strategy_long_short": "long/short"}


def backtest_table(first_of_setting: dict[str, dict], folder: Path) -> pd.DataFrame | None:
    """backtests.md / .csv in `folder` from each setting's first seed; None when no run has a backtest."""
    rows, hold = [], None
    for setting, record in first_of_setting.items():
        block = record["metrics"].get("backtest")
        if not block:
            continue
        for key, mode in MODES.items():
            rows.append({"setting": setting, "strategy": mode, **{k: block[key].get(k) for k, _ in BACKTEST_COLUMNS}})
        hold = hold or {"setting": "buy and hold", "strategy": "", **block["buy_and_hold"]}
    if not rows:
        return None
    frame = pd.DataFrame([*rows, hold])[["setting", "strategy", *(k for k, _ in BACKTEST_COLUMNS)]]
    frame.to_csv(folder / "backtests.csv", index=False)
    lines = [
        "| setting | strategy | " + " | ".join(h for _, h in BACKTEST_COLUMNS) + " |",
        "|---|---|" + "---:|" * len(BACKTEST_COLUMNS),
    ]
    for row in frame.to_dict("records"):
        cells = ["-" if pd.isna(row[k]) else f"{row[k]:.4f}" for k, _ in BACKTEST_COLUMNS]
        lines.append(f"| {row['setting']} | {row['strategy']} | " + " | ".join(cells) + " |")
    note = "\nTest period, each setting's first seed trading its own votes, costs as configured (eval.cost_bps).\n"
    (folder / "backtests.md").write_text("\n".join(lines) + "\n" + note, encoding="utf-8")
    return frame
