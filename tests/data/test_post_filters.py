"""Post filters: each drops what it names, counts it, and an over-strict set of filters is a clear error."""

import pandas as pd
import pytest

from fintune.config import TrendConfig
from fintune.data.post_filters import filter_posts
from fintune.errors import FintuneError

POSTS = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e"],
        "timestamp": pd.to_datetime(["2022-05-01"] * 5, utc=True),
        "asset": "BTC",
        "text": [
            "Bitcoin keeps falling and nobody on this forum seems to care anymore",
            "Le bitcoin va encore baisser demain matin selon les analystes du marché",
            "moon",
            "Long post " * 30,
            "Is now a good time to buy a little more bitcoin for the long run?",
        ],
        "source": ["reddit:r/Bitcoin", "reddit:r/Bitcoin", "reddit:r/btc", "reddit:r/btc", "reddit:r/BitcoinBeginners"],
        "score": [5, 1, 0, 12, 3],
    }
)


def _kept(**filters) -> tuple[list[str], dict]:
    kept, dropped = filter_posts(POSTS, TrendConfig(**filters))
    return list(kept["id"]), dropped


def test_no_filter_keeps_everything_and_reports_nothing():
    assert _kept() == (["a", "b", "c", "d", "e"], {})


def test_each_filter_drops_what_it_names():
    assert _kept(subreddits=["btc"]) == (["c", "d"], {"subreddits": 3})
    assert _kept(min_score=3) == (["a", "d", "e"], {"min_score": 2})
    assert _kept(min_chars=10, max_chars=200) == (["a", "b", "e"], {"min_chars": 1, "max_chars": 1})


def test_language_filter_drops_other_languages_but_keeps_posts_too_short_to_tell():
    kept, dropped = _kept(language="en")
    assert "b" not in kept and {"a", "c", "e"} <= set(kept) and dropped == {"language": len(POSTS) - len(kept)}


def test_filters_that_leave_nothing_and_scores_that_do_not_exist_are_errors():
    with pytest.raises(FintuneError, match="dropped every post"):
        filter_posts(POSTS, TrendConfig(min_score=100))
    with pytest.raises(FintuneError, match="have no score"):
        filter_posts(POSTS.assign(score=float("nan")), TrendConfig(min_score=1, posts="stocknet"))
