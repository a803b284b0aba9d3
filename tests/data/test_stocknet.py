"""StockNet's protocol on a made-up stock: thresholds, dropped dead zone, tweets only before the previous close."""

import pandas as pd

from fintune.data.stocknet import LAG_DAYS, ticker_examples

# Weekdays from Monday 2015-02-02: before daylight saving, so the 16:00 New York close is 21:00 UTC.
DAYS = pd.bdate_range("2015-02-02", periods=12)


def _bars(adj):
    frame = pd.DataFrame({"open": adj, "high": adj, "low": adj, "close": adj, "volume": 1.0, "adj_close": adj})
    frame.index = DAYS[: len(adj)].tz_localize("UTC")
    return frame


def _tweets(rows):
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(len(rows))],
            "timestamp": [pd.Timestamp(t, tz="UTC") for t, _ in rows],
            "text": [x for _, x in rows],
            "asset": "XYZ",
        }
    )


def test_labels_follow_the_thresholds_and_drop_the_dead_zone():
    adj = [100.0] * (LAG_DAYS + 1) + [101.0, 100.7, 100.0, 100.6]  # +1 %, -0.3 % (dropped), -0.7 %, +0.6 %
    tweets = _tweets([(f"{day:%Y-%m-%d} 15:00", f"day {day:%d}") for day in DAYS[:10]])
    examples = ticker_examples("XYZ", tweets, _bars(adj))
    assert list(examples["target_day"].dt.strftime("%m-%d")) == ["02-10", "02-12", "02-13"]
    assert list(examples["label"]) == ["up", "down", "up"]
    # Five sessions of tweets, newest first: the target day's own tweets are never in its text.
    assert examples["text"].iloc[0].split("\n") == ["day 09", "day 06", "day 05", "day 04", "day 03"]


def test_a_tweet_after_the_previous_close_waits_for_the_next_day():
    adj = [100.0] * (LAG_DAYS + 1) + [101.0, 102.0]
    tweets = _tweets([("2015-02-09 20:59:59", "before close"), ("2015-02-09 21:00:01", "after close")])
    examples = ticker_examples("XYZ", tweets, _bars(adj)).set_index("target_day")
    tuesday, wednesday = pd.Timestamp("2015-02-10"), pd.Timestamp("2015-02-11")
    assert examples.loc[tuesday, "text"] == "before close"
    assert examples.loc[tuesday, "entry_time"] == pd.Timestamp("2015-02-09 21:00", tz="UTC")
    assert (examples["timestamp"] < examples["entry_time"]).all()
    assert examples.loc[wednesday, "text"].split("\n") == ["after close", "before close"]
