"""A user's own bars for many assets (`data.trend.prices`, `data.windows.prices`), in whichever layout they keep:

- a folder of `<ASSET>.csv` files (Yahoo's Date, Open, High, Low, Close, Adj Close, Volume, or lower case),
- one long CSV with an `asset` (or `ticker`, `symbol`) column,
- a pattern such as `prices/{asset}.csv`,
- one asset's CSV, or a live source (`yfinance:BTC-USD`): then exactly one asset may be named.

Every layout gives the same bars per asset, validated as one file would be (prices.py), with the asset named in
every error. An asset without bars is not an error here: the caller counts what it loses.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pandas as pd

from fintune.data.live_prices import fetched_prices, is_live
from fintune.data.prices import prices_from_table, read_price_table
from fintune.errors import FintuneError

ASSET_COLUMNS = ("asset", "ticker", "symbol")
PLACEHOLDER = "{asset}"


class UserPrices:
    def __init__(self, spec: str, key: str) -> None:
        """`key`: the config key the spec came from, for errors (data.trend.prices)."""
        self.spec, self.key = spec, key
        self._long: pd.DataFrame | None = None
        self._asset_column: str | None = None
        self.fallbacks: list[dict] = []
        """Live sources that failed and were read from an earlier cached copy (for metrics.json)."""
        if is_live(spec):
            self.layout = "live"
        elif PLACEHOLDER in spec:
            self.layout = "pattern"
        elif Path(spec).is_dir():
            self.layout = "folder"
        else:
            raw = read_price_table(Path(spec))
            self._asset_column = next((c for c in ASSET_COLUMNS if c in raw.columns), None)
            self.layout = "long" if self._asset_column else "one asset"
            self._long = raw

    @property
    def one_asset(self) -> bool:
        return self.layout in ("live", "one asset")

    def check_assets(self, assets: list[str]) -> None:
        if self.one_asset and len(assets) != 1:
            raise FintuneError(
                f"{self.key} '{self.spec}' is one asset's bars (no {'/'.join(ASSET_COLUMNS)} column), but "
                f"{len(assets)} assets are named; name exactly one, or give a folder of <ASSET>.csv files, a long "
                f"file with an asset column, or a pattern such as prices/{PLACEHOLDER}.csv"
            )

    def assets(self) -> list[str]:
        """Every asset these prices have bars for (`assets: all`); one-asset specs cannot say."""
        if self.layout == "folder":
            return sorted(p.stem for p in Path(self.spec).glob("*.csv"))
        if self.layout == "pattern":
            before, after = self.spec.split(PLACEHOLDER, 1)
            found = glob.glob(glob.escape(before) + "*" + glob.escape(after))
            match = re.compile(re.escape(before) + "(.+)" + re.escape(after) + "$")
            return sorted(m.group(1) for f in found if (m := match.match(f)))
        if self.layout == "long":
            return sorted(self._long[self._asset_column].dropna().astype(str).str.strip().unique())
        raise FintuneError(
            f"assets: all needs {self.key} as a folder, a long file with an asset column or a pattern with "
            f"{PLACEHOLDER}; '{self.spec}' is one asset's bars"
        )

    def bars(self, asset: str) -> tuple[pd.DataFrame, Path] | None:
        """(validated bars, the file they came from) of `asset`, or None when these prices have none for it."""
        if self.layout == "live":
            path, fallback = fetched_prices(self.spec)
            self.fallbacks += [fallback] if fallback else []
            return prices_from_table(read_price_table(path), path), path
        if self.layout == "one asset":
            return prices_from_table(self._long, Path(self.spec)), Path(self.spec)
        if self.layout == "long":
            names = self._long[self._asset_column].astype(str)
            rows = self._long[names.str.strip() == asset]
            if rows.empty:  # BRK.B in the posts, BRK-B in the prices: one share class, two spellings
                rows = self._long[names.map(ticker_key) == ticker_key(asset)]
            if rows.empty:
                return None
            return prices_from_table(rows, Path(self.spec), asset=asset), Path(self.spec)
        path = self._asset_file(asset)
        if path is None:
            return None
        return prices_from_table(read_price_table(path), path, asset=asset), path

    def _asset_file(self, asset: str) -> Path | None:
        if self.layout == "pattern":
            spellings = dict.fromkeys([asset, asset.replace(".", "-"), asset.replace("-", ".")])
            paths = [Path(self.spec.replace(PLACEHOLDER, name)) for name in spellings]
            return next((path for path in paths if path.is_file()), None)
        folder = Path(self.spec)
        exact = folder / f"{asset}.csv"
        if exact.is_file():
            return exact
        # file systems differ on case, tickers on the share-class mark (BRK.B, Yahoo's BRK-B): a folder with both
        # aapl.csv and AAPL.csv is ambiguous, so only one file may match
        loose = [p for p in folder.glob("*.csv") if ticker_key(p.stem) == ticker_key(asset)]
        if len(loose) > 1:
            raise FintuneError(f"{self.key}: both {' and '.join(p.name for p in loose)} could be '{asset}'")
        return loose[0] if loose else None


def ticker_key(name: str) -> str:
    """A ticker as compared across sources: case and the share-class mark ('.', '-' or '/') do not tell two apart."""
    return re.sub(r"[./-]", "-", name.strip().lower())
