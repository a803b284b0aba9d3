"""Posts aligned to later bars: boundaries, labels, bands, per-period aggregation, and the look-ahead guards."""

import numpy as np
import pandas as pd
import pytest

from fintune.config import DataConfig
from fintune.data.align import Band, aggregate_by_period, align_to_bars, check_no_lookahead, label_posts
from fintune.data.time_splits import check_time_split, limit_samples, split_by_time
from fintune.errors import FintuneError

T0 = pd.Timestamp("2022-04-01 00:00", tz="UTC")


def _bars(opens, freq="1h", closes=None):
    index = pd.date_range(T0, periods=len(opens), freq=freq, name="timestamp")
    closes = opens if closes is None else closes
    return pd.DataFrame({"open": opens, "high": opens, "low": opens, "close": closes, "volume": 1.0}, index=index)


def test_a_post_one_second_before_a_bar_enters_on_it_and_one_at_or_after_on_the_next():
    bars = _bars([100.0, 110.0, 121.0, 133.1])
    boundary = T0 + pd.Timedelta("1h")
    times = pd.Series([boundary - pd.Timedelta("1s"), boundary, boundary + pd.Timedelta("1s")])
    out = align_to_bars(times, bars, pd.Timedelta("1h"))
    assert list(out["entry_time"]) == [boundary, boundary + pd.Timedelta("1h"), boundary + pd.Timedelta("1h")]
    assert list(out["entry_price"]) == [110.0, 121.0, 121.0]
    assert list(out["exit_price"]) == [121.0, 133.1, 133.1]
    np.testing.assert_allclose(out["forward_return"], [0.1, 0.1, 0.1])


def test_posts_without_a_full_label_window_get_nan():
    bars = _bars([100.0, 110.0, 121.0])
    times = pd.Series([T0 + pd.Timedelta("90min"), T0 + pd.Timedelta("5h")])
    out = align_to_bars(times, bars, pd.Timedelta("1h"))
    assert out["forward_return"].isna().all()  # first: exit bar missing; second: entry bar missing


def test_labels_use_the_fixed_band():
    bars = _bars([100.0, 100.2, 101.0, 100.0, 100.0])
    posts = pd.DataFrame(
        {"id": ["a", "b", "c"], "timestamp": [T0 + pd.Timedelta(m, "min") for m in (10, 70, 130)], "text": "x"}
    )
    out = label_posts(posts, bars, pd.Timedelta("1h"), Band(threshold=0.005))
    # returns: 100.2 -> 101 (+0.8 %), 101 -> 100 (-1 %), 100 -> 100 (0)
    assert list(out["label"]) == ["up", "down", "flat"]
    assert list(out["id"]) == ["a", "b", "c"]


def test_volatility_band_uses_only_bars_closed_before_entry():
    closes = [100, 101, 100, 101, 100, 101, 100, 101, 500.0]  # a jump at the last bar must not widen earlier bands
    bars = _bars([float(c) for c in closes], closes=[float(c) for c in closes])
    posts = pd.DataFrame({"id": ["p"], "timestamp": [T0 + pd.Timedelta("5h30min")], "text": "x"})
    band = Band(threshold=None, vol_multiple=0.5, vol_window=4)
    narrow = label_posts(posts, bars, pd.Timedelta("1h"), band)
    # entry 6h (100), exit 7h (101): +1 %; the std of four +-1 % log returns is 1.15 %, half of it 0.57 %
    assert list(narrow["label"]) == ["up"]
    assert list(label_posts(posts, bars, pd.Timedelta("1h"), Band(None, 1.0, 4))["label"]) == ["flat"]
    bars.iloc[-1, bars.columns.get_loc("close")] = 100.0
    same = label_posts(posts, bars, pd.Timedelta("1h"), band)
    assert list(same["label"]) == list(narrow["label"])


def test_per_period_examples_trade_on_the_bar_at_the_period_end():
    posts = pd.DataFrame(
        {
            "asset": "BTC",
            "text": ["early", "late", "next day"],
            "timestamp": [T0 + pd.Timedelta("1h"), T0 + pd.Timedelta("23h59min"), T0 + pd.Timedelta("25h")],
        }
    )
    days = aggregate_by_period(posts, "1D")
    assert list(days["text"]) == ["early\nlate", "next day"] and list(days["n_posts"]) == [2, 1]
    bars = _bars([100.0, 110.0, 99.0], freq="1D")
    out = label_posts(days, bars, pd.Timedelta("1D"), Band(threshold=0.005))
    assert out["entry_time"].iloc[0] == T0 + pd.Timedelta("1D")  # the next day's open, never the same day's
    assert list(out["label"]) == ["down"]


def test_guard_rejects_text_dated_at_or_after_its_entry():
    frame = pd.DataFrame({"id": ["x"], "timestamp": [T0], "entry_time": [T0], "exit_time": [T0 + pd.Timedelta("1h")]})
    with pytest.raises(AssertionError, match="enters at"):
        check_no_lookahead(frame)


def _labelled(n_days=30, horizon="2D"):
    ts = pd.date_range(T0, periods=n_days, freq="1D")
    return pd.DataFrame(
        {"id": [f"d{i}" for i in range(n_days)], "timestamp": ts, "exit_time": ts + pd.Timedelta(horizon)}
    )


def test_time_split_purges_windows_that_reach_the_next_split():
    frame = _labelled()
    val_start, test_start = T0 + pd.Timedelta("20D"), T0 + pd.Timedelta("25D")
    train, val, test, stats = split_by_time(frame, val_start, test_start, embargo=pd.Timedelta("2D"))
    assert train["exit_time"].max() <= val_start and val["exit_time"].max() <= test_start
    assert train["timestamp"].max() < val_start - pd.Timedelta("2D")
    assert stats["purged_train"] == 2 and stats["purged_validation"] == 2
    assert len(train) + len(val) + len(test) + 4 == len(frame)


def test_a_subset_counts_and_dates_what_it_kept():
    train, val, test, stats = split_by_time(
        _labelled(), T0 + pd.Timedelta("20D"), T0 + pd.Timedelta("25D"), pd.Timedelta(0)
    )
    cfg = DataConfig(source="fpb", max_train_samples=5)
    kept, _, _ = limit_samples(train, val, test, cfg, stats)
    assert stats["n_train"] == len(kept) == 5 and stats["n_train_in_period"] == len(train)
    assert stats["periods"]["train"].startswith(f"{kept['timestamp'].min():%Y-%m-%d}")  # the most recent five
    assert kept["timestamp"].min() > train["timestamp"].min()
    assert "n_test_in_period" not in stats  # test was not cut


def test_guard_fails_on_labels_that_leak_across_the_boundary():
    frame = _labelled(horizon="3D")
    train, test = frame.iloc[:20], frame.iloc[21:]  # a crafted split: day 19's window ends on day 22, after day 21
    with pytest.raises(FintuneError, match="look-ahead: training example d19 .* after the test period starts"):
        check_time_split(train, frame.iloc[0:0], test)


def test_empty_period_is_a_clear_error():
    with pytest.raises(FintuneError, match="the test period has no examples"):
        split_by_time(_labelled(), T0 + pd.Timedelta("10D"), T0 + pd.Timedelta("90D"), pd.Timedelta("1D"))
