"""Live daily prices: `yfinance:BTC-USD` or `twstock:2330` wherever a price file is accepted.

The bars are fetched once, written as a plain CSV under `$FINTUNE_HOME/prices/` and read from there by
`load_prices` like any file, so a run's fingerprints name the exact bars it used and a rerun offline
reuses them. The connectors are optional extras (`pip install 'fintune[live]'`); without the package or
without a network the error says which and what to do.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pandas as pd

from fintune.data.locate import fintune_home
from fintune.errors import FintuneError

log = logging.getLogger(__name__)
SOURCES = ("yfinance", "twstock")
TWSTOCK_SINCE = (2010, 1)  # TWSE serves one month per request; earlier years take minutes and get throttled


def is_live(spec: str | None) -> bool:
    return bool(spec) and spec.split(":", 1)[0] in SOURCES and ":" in spec


def price_path(spec: str) -> Path:
    """A price spec -> a CSV on disk: a file path as given, or a live source fetched into the cache."""
    return fetched_prices(spec)[0]


def fetched_prices(spec: str) -> tuple[Path, dict | None]:
    """(the CSV of `spec`, None), or where a live fetch failed and an earlier copy was used instead, (that copy,
    a note saying so) for the run's metrics.json: its numbers are then from bars of that date, not today's."""
    if not is_live(spec):
        return Path(spec), None
    source, ticker = spec.split(":", 1)
    if not ticker:
        raise FintuneError(f"price source '{spec}' names no ticker (e.g. {source}:2330)")
    target = fintune_home() / "prices" / source / f"{ticker}.csv"
    try:
        frame = _FETCH[source](ticker)
    except ImportError:
        raise FintuneError(f"'{spec}' needs the {source} package: pip install 'fintune[live]'") from None
    except Exception as e:  # noqa: BLE001 - each library fails offline in its own way
        if target.is_file():
            stamp = datetime.datetime.fromtimestamp(target.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            log.warning("could not fetch %s (%s); using the copy cached at %s", spec, type(e).__name__, stamp)
            return target, {
                "source": spec,
                "used_cached_copy": str(target),
                "cached_at": stamp,
                "error": type(e).__name__,
            }
        raise FintuneError(f"could not fetch '{spec}' ({type(e).__name__}); offline? give a price file") from None
    if frame.empty:
        raise FintuneError(f"'{spec}' returned no bars (unknown ticker?)")
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    return target, None


def _yfinance(ticker: str) -> pd.DataFrame:
    import yfinance

    raw = yfinance.Ticker(ticker).history(period="max", interval="1d", auto_adjust=False)
    return _daily(raw.index, raw["Open"], raw["High"], raw["Low"], raw["Close"], raw["Volume"])


def _twstock(code: str) -> pd.DataFrame:
    import twstock

    rows = twstock.Stock(code).fetch_from(*TWSTOCK_SINCE)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    # TWSE reports volume in shares as `capacity`
    return _daily(frame["date"], frame["open"], frame["high"], frame["low"], frame["close"], frame["capacity"])


def _daily(dates, open_, high, low, close, volume) -> pd.DataFrame:
    """The shared files' layout: a daily bar is its trading date, whatever zone the source reports in."""
    day = pd.DatetimeIndex(dates).strftime("%Y-%m-%d")
    columns = {"Date": day, "Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


_FETCH = {"yfinance": _yfinance, "twstock": _twstock}
