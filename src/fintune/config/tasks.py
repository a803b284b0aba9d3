"""The job a run does (`task:`) and the config sections only some jobs have.

Each task reads one kind of data: `trend` posts aligned with later prices (`data.trend`), `forecast` price windows
(`data.windows`), `signal` dated news (`data.signal`); `classify` any labelled texts. The sections live here, below
the data loaders that read them, rather than beside their recipes in recipes/, because config is the bottom layer
(pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from fintune.config.section import Section

Task = Literal["classify", "trend", "forecast", "signal"]
TASK_SOURCES = {"trend": ("trend", "stocknet-acl18"), "forecast": ("windows",), "signal": ("signal",)}
"""The data.source values each task other than classify reads (classify reads any other source)."""
TASK_SECTIONS = {"trend": "trend", "windows": "windows", "signal": "signal"}
"""data.source -> the data.<section> holding its settings, filled with defaults when absent."""


TASK_INSTRUCTIONS = {
    "trend": "How will the price of the asset this post is about move next? "
    "Please choose an answer from {{{choices}}}.",
    "signal": "Is this news an investment signal: significant news whose effect on prices lasts beyond the day? "
    "Please choose an answer from {{{choices}}}.",
}
"""A causal LM's question when the config gives no `prompt.instruction` (the default asks for news sentiment)."""


def infer_task(source: object) -> str:
    """The task of a config written before `task:` existed, from its data.source (the only place this is guessed)."""
    for task, sources in TASK_SOURCES.items():
        if source in sources:
            return task
    return "classify"


def task_note(source: object) -> str:
    task = infer_task(source)
    return f"config has no `task:`; inferred `task: {task}` from data.source (name it: it will be required)"


class TrendConfig(Section):
    """Posts -> later price move (`task: trend`, `data.source: trend`): which posts, which prices, how labels and
    splits are made."""

    posts: str = "reddit"
    """reddit | stocknet | crypto-news, or a CSV/JSONL path with timestamp, text and asset columns."""
    assets: list[str] = ["BTC"]
    """Keep posts routed to these assets (reddit: by subreddit; stocknet: ticker; files: the asset column);
    `all`: every asset that has both posts and bars in `prices` (a folder, long file or pattern)."""
    bars: Literal["1d", "5min"] = "1d"
    """Price bars the labels are measured on: the shared daily files or the reddit set's 5-minute files."""
    prices: str | None = None
    """Your own OHLCV bars instead of the shared files: a folder of <ASSET>.csv files, one long CSV with an asset
    (or ticker) column, a pattern such as `prices/{asset}.csv`, one asset's CSV (then `assets` names one), or a
    live daily source: `yfinance:BTC-USD`, `twstock:2330` (pip install 'fintune[live]'; cached under FINTUNE_HOME).
    Posts of an asset without bars are counted in metrics.json (`data.filtered.no_prices`)."""
    horizon: str = "1D"
    """Label window: from the first bar opening after the post to the first bar opening this much later."""
    per_period: str | None = None
    """Join all posts of each period (e.g. 1D) into one example, labelled by the move after the period."""
    threshold: float | None = Field(0.005, ge=0)
    """Neutral band half-width: |return| <= threshold is 'flat'."""
    vol_multiple: float | None = Field(None, gt=0)
    """Instead of a fixed threshold: this many standard deviations of recent horizon returns."""
    vol_window: int = Field(20, ge=2)
    """How many earlier horizon returns the volatility of `vol_multiple` is measured over."""
    validation_start: datetime.date = datetime.date(2022, 5, 12)
    """First day (UTC) of the validation period; earlier posts train."""
    test_start: datetime.date = datetime.date(2022, 5, 19)
    """First day (UTC) of the test period; it ends at test_end."""
    test_end: datetime.date | None = None
    """First day after the test period (default: the end of the data)."""
    embargo: str | None = None
    """Gap before each split boundary; default the horizon. Label windows crossing a boundary are purged."""
    subreddits: list[str] | None = None
    """Reddit: keep only these subreddits (names without r/), e.g. [Bitcoin]."""
    min_score: int | None = None
    """Drop posts scored below this (Reddit votes, or a posts file's `score` column)."""
    min_chars: int | None = Field(None, ge=0)
    """Drop posts shorter than this many characters."""
    max_chars: int | None = Field(None, ge=1)
    """Drop posts longer than this many characters."""
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]{2})?$")
    """Keep posts detected as this language (ISO 639-1, e.g. en); posts under 20 letters are kept unguessed."""
    include_comments: bool = False
    """Reddit: also use the comments under each post as posts of their own (dated by their own time)."""

    @model_validator(mode="after")
    def _check_band(self) -> TrendConfig:
        if self.threshold is None and self.vol_multiple is None:
            raise ValueError("set data.trend.threshold or data.trend.vol_multiple")
        if self.assets == ["all"] and not self.prices:
            raise ValueError(
                "data.trend.assets: all takes its assets from data.trend.prices (a folder, long file or pattern), "
                "which is not set"
            )
        return self

    @field_validator("assets", mode="before")
    @classmethod
    def _all_assets(cls, value):
        return ["all"] if value == "all" else value


