"""Price windows: positions, whole-window time splits, and chat prompts that never show a future day."""

import datetime

import numpy as np
import pandas as pd
import pytest

from fintune.data.window_prompts import assistant_message, user_message
from fintune.data.windows import build_windows, future_bars, past_bars, split_windows, trading_days
from fintune.errors import FintuneError


def _bars(days: int = 40) -> pd.DataFrame:
    dates = pd.bdate_range("2019-01-01", periods=days, tz="UTC")
    close = 100 + np.arange(days, dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": 1000.0}, index=dates
    )


def test_windows_cover_every_start_and_point_at_the_right_days():
    bars = _bars(10)
    windows = build_windows(bars, "T", [(3, 2), (1, 1)])
    assert (windows["past"] == 3).sum() == 10 - 3 - 2 + 1 and (windows["past"] == 1).sum() == 9
    first = windows.iloc[0]
    assert list(past_bars(bars, first)["close"]) == [100, 101, 102]
    assert list(future_bars(bars, first)["close"]) == [103, 104]
    assert first["id"] == "T:3->2@2019-01-04" and first["end"] == bars.index[4]


def test_splits_keep_whole_windows_only_and_count_the_straddlers():
    bars = _bars(40)
    windows = build_windows(bars, "T", [(3, 2)])
    train, validation, test, stats = split_windows(windows, datetime.date(2019, 1, 15), datetime.date(2019, 2, 1))
    boundary_v, boundary_t = pd.Timestamp("2019-01-15", tz="UTC"), pd.Timestamp("2019-02-01", tz="UTC")
    assert (train["end"] < boundary_v).all() and (validation["start"] >= boundary_v).all()
    assert (validation["end"] < boundary_t).all() and (test["start"] >= boundary_t).all()
    assert stats["dropped_across_boundaries"] == len(windows) - len(train) - len(validation) - len(test) == 8
    with pytest.raises(FintuneError, match="test period has no whole window"):
        split_windows(windows, datetime.date(2019, 1, 15), datetime.date(2019, 3, 1))


def test_zero_volume_placeholder_days_are_not_trading_days():
    bars = _bars(5)
    bars.iloc[2, bars.columns.get_loc("volume")] = 0
    assert len(trading_days(bars)) == 4


def test_prompt_shows_past_rows_and_asks_for_the_future_dates_only():
    bars = _bars(10)
    window = build_windows(bars, "2330.TW", [(3, 2)]).iloc[0]
    past, future = past_bars(bars, window), future_bars(bars, window)
    headlines = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2019-01-03T08:00", "2019-01-04T08:00"], utc=True),
            "text": ["TSMC raises capex", "TSMC beats estimates"],
        }
    )
    prompt = user_message("2330.TW", past, list(future.index), ["open", "close", "volume"], headlines)
    assert "2019-01-03, 101.50, 102.00, 1000" in prompt and "103.00" not in prompt
    assert "TSMC raises capex" in prompt and "beats estimates" not in prompt  # published on the first future day
    assert "(2019-01-04, 2019-01-07)" in prompt  # the dates to predict, over a weekend
    assert assistant_message(future, ["close"]) == "2019-01-04, 103.00\n2019-01-07, 104.00"


def test_window_news_stops_at_the_end_of_the_last_past_day():
    from fintune.data.windows import window_news

    bars = _bars(10)
    past = past_bars(bars, build_windows(bars, "T", [(3, 2)]).iloc[0])  # 2019-01-01 .. 2019-01-03
    news = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2018-12-31T23:00", "2019-01-01T09:00", "2019-01-03T23:59", "2019-01-04T00:00", "2019-01-02T09:00"],
                utc=True,
            ),
            "asset": ["T", "T", "T", "T", "OTHER"],
            "text": ["before", "first day", "late on the last day", "next day", "other ticker"],
        }
    )
    assert list(window_news(news, "T", past, 10)["text"]) == ["first day", "late on the last day"]
    assert list(window_news(news, "T", past, 1)["text"]) == ["late on the last day"]
