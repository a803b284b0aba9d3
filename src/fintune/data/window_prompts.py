"""A price window as a chat exchange: the user shows the past days, the assistant writes the next ones.

Rows are `YYYY-MM-DD, open, high, low, close, volume` with fixed precision, so the model sees and writes
one format and the parser reads it back. The prompt names the dates to predict (the exchange calendar is
known in advance; the prices are not). Optional context: dated headlines, never later than the last past day.
"""

from __future__ import annotations

import pandas as pd

PRICE_DECIMALS = 2


def format_rows(bars: pd.DataFrame, fields: list[str]) -> str:
    lines = []
    for date, row in bars.iterrows():
        values = [f"{row[f]:.0f}" if f == "volume" else f"{row[f]:.{PRICE_DECIMALS}f}" for f in fields]
        lines.append(", ".join([date.strftime("%Y-%m-%d"), *values]))
    return "\n".join(lines)


def user_message(
    ticker: str,
    past: pd.DataFrame,
    future_dates: list[pd.Timestamp],
    fields: list[str],
    headlines: pd.DataFrame | None = None,
) -> str:
    """The question: the past rows, any headlines up to the last past day, and the dates to fill in."""
    header = ", ".join(["date", *fields])
    parts = [f"Here are the last {len(past)} trading days of {ticker} ({header}):", format_rows(past, fields)]
    if headlines is not None and not headlines.empty:
        last_day = past.index[-1].normalize() + pd.Timedelta(days=1)
        known = headlines[headlines["timestamp"] < last_day]  # nothing published after the last past day
        if not known.empty:
            news = "\n".join(f"{t.strftime('%Y-%m-%d')}: {text}" for t, text in zip(known["timestamp"], known["text"]))
            parts += ["News of those days:", news]
    wanted = ", ".join(d.strftime("%Y-%m-%d") for d in future_dates)
    parts.append(f"Predict the next {len(future_dates)} trading days ({wanted}), one row per day in the same format.")
    return "\n".join(parts)


def assistant_message(future: pd.DataFrame, fields: list[str]) -> str:
    return format_rows(future, fields)
