"""Live price sources: the fetched bars land in the cache as a plain price file; offline and missing packages
are clear errors; a cached copy is reused when the network is gone. The libraries are replaced by stand-ins
here (no network in tests); what is tested is fintune's handling of what they return."""

import sys
import types

import pandas as pd
import pytest

from fintune.data.live_prices import fetched_prices, is_live, price_path
from fintune.data.prices import load_prices
from fintune.errors import FintuneError


def _fake_yfinance(history):
    module = types.ModuleType("yfinance")
    module.Ticker = lambda ticker: types.SimpleNamespace(history=lambda **kw: history(ticker))
    return module


def _bars(ticker):
    index = pd.DatetimeIndex(["2019-01-02", "2019-01-03"]).tz_localize("Asia/Taipei")
    return pd.DataFrame(
        {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5], "Volume": [10, 20]},
        index=index,
    )


def test_file_paths_are_not_live_sources():
    assert is_live("yfinance:BTC-USD") and is_live("twstock:2330")
    assert not is_live("bars.csv") and not is_live("C:/data/bars.csv") and not is_live(None)


def test_fetched_daily_bars_are_cached_and_read_as_their_trading_dates(tmp_path, monkeypatch):
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "yfinance", _fake_yfinance(_bars))
    path = price_path("yfinance:2330.TW")
    assert path == tmp_path / "prices" / "yfinance" / "2330.TW.csv"
    bars = load_prices(path)
    # 2019-01-02 00:00 in Taipei is 2019-01-01 16:00 UTC; the bar is still the 2nd's
    assert list(bars.index) == list(pd.to_datetime(["2019-01-02", "2019-01-03"], utc=True))


def test_offline_is_a_clear_error_unless_a_cached_copy_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path))

    def offline(ticker):
        raise ConnectionError("no route to host")

    monkeypatch.setitem(sys.modules, "yfinance", _fake_yfinance(offline))
    with pytest.raises(FintuneError, match=r"could not fetch 'yfinance:BTC-USD' \(ConnectionError\)"):
        price_path("yfinance:BTC-USD")
    cached = tmp_path / "prices" / "yfinance" / "BTC-USD.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text("Date,Open,High,Low,Close,Volume\n2022-01-01,1,2,0.5,1.5,10\n")
    assert price_path("yfinance:BTC-USD") == cached
    path, note = fetched_prices("yfinance:BTC-USD")  # what a run records in metrics.json (data.prices_fallback)
    assert path == cached and note["used_cached_copy"] == str(cached) and note["error"] == "ConnectionError"


def test_a_missing_connector_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "twstock", None)  # import fails as if not installed
    with pytest.raises(FintuneError, match=r"needs the twstock package: pip install 'fintune\[live\]'"):
        price_path("twstock:2330")
