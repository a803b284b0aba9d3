"""The forecast parser on well-formed, truncated, reordered, noisy and garbage outputs; the close metrics."""

import pandas as pd
import pytest

from fintune.eval.forecast import forecast_metrics
from fintune.inference.forecast_parse import parse_forecast

FIELDS = ["open", "high", "low", "close", "volume"]
DAYS = [pd.Timestamp(d) for d in ("2019-01-02", "2019-01-03", "2019-01-04")]
GOOD = """2019-01-02, 219.50, 226.00, 218.00, 224.00, 33000000
2019-01-03, 224.00, 225.00, 215.00, 215.50, 41000000
2019-01-04, 210.00, 211.00, 206.50, 208.00, 52000000"""


def test_well_formed_output_is_read_exactly():
    parsed = parse_forecast(GOOD, DAYS, FIELDS)
    assert list(parsed.rows.index) == DAYS and parsed.n_missing == 0 and parsed.n_malformed == 0
    assert parsed.rows.loc["2019-01-03", "close"] == 215.5 and parsed.rows.loc["2019-01-04", "volume"] == 52e6


def test_truncated_output_reports_missing_days_and_fills_nothing():
    parsed = parse_forecast(GOOD[: GOOD.index("2019-01-03, 224.00, 225") + 22], DAYS, FIELDS)
    assert list(parsed.rows.index) == DAYS[:1]  # the cut-off second row has too few numbers
    assert parsed.n_missing == 2 and parsed.n_malformed == 1


def test_reordered_and_decorated_rows_are_matched_by_date():
    noisy = """Sure! Here is my forecast:
    | Day 3 | 2019/01/04 | 210.00 | 211.00 | 206.50 | 208.00 | 52000000 |
    - 2019-01-02: open 219.5 high 226 low 218 close 224 volume 33000000
    2019-01-03  224.00  225.00  215.00  215.50  41000000"""
    parsed = parse_forecast(noisy, DAYS, FIELDS)
    assert list(parsed.rows["close"]) == [224.0, 215.5, 208.0]


def test_garbage_unexpected_duplicate_and_impossible_rows_are_counted_not_used():
    text = """I cannot predict stock prices.
2019-01-07, 200, 201, 199, 200, 1000
2019-01-02, 219.50, 226.00, 218.00, 224.00, 33000000
2019-01-02, 1, 1, 1, 1, 1
2019-01-03, 224.00, -225.00, 215.00, 215.50, 41000000
2019-02-30, 1, 2, 3, 4, 5"""
    parsed = parse_forecast(text, DAYS, FIELDS)
    assert list(parsed.rows.index) == DAYS[:1] and parsed.rows.loc["2019-01-02", "close"] == 224.0
    assert (parsed.n_unexpected, parsed.n_duplicate, parsed.n_malformed, parsed.n_missing) == (1, 1, 2, 2)
    assert parse_forecast("", DAYS, FIELDS).n_missing == 3


def test_metrics_score_closes_against_the_last_known_close():
    days = pd.DataFrame(
        {
            "id": ["w1", "w1", "w2", "w2"],
            "h": [1, 2, 1, 2],
            "future": 2,
            "last_close": [100.0, 100.0, 50.0, 50.0],
            "actual_close": [110.0, 90.0, 45.0, 40.0],
            "pred_close": [105.0, float("nan"), 55.0, 45.0],
        }
    )
    m = forecast_metrics(days)
    assert m["mae"] == pytest.approx((5 + 10 + 5) / 3) and m["n"] == 3 and m["parsed_share"] == 0.75
    assert m["directional_accuracy"] == 0.5  # w1 up/up right, w2 up/down wrong
    assert m["directional_accuracy_last"] == 1.0  # only w2's last day was parsed: down/down
    assert m["mape"] == pytest.approx((5 / 110 + 10 / 45 + 5 / 40) / 3 * 100, rel=1e-5)
    flat = forecast_metrics(days.assign(pred_close=days["last_close"]))
    assert flat["directional_accuracy"] is None  # no change predicts no direction


def test_up_share_is_the_base_rate_of_direction_whatever_was_predicted():
    days = pd.DataFrame(
        {"id": ["a", "b", "c"], "h": 1, "future": 1, "last_close": 100.0, "actual_close": [101.0, 99.0, 102.0]}
    )
    m = forecast_metrics(days.assign(pred_close=float("nan")))
    assert m["up_share"] == pytest.approx(2 / 3) and m["n"] == 0 and m["mae"] is None
