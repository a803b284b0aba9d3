"""`data.source: trend`: timestamped posts labelled down / flat / up by the price move that follows them.

Posts are loaded and routed to assets, aligned to the first bar opening strictly after them
(`align.py`), labelled against a neutral band, and split by time with purging and an embargo
(`time_splits.py`). The frames keep `timestamp, asset, entry_time, exit_time, forward_return` and a
`momentum_label` (the direction of the window that ended at entry, known at decision time) beside
`id, text, label`, so baselines, predictions.csv and the backtest can use them.
"""

from __future__ import annotations

import datetime

import pandas as pd

from fintune.config import DataConfig, TrendConfig
from fintune.data import posts as post_sources
from fintune.data.align import TREND_LABELS, Band, aggregate_by_period, label_posts
from fintune.data.dataset import LabeledSplits
from fintune.data.post_filters import filter_posts
from fintune.data.prices import load_prices, price_file
from fintune.data.time_splits import limit_samples, split_by_time
from fintune.data.user_prices import UserPrices
from fintune.errors import FintuneError


def load_trend_splits(cfg: DataConfig) -> LabeledSplits:

    trend = cfg.trend or TrendConfig()
    horizon = _timedelta(trend.horizon, "data.trend.horizon")
    embargo = _timedelta(trend.embargo, "data.trend.embargo") if trend.embargo else horizon
    source = UserPrices(trend.prices, "data.trend.prices") if trend.prices else None
    if source is not None and trend.assets == ["all"]:
        source.assets()  # refuses a one-asset spec before any post is read
    elif source is not None:
        source.check_assets(trend.assets)
    posts, files, dropped = load_trend_posts(trend)
    band = Band(trend.threshold, trend.vol_multiple, trend.vol_window)
    frames, prices, no_prices = [], {}, {}
    for asset, group in posts.groupby("asset", sort=True):
        found = (load_prices(path := price_file(asset, trend.bars)), path) if source is None else source.bars(asset)
        if found is None:  # counted, never silently lost
            no_prices[asset] = int(len(group))
            continue
        prices[asset], path = found
        files.append(path)
        if trend.per_period:
            group = aggregate_by_period(group, trend.per_period)
        frames.append(label_posts(group, prices[asset], horizon, band))
    if no_prices:
        dropped["no_prices"] = no_prices
    if not frames:
        raise FintuneError(
            f"no asset with posts has bars in data.trend.prices '{trend.prices}' (posts per asset: {no_prices})"
        )
    fallbacks = source.fallbacks if source is not None else []
    frame = pd.concat(frames, ignore_index=True).sort_values(["timestamp", "id"], kind="stable")
    frame = frame.reset_index(drop=True)
    train, validation, test, stats = split_by_time(
        frame,
        _timestamp(trend.validation_start),
        _timestamp(trend.test_start),
        embargo,
        _timestamp(trend.test_end) if trend.test_end else None,
    )
    train, validation, test = limit_samples(train, validation, test, cfg, stats)
    stats["horizon"] = str(horizon)
    stats["n_posts"] = int(len(posts))
    if fallbacks:
        stats["prices_fallback"] = fallbacks
    if dropped:
        stats["filtered"] = dropped
    stats["n_examples"] = int(len(frame))  # fewer: posts without a full label window, or joined per period
    stats["label_counts"] = {
        name: part["label"].value_counts().to_dict()
        for name, part in (("train", train), ("validation", validation), ("test", test))
    }
    raw = posts[["timestamp", "asset", "text"]]
    return LabeledSplits("trend", list(TREND_LABELS), train, validation, test, files, stats, prices, raw)


def load_trend_posts(trend: TrendConfig) -> tuple[pd.DataFrame, list, dict[str, int]]:
    """(posts of the configured assets that pass the filters, files read, posts dropped per filter)."""

    if trend.posts == "reddit":
        posts = post_sources.load_reddit_posts(include_comments=trend.include_comments)
    elif trend.posts == "stocknet":
        posts = post_sources.load_stocknet_tweets(tickers=None if trend.assets == ["all"] else trend.assets)
    elif trend.posts == "crypto-news":
        posts = post_sources.load_crypto_news()
    else:
        posts = post_sources.load_posts_file(trend.posts)
    files = list(posts.attrs.get("files", []))
    if trend.assets != ["all"]:  # all: every asset with bars (the caller counts the posts of those without)
        posts = posts[posts["asset"].isin(trend.assets)]
    if posts.empty:
        raise FintuneError(f"no posts for data.trend.assets {trend.assets} in data.trend.posts '{trend.posts}'")
    posts, dropped = filter_posts(posts, trend)
    return posts, files, dropped


def _timedelta(value: str, key: str) -> pd.Timedelta:
    try:
        return pd.Timedelta(value)
    except ValueError:
        raise FintuneError(f"bad value for '{key}': '{value}' is not a duration like 1h, 4h or 1D") from None


def _timestamp(value: datetime.date) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize("UTC")  # a day starts at 00:00 UTC
