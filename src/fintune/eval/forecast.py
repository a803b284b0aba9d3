"""Forecasts read back from text and scored: the parser and the error metrics of predicted closes.

The parser is strict about what it accepts and forgiving about layout: a row is a date followed by one
number per field, whatever separates them (commas, pipes, spaces, bullets, a leading 'Day 1:'). It never
fills a gap: days the model skipped, wrote twice, wrote badly or made up are counted and left out.

Scores are on the close, over every predicted day: MAE, RMSE, MAPE (%), and directional accuracy of the
first and last predicted day against the last known close, beside `up_share`, the share of those days that
really went up (what 'always up' would score). A forecast of no change has no direction, so its
directional accuracy is undefined (None), not zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass
class ParsedForecast:
    rows: pd.DataFrame
    """One row per expected date that was written well, indexed by date, one column per field."""
    n_expected: int
    n_missing: int = 0
    n_malformed: int = 0
    """Lines with an expected date but too few numbers or a price <= 0."""
    n_unexpected: int = 0
    """Rows dated outside the asked-for days."""
    n_duplicate: int = 0
    notes: list[str] = field(default_factory=list)


def parse_forecast(text: str, expected: list[pd.Timestamp], fields: list[str]) -> ParsedForecast:
    wanted = {d.strftime("%Y-%m-%d") for d in expected}
    found: dict[str, list[float]] = {}
    malformed = unexpected = duplicate = 0
    for line in text.splitlines():
        match = _DATE.search(line)
        if not match:
            continue
        try:
            day = pd.Timestamp(int(match[1]), int(match[2]), int(match[3])).strftime("%Y-%m-%d")
        except ValueError:  # 2019-02-30
            malformed += 1
            continue
        if day not in wanted:
            unexpected += 1
            continue
        numbers = [float(x) for x in _NUMBER.findall(line[match.end() :])][: len(fields)]
        prices = [v for f, v in zip(fields, numbers) if f != "volume"]
        if len(numbers) < len(fields) or any(p <= 0 for p in prices):
            malformed += 1
            continue
        if day in found:
            duplicate += 1
            continue
        found[day] = numbers
    index = pd.DatetimeIndex(sorted(found), name="date")
    rows = pd.DataFrame([found[d.strftime("%Y-%m-%d")] for d in index], index=index, columns=fields, dtype=float)
    return ParsedForecast(rows, len(wanted), len(wanted) - len(found), malformed, unexpected, duplicate)


def forecast_metrics(days: pd.DataFrame) -> dict:
    """Scores of a long frame with one row per (window, predicted day): `id, h, future, last_close,
    actual_close, pred_close` (pred_close NaN where the day was not parsed)."""
    known = days[days["pred_close"].notna()]
    err = known["pred_close"] - known["actual_close"]
    out = {
        "mae": _round(err.abs().mean()),
        "rmse": _round(np.sqrt((err**2).mean())),
        "mape": _round((err.abs() / known["actual_close"]).mean() * 100),
        "directional_accuracy": _direction(known[known["h"] == 1]),
        "directional_accuracy_last": _direction(known[known["h"] == known["future"]]),
        # the base rate of direction: 'always up' scores this, so directional accuracy must beat it
        "up_share": _up_share(days[days["h"] == 1]),
        "up_share_last": _up_share(days[days["h"] == days["future"]]),
        "parsed_share": _round(len(known) / max(1, len(days))),
        "n": int(len(known)),
        "n_windows": int(days["id"].nunique()),
        "mae_by_day": {int(h): _round(g.abs().mean()) for h, g in err.groupby(known["h"])},
    }
    return out


def forecast_metrics_by_window(days: pd.DataFrame) -> dict:
    """The metrics per (past, future) pair, keyed like '5->5', plus `all`."""
    out = {"all": forecast_metrics(days)}
    for (past, future), group in days.groupby(["past", "future"], sort=True):
        out[f"{past}->{future}"] = forecast_metrics(group)
    return out


def _direction(days: pd.DataFrame) -> float | None:
    predicted = np.sign(days["pred_close"] - days["last_close"])
    if days.empty or (predicted == 0).all():
        return None  # a no-change forecast calls no direction
    actual = np.sign(days["actual_close"] - days["last_close"])
    return _round((predicted == actual).mean())


def _up_share(days: pd.DataFrame) -> float | None:
    return _round((days["actual_close"] > days["last_close"]).mean()) if len(days) else None


def _round(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)
