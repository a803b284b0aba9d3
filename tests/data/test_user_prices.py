"""A user's prices for many assets: a folder of per-ticker files, one long file and a pattern give the same splits,
labels and bars; a bad row names its file, row and asset; posts of a ticker without prices are counted."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fintune.config import DataConfig, TrendConfig, WindowsConfig
from fintune.data.trend import load_trend_splits
from fintune.data.windows import load_window_splits
from fintune.errors import FintuneError
from tests.conftest import ROOT, fintune, one_line_error, yahoo_bars

TREND_CONFIG = ROOT / "configs/trend/reddit_btc_1d.yaml"
TICKERS = ("AAA", "BBB", "CCC")
WORDS = ["profit rose", "sales fell", "shares were unchanged", "the company said"]
DAYS = pd.date_range("2022-03-01", periods=60, freq="D")


def _posts(assets) -> pd.DataFrame:
    times = DAYS[:-2].repeat(2) + pd.to_timedelta(np.tile([3, 15], len(DAYS) - 2), unit="h")
    rows = [
        {"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "text": f"{WORDS[(i + k) % 4]} at {a}", "asset": a}
        for k, a in enumerate(assets)
        for i, t in enumerate(times)
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def market(tmp_path) -> dict[str, Path]:
    """The same bars written three ways, and posts for the three tickers plus ZZZ, which has no prices."""
    bars = {t: yahoo_bars(DAYS, seed) for seed, t in enumerate(TICKERS)}
    folder = tmp_path / "folder"
    folder.mkdir()
    for ticker, frame in bars.items():
        frame.to_csv(folder / f"{ticker}.csv", index=False)
    long = pd.concat(  # the lower-case layout; tickers interleaved day by day, as an export from a database is
        [f.rename(columns=lambda c: c.lower().replace(" ", "_")).assign(ticker=t) for t, f in bars.items()]
    ).sort_values(["date", "ticker"], kind="stable")
    long.to_csv(tmp_path / "long.csv", index=False)
    _posts([*TICKERS, "ZZZ"]).to_csv(tmp_path / "posts.csv", index=False)
    return {
        "folder": folder,
        "long": tmp_path / "long.csv",
        "pattern": Path(f"{folder}/{{asset}}.csv"),
        "posts": tmp_path / "posts.csv",
    }


def _trend(market, prices, assets=(*TICKERS, "ZZZ")) -> DataConfig:
    trend = TrendConfig(
        posts=str(market["posts"]),
        prices=str(prices),
        assets=list(assets) if assets != "all" else "all",
        validation_start=datetime.date(2022, 4, 1),
        test_start=datetime.date(2022, 4, 11),
    )
    return DataConfig(source="trend", trend=trend)


def test_folder_long_file_and_pattern_give_identical_splits_labels_and_bars(market):
    results = {layout: load_trend_splits(_trend(market, market[layout])) for layout in ("folder", "long", "pattern")}
    first = results["folder"]
    assert sorted(first.prices) == list(TICKERS) and set(first.train["asset"]) == set(TICKERS)
    for layout, splits in results.items():
        for part in ("train", "validation", "test"):
            pd.testing.assert_frame_equal(getattr(splits, part), getattr(first, part), obj=f"{layout} {part}")
        for ticker in TICKERS:
            pd.testing.assert_frame_equal(splits.prices[ticker], first.prices[ticker], obj=f"{layout} {ticker}")
        assert splits.stats["label_counts"] == first.stats["label_counts"]
        assert splits.stats["filtered"]["no_prices"] == {"ZZZ": 116}  # counted, not silently dropped


def test_assets_all_takes_every_asset_with_posts_and_prices(market):
    splits = load_trend_splits(_trend(market, market["long"], assets="all"))
    assert sorted(splits.prices) == list(TICKERS)
    assert splits.stats["filtered"]["no_prices"] == {"ZZZ": 116}
    one_file = market["folder"] / "AAA.csv"
    with pytest.raises(FintuneError, match="assets: all needs data.trend.prices as a folder"):
        load_trend_splits(_trend(market, one_file, assets="all"))


def test_one_assets_file_still_takes_exactly_one_asset(market):
    one_file = market["folder"] / "AAA.csv"
    assert sorted(load_trend_splits(_trend(market, one_file, assets=["AAA"])).prices) == ["AAA"]
    with pytest.raises(FintuneError, match="is one asset's bars .* but 4 assets are named"):
        load_trend_splits(_trend(market, one_file))


@pytest.mark.parametrize("layout", ["folder", "long"])
def test_a_bad_row_names_its_file_row_and_asset(market, layout):
    if layout == "folder":
        path = market["folder"] / "BBB.csv"
        frame = pd.read_csv(path)
        frame.loc[3, "Close"] = -1.0  # file row 5 (header = row 1)
        frame.to_csv(path, index=False)
        expected = f"price file '{path}' (asset 'BBB'), row 5: a price is zero or negative"
    else:
        path = market["long"]
        frame = pd.read_csv(path)
        at = int(np.flatnonzero(frame["ticker"] == "BBB")[3])
        frame.loc[at, "close"] = -1.0
        frame.to_csv(path, index=False)
        expected = f"price file '{path}' (asset 'BBB'), row {at + 2}: a price is zero or negative"
    with pytest.raises(FintuneError) as error:
        load_trend_splits(_trend(market, market[layout]))
    assert str(error.value) == expected


def test_no_asset_with_prices_is_an_error_not_an_empty_run(market, tmp_path):
    _posts(["ZZZ"]).to_csv(market["posts"], index=False)
    with pytest.raises(FintuneError, match=r"no asset with posts has bars .* \{'ZZZ': 116\}"):
        load_trend_splits(_trend(market, market["folder"]))


def test_forecast_windows_come_from_every_listed_ticker_in_any_layout(market):
    def windows(prices, tickers=("AAA", "CCC")):
        spec = WindowsConfig(
            tickers=list(tickers),
            prices=str(prices),
            pairs=[(3, 2)],
            validation_start=datetime.date(2022, 4, 1),
            test_start=datetime.date(2022, 4, 11),
        )
        return load_window_splits(DataConfig(source="windows", windows=spec))

    folder, long = windows(market["folder"]), windows(market["long"])
    assert set(folder.train["ticker"]) == {"AAA", "CCC"}
    for part in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(getattr(folder, part), getattr(long, part))
    with pytest.raises(FintuneError, match="has no bars for ticker 'ZZZ'"):
        windows(market["folder"], ("AAA", "ZZZ"))


def _run_overrides(tiny_model_dir, market, prices, name):
    return [
        f"model.path={tiny_model_dir}",
        f"output_dir={market['posts'].parent / 'runs'}",
        f"name={name}",
        f"data.trend.posts={market['posts']}",
        f"data.trend.prices={prices}",
        "data.trend.assets=[AAA,BBB,CCC]",
        "data.trend.validation_start=2022-04-01",
        "data.trend.test_start=2022-04-11",
        "data.max_length=16",
        "train.epochs=1",
        "train.batch_size=16",
        "adapter.r=4",
        "adapter.alpha=8",
    ]


def test_runs_on_a_folder_and_on_a_long_file_measure_the_same(market, tiny_model_dir):
    metrics = {}
    for layout in ("folder", "long"):
        res = fintune("run", TREND_CONFIG, *_run_overrides(tiny_model_dir, market, market[layout], layout))
        assert res.returncode == 0, res.stderr[-3000:]
        metrics[layout] = json.loads((market["posts"].parent / "runs" / layout / "metrics.json").read_text())
    folder, long = metrics["folder"], metrics["long"]
    assert folder["test"] == long["test"] and folder["baselines"] == long["baselines"]
    assert folder["backtest"] == long["backtest"] and sorted(folder["backtest"]["per_asset"]) == list(TICKERS)
    assert "no_prices" not in folder["data"].get("filtered", {})  # ZZZ was not asked for


def test_a_run_with_a_bad_price_row_stops_with_one_line(market, tiny_model_dir):
    path = market["folder"] / "CCC.csv"
    frame = pd.read_csv(path)
    frame.loc[7, "Date"] = "not a day"
    frame.to_csv(path, index=False)
    res = fintune("run", TREND_CONFIG, *_run_overrides(tiny_model_dir, market, market["folder"], "bad"))
    one_line_error(res, f"price file '{path}' (asset 'CCC'), row 9: cannot read date 'not a day'")
    assert not (market["posts"].parent / "runs").exists()


@pytest.mark.parametrize("layout", ["folder", "long", "pattern"])
def test_a_share_class_written_with_a_dot_finds_yahoos_dash_file(market, layout, tmp_path):
    """Posts say BRK.B, Yahoo's file is BRK-B.csv: the same ticker, not 'no prices' (in every layout)."""
    (market["folder"] / "AAA.csv").rename(market["folder"] / "BRK-B.csv")
    long = pd.read_csv(market["long"])
    long.loc[long["ticker"] == "AAA", "ticker"] = "BRK-B"
    long.to_csv(market["long"], index=False)
    _posts(["BRK.B", "BBB"]).to_csv(market["posts"], index=False)
    splits = load_trend_splits(_trend(market, market[layout], assets=("BRK.B", "BBB")))
    assert sorted(splits.prices) == ["BBB", "BRK.B"] and "filtered" not in splits.stats
