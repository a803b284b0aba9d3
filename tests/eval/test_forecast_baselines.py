"""Naive and LSTM forecasts on series whose future is known, so a wrong baseline shows."""

import datetime

import numpy as np
import pandas as pd
import pytest

from fintune.data.windows import build_windows, split_windows
from fintune.eval.forecast import forecast_metrics
from fintune.eval.forecast_baselines import days_frame, lstm, naive_drift, naive_last


def _growing(days: int = 300, growth: float = 0.01) -> dict:
    dates = pd.bdate_range("2018-01-01", periods=days, tz="UTC")
    close = 100 * (1 + growth) ** np.arange(1, days + 1)
    opens = close / (1 + growth)  # each day opens at the previous close
    frame = pd.DataFrame({"open": opens, "high": close, "low": opens, "close": close, "volume": 1000.0}, index=dates)
    return {"T": frame}


def _splits(bars):
    windows = build_windows(bars["T"], "T", [(5, 3)])
    return split_windows(windows, datetime.date(2018, 9, 1), datetime.date(2018, 10, 15))[:3]


def test_naive_last_repeats_the_last_close_and_drift_continues_a_steady_trend_exactly():
    bars = _growing()
    train, validation, test = _splits(bars)
    last = days_frame(bars, test, naive_last(bars, train, validation, test))
    assert (last.groupby("id")["pred_close"].nunique() == 1).all()
    assert (last["pred_close"] == last["last_close"]).all()
    drift = days_frame(bars, test, naive_drift(bars, train, validation, test))
    assert np.allclose(drift["pred_close"], drift["actual_close"])
    assert forecast_metrics(drift)["directional_accuracy"] == 1.0


def test_lstm_learns_a_steady_trend_that_naive_last_misses():
    bars = _growing()
    train, validation, test = _splits(bars)
    learned = forecast_metrics(days_frame(bars, test, lstm(bars, train, validation, test)))
    naive = forecast_metrics(days_frame(bars, test, naive_last(bars, train, validation, test)))
    assert learned["mae"] < naive["mae"] / 2 and learned["directional_accuracy"] == pytest.approx(1.0)
