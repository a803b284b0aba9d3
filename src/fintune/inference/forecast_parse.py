"""Forecasts read back from the text a model wrote: one row per day, a date and one number per field.

The parser is strict about what it accepts and forgiving about layout: a row is a date followed by one
number per field, whatever separates them (commas, pipes, spaces, bullets, a leading 'Day 1:'). It never
fills a gap: days the model skipped, wrote twice, wrote badly or made up are counted and left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
