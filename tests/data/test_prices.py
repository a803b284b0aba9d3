"""OHLCV files: layouts, UTC bar-open index, validation errors naming the row, resampling."""

import pandas as pd
import pytest

from fintune.data.prices import load_prices, price_file, resample_ohlcv
from fintune.errors import FintuneError
from tests.conftest import needs_data

YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def _write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yahoo_daily_and_epoch_intraday_layouts(tmp_path):
    daily = load_prices(_write(tmp_path, YAHOO + "2022-05-01,10,11,9,10.5,10.5,100\n2022-05-02,10.5,12,10,11,11,50\n"))
    assert str(daily.index.tz) == "UTC" and daily.index[0] == pd.Timestamp("2022-05-01", tz="UTC")
    assert list(daily.columns) == ["open", "high", "low", "close", "volume", "adj_close"]
    five = "index,unix,low,high,open,close,volume,date\n0,1648771200,1,3,2,2.5,7,2022-04-01 00:00:00\n"
    bars = load_prices(_write(tmp_path, five, "five.csv"))
    assert bars.index[0] == pd.Timestamp("2022-04-01 00:00", tz="UTC") and bars["open"].iloc[0] == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2022-05-02,1,1,1,1,1,1\n2022-05-01,1,1,1,1,1,1\n", "row 3: .* comes before the row above"),
        ("2022-05-01,1,1,1,1,1,1\n2022-05-01,1,1,1,1,1,1\n", "row 3: duplicate timestamp"),
        ("2022-05-01,1,1,1,1,1,1\n2022-05-02,1,1,-1,1,1,1\n", "row 3: a price is zero or negative"),
        ("2022-05-01,1,1,1,1,1,1\nyesterday,1,1,1,1,1,1\n", "row 3: cannot read date 'yesterday'"),
    ],
)
def test_bad_rows_are_errors_naming_the_row(tmp_path, rows, message):
    with pytest.raises(FintuneError, match=message):
        load_prices(_write(tmp_path, YAHOO + rows))


def test_null_rows_dropped_and_gaps_counted(tmp_path):
    rows = "2022-05-01,1,1,1,1,1,1\n2022-05-02,,,,,,\n2022-05-03,1,1,1,1,1,1\n2022-05-04,1,1,1,1,1,1\n"
    rows += "2022-05-08,1,1,1,1,1,1\n"
    frame = load_prices(_write(tmp_path, YAHOO + rows))
    assert len(frame) == 4
    assert frame.attrs["report"]["rows_with_nulls_dropped"] == 1 and frame.attrs["report"]["gaps"] == 1


def test_resample_five_minutes_to_an_hour():
    index = pd.date_range("2022-04-01", periods=24, freq="5min", tz="UTC")
    frame = pd.DataFrame({"open": range(24), "high": range(1, 25), "low": range(24), "close": range(24), "volume": 1.0})
    frame.index = index
    hourly = resample_ohlcv(frame.astype(float), "1h")
    assert list(hourly["open"]) == [0, 12] and list(hourly["high"]) == [12, 24]
    assert list(hourly["low"]) == [0, 12] and list(hourly["close"]) == [11, 23] and list(hourly["volume"]) == [12, 12]


@needs_data
def test_shared_btc_daily_file():
    frame = load_prices(price_file("BTC", "1d"))
    assert frame.index[0] == pd.Timestamp("2014-09-17", tz="UTC") and frame.index.is_monotonic_increasing
    assert len(frame) > 3000