class WindowsConfig(Section):
    """Past N days of OHLCV -> the next M days (`task: forecast`, `data.source: windows`), split by time in whole
    windows."""

    tickers: list[str] = ["2330.TW"]
    """Shared daily files: Taiwan (2330.TW ...), StockNet's US tickers, DJIA, BTC-USD / ETH-USD."""
    prices: str | None = None
    """Your own daily OHLCV bars instead of the shared files, in any layout of data.trend.prices (a folder of
    <TICKER>.csv, a long CSV with a ticker column, a pattern, one ticker's CSV, `yfinance:2330.TW`); every listed
    ticker needs bars there."""
    pairs: list[tuple[int, int]] = [(5, 5)]
    """(past, future) day counts, mixed in one training set, e.g. [[1, 1], [5, 5], [20, 5], [60, 20]]."""
    fields: Literal["ohlcv", "ohlc", "close"] = "ohlcv"
    """Which columns of each day the prompt shows and the answer writes."""
    stride: int = Field(1, ge=1)
    """Days between consecutive windows' starts (training and evaluation)."""
    validation_start: datetime.date = datetime.date(2018, 1, 1)
    """First day of the validation period: windows whose days all come earlier train."""
    test_start: datetime.date = datetime.date(2019, 1, 1)
    """First day of the test period; windows straddling a boundary are dropped."""
    test_end: datetime.date | None = None
    """First day after the test period (default: the end of the data)."""
    news: str | None = None
    """Headlines for the prompt: `stocknet` tweets, or a CSV/JSONL with timestamp, text and asset (= ticker)."""
    max_headlines: int = Field(10, ge=1)
    """The most recent this many headlines of the window's days (none published after its last past day)."""

    @model_validator(mode="after")
    def _check(self) -> WindowsConfig:
        if not self.validation_start < self.test_start:
            raise ValueError("data.windows.validation_start must come before data.windows.test_start")
        return self


class SignalConfig(Section):
    """Dated news -> 'signal' or 'none' (`task: signal`, `data.source: signal`), split by publication time."""

    news: str = "gold-headlines"
    """gold-headlines | crypto-news | reuters, or a CSV/JSONL with timestamp and text (and human label columns)."""
    label: str = "human:future_information"
    """human:<column> (a 0/1 column of the data) | reaction (the asset's move after publication) |
    teacher:<run dir> (a finished run labels the articles)."""
    asset: str = "BTC"
    """reaction: whose price reacts (shared daily files, or data.signal.prices)."""
    prices: str | None = None
    """reaction: a CSV of daily OHLCV bars, or a live source (see data.trend.prices), instead of the shared files."""
    horizon: str = "1D"
    """reaction: how long after publication the move is measured."""
    vol_multiple: float = Field(2.0, gt=0)
    """reaction: a signal moves more than this many standard deviations of recent returns over the horizon."""
    vol_window: int = Field(20, ge=2)
    """reaction: how many earlier horizon returns the volatility is measured over."""
    teacher_signal_labels: list[str] = ["signal"]
    """teacher: which of the teacher run's labels count as a signal (e.g. [negative, positive])."""
    validation_start: datetime.date = datetime.date(2016, 1, 1)
    """First publication day of the validation period; earlier articles train."""
    test_start: datetime.date = datetime.date(2017, 1, 1)
    """First publication day of the test period."""
    test_end: datetime.date | None = None
    """First day after the test period (default: the end of the data)."""

    @model_validator(mode="after")
    def _check(self) -> SignalConfig:
        kind = self.label.split(":", 1)[0]
        if kind not in ("human", "reaction", "teacher") or (kind != "reaction" and ":" not in self.label):
            raise ValueError("data.signal.label must be human:<column>, reaction or teacher:<run dir>")
        return self
