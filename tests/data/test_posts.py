"""Posts from files: timestamps in UTC from ISO or epoch seconds, assets, cashtags, errors naming the row."""

import pandas as pd
import pytest

from fintune.data.posts import cashtags, load_posts_file, load_reddit_posts
from fintune.errors import FintuneError
from tests.conftest import needs_data


def test_iso_and_epoch_timestamps_become_utc(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "timestamp,text,asset\n2022-05-01T10:00:00+02:00,later,BTC\n1651392000,epoch,ETH\n2022-05-01 07:00,naive,BTC\n"
    )
    posts = load_posts_file(path)
    assert list(posts["text"]) == ["naive", "later", "epoch"]  # by time, then id
    assert posts.loc[posts["text"] == "later", "timestamp"].iloc[0] == pd.Timestamp("2022-05-01 08:00", tz="UTC")
    assert posts.loc[posts["text"] == "epoch", "timestamp"].iloc[0] == pd.Timestamp("2022-05-01 08:00", tz="UTC")
    assert posts.loc[posts["text"] == "naive", "timestamp"].iloc[0] == pd.Timestamp("2022-05-01 07:00", tz="UTC")
    assert posts.attrs["files"] == [path]


def test_bad_timestamp_and_missing_column_name_the_problem(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("timestamp,text,asset\n2022-05-01,ok,BTC\nsoon,bad,BTC\n")
    with pytest.raises(FintuneError, match=r"row 3: cannot read timestamp 'soon'"):
        load_posts_file(path)
    path.write_text("time,text\n2022-05-01,ok\n")
    with pytest.raises(FintuneError, match="has no column 'timestamp'"):
        load_posts_file(path)


def test_cashtags_are_tickers_not_amounts():
    assert cashtags("$AAPL up, $BRK.B flat, costs $5 and $tsla") == ["AAPL", "BRK.B"]


@needs_data
def test_reddit_posts_are_routed_by_subreddit():
    posts = load_reddit_posts()
    assert set(posts["asset"]) == {"BTC", "ETH", "DOGE"}
    assert str(posts["timestamp"].dt.tz) == "UTC" and posts["timestamp"].is_monotonic_increasing
    assert not posts["source"].str.contains("CryptoCurrencies").any()


def test_posts_without_an_asset_column_are_routed_by_their_cashtags(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text(
        "timestamp,text\n"
        "2020-01-02T10:00:00Z,$AAPL and $MSFT both up\n"
        "2020-01-02T11:00:00Z,no ticker here\n"
        "2020-01-02T12:00:00Z,$AAPL again $AAPL\n",
        encoding="utf-8",
    )
    posts = load_posts_file(path)
    assert sorted(zip(posts["id"], posts["asset"])) == [("0:AAPL", "AAPL"), ("0:MSFT", "MSFT"), ("2:AAPL", "AAPL")]
    assert str(posts["timestamp"].dt.tz) == "UTC"
