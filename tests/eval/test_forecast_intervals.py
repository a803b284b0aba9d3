"""Forecast intervals resample blocks of windows as long as the horizon: windows sharing days move together."""

import numpy as np
import pandas as pd
import pytest

from fintune.eval.forecast import forecast_intervals, forecast_metrics


def _days(first_days: list[str], errors: list[float], future: int = 2) -> pd.DataFrame:
    """One window per first predicted day; each of its `future` days errs by that window's error."""
    rows = []
    for w, (start, error) in enumerate(zip(first_days, errors)):
        for h, date in enumerate(pd.bdate_range(start, periods=future, tz="UTC"), start=1):
            rows.append((f"w{w}", h, future, date, 100.0, 100.0, 100.0 + error, 2.0))
    columns = ["id", "h", "future", "date", "last_close", "actual_close", "pred_close", "scale"]
    return pd.DataFrame(rows, columns=columns)


def test_the_interval_holds_the_point_and_a_perfect_forecast_has_none():
    rng = np.random.default_rng(1)
    starts = [f"2019-{m:02d}-{d:02d}" for m in range(1, 13) for d in (3, 17)]
    days = _days(starts, list(rng.normal(0, 3, len(starts))))
    m = forecast_metrics(days)
    for metric in ("mae", "rmse", "mape", "mase"):
        low, high = m["ci95"][metric]
        assert low < m[metric] < high
    assert m["ci95"]["mase"] == pytest.approx([m["ci95"]["mae"][0] / 2, m["ci95"]["mae"][1] / 2])
    assert forecast_intervals(days.assign(pred_close=days["actual_close"]))["mae"] == [0.0, 0.0]


def test_windows_of_one_block_are_resampled_together():
    # four 2-day windows starting Monday to Thursday of one week: one block, so every resample is the whole sample
    # (resampling days or windows one by one would give a wide interval for errors this different)
    errors = [1.0, 9.0, -4.0, 0.5]
    days = _days(["2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07"], errors)
    point = forecast_metrics(days)["mae"]
    assert forecast_intervals(days)["mae"] == pytest.approx([point, point])
    # the same windows in four weeks: four blocks, a real interval
    weeks = ["2019-03-11", "2019-03-19", "2019-03-26", "2019-04-03"]
    low, high = forecast_intervals(_days(weeks, errors))["mae"]
    assert low < point < high
    # a 10-day horizon makes two-week blocks (from 2019-03-11 and 2019-03-25): two blocks of two windows
    two = forecast_intervals(_days(weeks, errors, future=10))
    pooled = [np.mean(np.abs(errors[:2])), np.mean(np.abs(errors[2:]))]
    assert two["mae"] == pytest.approx([min(pooled), max(pooled)])


def test_unparsed_days_are_left_out_as_in_the_point_and_no_parsed_day_gives_no_interval():
    days = _days(["2019-01-02", "2019-02-04", "2019-03-04"], [2.0, 2.0, 2.0])
    days.loc[days["id"] == "w1", "pred_close"] = float("nan")
    assert forecast_intervals(days)["mae"] == pytest.approx([2.0, 2.0])
    assert forecast_intervals(days.assign(pred_close=float("nan"))) == {}


def test_without_dates_each_window_is_a_group():
    days = _days(["2019-03-01", "2019-03-08", "2019-03-15"], [1.0, 9.0, -4.0]).drop(columns="date")
    low, high = forecast_intervals(days)["mae"]
    assert low < forecast_metrics(days)["mae"] < high
