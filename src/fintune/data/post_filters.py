"""Which posts a trend run reads: subreddit, minimum score, length and language filters.

Each filter is off unless configured, and every post it drops is counted in metrics.json (`data.filtered`),
so a reader sees how much of the raw stream the numbers rest on.
"""

from __future__ import annotations

import re

import pandas as pd
from langdetect import DetectorFactory, LangDetectException, detect

from fintune.config import TrendConfig
from fintune.errors import FintuneError

# Below this many letters a language guess is noise ("lol", "$BTC!!"): such posts are kept, not guessed at.
MIN_LETTERS_FOR_LANGUAGE = 20
_NOT_WORDS = re.compile(r"https?://\S+|[$#@]\w+|\d+")


def filter_posts(posts: pd.DataFrame, trend: TrendConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the posts that pass every configured filter, posts dropped per filter in the order applied)."""
    dropped: dict[str, int] = {}

    def apply(name: str, keep: pd.Series) -> None:
        nonlocal posts
        dropped[name] = int((~keep).sum())
        posts = posts[keep]

    if trend.subreddits:
        wanted = {f"reddit:r/{name}".lower() for name in trend.subreddits}
        apply("subreddits", posts["source"].str.lower().isin(wanted))
    if trend.min_score is not None:
        if posts["score"].isna().all():
            raise FintuneError(f"data.trend.min_score: posts of '{trend.posts}' have no score")
        apply("min_score", posts["score"] >= trend.min_score)
    if trend.min_chars is not None:
        apply("min_chars", posts["text"].str.len() >= trend.min_chars)
    if trend.max_chars is not None:
        apply("max_chars", posts["text"].str.len() <= trend.max_chars)
    if trend.language:
        apply("language", _in_language(posts["text"], trend.language))
    if posts.empty:
        raise FintuneError(f"data.trend filters dropped every post ({dropped}); loosen them")
    return posts.reset_index(drop=True), dropped


def _in_language(texts: pd.Series, language: str) -> pd.Series:
    """True where a post reads as `language` (langdetect, seeded so runs repeat) or is too short to tell."""

    DetectorFactory.seed = 0  # langdetect samples n-grams at random; a fixed seed makes the filter repeatable

    def keep(text: str) -> bool:
        words = _NOT_WORDS.sub(" ", text)
        if sum(ch.isalpha() for ch in words) < MIN_LETTERS_FOR_LANGUAGE:
            return True
        try:
            return detect(words) == language
        except LangDetectException:
            return True

    return texts.map(keep).astype(bool)
