"""Timestamped text routed to assets: Reddit posts and comments, StockNet tweets, crypto news, any file.

Every loader returns columns `id, timestamp, asset, text, source, score`, sorted by time. `timestamp` is
when the text became public (UTC); alignment only ever uses prices of bars that open strictly after it.
`frame.attrs["files"]` lists the files read, for the run's fingerprints.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from fintune.data.locate import locate
from fintune.data.tables import read_table, require_columns
from fintune.errors import FintuneError

COLUMNS = ["id", "timestamp", "asset", "text", "source", "score"]

# Subreddits about one coin. General ones (CryptoCurrencies, CryptoMarkets, binance, CoinBase,
# CryptoTechnology) mix every coin, so they are not routed: a post about ETH must not label BTC.
SUBREDDIT_ASSET = {
    "Bitcoin": "BTC",
    "btc": "BTC",
    "BitcoinBeginners": "BTC",
    "ethereum": "ETH",
    "dogecoin": "DOGE",
}
REDDIT = "reddit_crypto_subreddits_2022"
_REMOVED = {"[removed]", "[deleted]", ""}


def load_reddit_posts(
    include_comments: bool = False, min_score: int | None = None, routes: dict[str, str] = SUBREDDIT_ASSET
) -> pd.DataFrame:
    """Posts (title + body; removed bodies keep the title) and optionally comments, routed by subreddit.

    Stickied posts are moderator boilerplate (daily threads, rules) and are dropped.
    """
    path = locate("reddit-crypto-2022", REDDIT, "posts.csv.gz")
    cols = ["post_id", "subreddit", "created_utc", "score", "title", "selftext", "stickied"]
    raw = pd.read_csv(path, usecols=cols, dtype={"post_id": str, "title": str, "selftext": str, "stickied": str})
    raw = raw[raw["stickied"].str.lower() != "true"]
    body = raw["selftext"].fillna("").str.strip()
    text = raw["title"].fillna("").str.strip() + ("\n" + body).where(~body.isin(_REMOVED), "")
    frames = [_frame(raw["post_id"], raw["created_utc"], raw["subreddit"], text, raw["score"], routes)]
    files = [path]
    if include_comments:
        cpath = locate("reddit-crypto-2022", REDDIT, "comments.csv.gz")
        c = pd.read_csv(cpath, usecols=["comment_id", "subreddit", "created_utc", "score", "body"], dtype=str)
        c = c[~c["body"].fillna("").str.strip().isin(_REMOVED)]
        frames.append(_frame(c["comment_id"], c["created_utc"], c["subreddit"], c["body"], c["score"], routes))
        files.append(cpath)
    out = pd.concat(frames, ignore_index=True)
    if min_score is not None:
        out = out[out["score"] >= min_score]
    return _finish(out, files)


def _frame(ids, created_utc, subreddit, text, score, routes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": ids.astype(str).to_numpy(),
            "timestamp": pd.to_datetime(pd.to_numeric(created_utc), unit="s", utc=True).to_numpy(),
            "asset": subreddit.map(routes).to_numpy(),
            "text": text.to_numpy(),
            "source": ("reddit:r/" + subreddit).to_numpy(),
            "score": pd.to_numeric(score, errors="coerce").to_numpy(),
        }
    )
    return frame[frame["asset"].notna()]


def load_stocknet_tweets(tickers: list[str] | None = None, drop_retweets: bool = False) -> pd.DataFrame:
    """StockNet (ACL18) tweets; asset = the ticker the tweet was collected for."""
    path = locate("stocknet", "stocknet", "tweets_raw_extracted.csv.gz")
    raw = pd.read_csv(path, usecols=["ticker", "tweet_id", "created_at", "text", "is_retweet"], dtype=str)
    if tickers:
        raw = raw[raw["ticker"].isin(tickers)]
    if drop_retweets:
        raw = raw[raw["is_retweet"].str.lower() != "true"]
    out = pd.DataFrame(
        {
            "id": raw["ticker"] + ":" + raw["tweet_id"],
            "timestamp": pd.to_datetime(raw["created_at"], format="%a %b %d %H:%M:%S %z %Y", utc=True),
            "asset": raw["ticker"],
            "text": raw["text"].fillna(""),
            "source": "stocknet",
            "score": float("nan"),
        }
    )
    return _finish(out, [path])


def load_crypto_news(asset: str = "BTC") -> pd.DataFrame:
    """Crypto news 2021-2022 (title + text). Its `datetime` has no zone; it is read as UTC."""
    path = locate("crypto-news", "crypto_news_2021_2022", "data.csv")
    raw = pd.read_csv(path, usecols=["datetime", "title", "text", "source"], dtype=str)
    out = pd.DataFrame(
        {
            "id": [f"news-{i}" for i in range(len(raw))],
            "timestamp": pd.to_datetime(raw["datetime"], utc=True),
            "asset": asset,
            "text": raw["title"].fillna("") + "\n" + raw["text"].fillna(""),
            "source": "crypto_news:" + raw["source"].fillna(""),
            "score": float("nan"),
        }
    )
    return _finish(out, [path])


def load_posts_file(path: str | Path, asset: str | None = None) -> pd.DataFrame:
    """Any CSV / JSONL with `timestamp` (ISO or epoch seconds; naive = UTC), `text` and `asset` (or `asset=`).

    Without an `asset` column a post is routed by its cashtags: `$AAPL and $MSFT` counts for both, a post
    without one for none.
    """
    path = Path(path)
    frame = read_table(path)
    require_columns(frame, path, {"timestamp": "timestamp", "text": "text"})
    stamps = frame["timestamp"].astype(str).str.strip()
    numeric = pd.to_numeric(stamps, errors="coerce")
    parsed = pd.to_datetime(numeric, unit="s", utc=True).where(numeric.notna())
    parsed = parsed.fillna(pd.to_datetime(stamps.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601"))
    bad = parsed.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise FintuneError(f"posts file '{path}', row {row + 2}: cannot read timestamp {stamps.iloc[row]!r}")
    ids = frame["id"].astype(str) if "id" in frame.columns else pd.Series([str(i) for i in range(len(frame))])
    frame = frame.assign(id=ids.to_numpy(), timestamp=parsed.to_numpy())
    if not asset and "asset" not in frame.columns:
        tags = frame["text"].astype(str).map(lambda t: sorted(set(cashtags(t))))
        frame = frame.assign(asset=tags).explode("asset").dropna(subset=["asset"]).reset_index(drop=True)
        frame["id"] = frame["id"] + ":" + frame["asset"]  # one post, several assets: ids stay unique
    out = pd.DataFrame(
        {
            "id": frame["id"],
            "timestamp": frame["timestamp"],
            "asset": asset if asset else frame["asset"].astype(str),
            "text": frame["text"].astype(str),
            "source": path.name,
            "score": pd.to_numeric(frame["score"], errors="coerce") if "score" in frame.columns else float("nan"),
        }
    )
    return _finish(out, [path])


CASHTAG = re.compile(r"(?<![\w$])\$([A-Z]{1,5}(?:\.[A-Z]{1,2})?)\b")


def cashtags(text: str) -> list[str]:
    """`$AAPL` and `$BRK.B` style tickers in a text; amounts such as `$5` are not tickers."""
    return CASHTAG.findall(text)


def _finish(frame: pd.DataFrame, files: list[Path]) -> pd.DataFrame:
    frame = frame[frame["text"].str.strip() != ""]
    frame = frame.sort_values(["timestamp", "id"], kind="stable").reset_index(drop=True)[COLUMNS]
    frame.attrs["files"] = list(files)
    return frame
