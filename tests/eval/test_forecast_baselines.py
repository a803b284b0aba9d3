"""Naive and LSTM forecasts on series whose future is known, so a wrong baseline shows."""

import datetime

import numpy as np
import pandas as pd
import pytest

from fintune.data.windows import build_windows, split_windows
from fintune.eval.forecast import forecast_metrics, naive_scales
from fintune.eval.forecast_baselines import days_frame, lstm, naive_drift, naive_last


def _growing(days: int = 300, growth: float = 0.01) -> dict:
    dates = pd.bdate_range("2018-01-01", periods=days, tz="UTC")
    close = 100 * (1 + growth) ** np.arange(1, days + 1)
    opens = close / (1 + growth)  # each day opens at the previous close
    frame = pd.DataFrame({"open": opens, "high": close, "low": opens, "close": close, "volume": 1000.0}, index=dates)
    return {"T": frame}


ONE = {"T": 1.0}


def _splits(bars):
    windows = build_windows(bars["T"], "T", [(5, 3)])
    return split_windows(windows, datetime.date(2018, 9, 1), datetime.date(2018, 10, 15))[:3]


def test_naive_last_repeats_the_last_close_and_drift_continues_a_steady_trend_exactly():
    bars = _growing()
    train, validation, test = _splits(bars)
    last = days_frame(bars, test, naive_last(bars, train, validation, test), ONE)
    assert (last.groupby("id")["pred_close"].nunique() == 1).all()
    assert (last["pred_close"] == last["last_close"]).all()
    drift = days_frame(bars, test, naive_drift(bars, train, validation, test), ONE)
    assert np.allclose(drift["pred_close"], drift["actual_close"])
    assert forecast_metrics(drift)["directional_accuracy"] == 1.0


def test_lstm_learns_a_steady_trend_that_naive_last_misses():
    bars = _growing()
    train, validation, test = _splits(bars)
    learned = forecast_metrics(days_frame(bars, test, lstm(bars, train, validation, test), ONE))
    naive = forecast_metrics(days_frame(bars, test, naive_last(bars, train, validation, test), ONE))
    assert learned["mae"] < naive["mae"] / 2 and learned["directional_accuracy"] == pytest.approx(1.0)


def test_mase_divides_by_the_training_periods_one_day_change():
    dates = pd.bdate_range("2018-01-01", periods=300, tz="UTC")
    close = 100.0 + 2.0 * np.arange(300)  # +2 a day, every day
    bars = {"T": pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, dates)}
    scales = naive_scales(bars, datetime.date(2018, 9, 1))
    assert scales == {"T": pytest.approx(2.0)}
    train, validation, test = _splits(bars)
    naive = forecast_metrics(days_frame(bars, test, naive_last(bars, train, validation, test), scales))
    # naive_last misses by 2, 4, 6 on the three future days: MAE 4, in units of the one-day change 2
    assert naive["mae"] == pytest.approx(4.0) and naive["mase"] == pytest.approx(2.0)
