"""Forecasts from a finished forecasting run: one ticker, one window, rows parsed back, optionally drawn.

forecaster = Forecaster.load("runs/tw-2330-windows")
result = forecaster.forecast("2330.TW", past=5, future=5, last_day="2019-06-28")
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from fintune.config import validate_config
from fintune.data.prices import load_prices, price_file
from fintune.data.prompts import PromptTemplate, encode_answer
from fintune.data.user_prices import UserPrices
from fintune.data.window_prompts import format_rows, user_message
from fintune.data.windows import FIELD_SETS, load_news, trading_days, window_news
from fintune.errors import FintuneError
from fintune.inference.forecast_parse import ParsedForecast, parse_forecast
from fintune.inference.generation import generate_answers
from fintune.inference.run_files import check_finished_run
from fintune.models.artifacts import load_trained
from fintune.progress import phase


@dataclass
class Forecast:
    ticker: str
    past: pd.DataFrame
    future_dates: list[pd.Timestamp]
    text: str
    parsed: ParsedForecast
    actual: pd.DataFrame | None
    """The real bars of the predicted days, when the data has them."""


class Forecaster:
    def __init__(self, run_dir: Path, cfg, tokenizer=None, model=None):
        """Without `model`, the run's weights load on the first forecast (see `load(lazy=True)`)."""
        self.run_dir, self.cfg, self.tokenizer, self.model = run_dir, cfg, tokenizer, model
        self.fields = FIELD_SETS[cfg.data.windows.fields]
        self.chat = PromptTemplate.from_config(cfg.prompt, tokenizer).chat if tokenizer is not None else None

    @classmethod
    def load(cls, run_dir: str | Path, lazy: bool = False) -> Forecaster:
        """`lazy`: read and check the run now, load its weights only when a forecast needs them, so a bad ticker
        or date is refused in a second, before the model (the server loads it at once: lazy=False)."""
        run_dir = Path(run_dir)
        check_finished_run(run_dir)
        cfg = validate_config(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")), str(run_dir))
        if cfg.task != "forecast":
            raise FintuneError(f"'{run_dir}' is not a forecasting run (its task is '{cfg.task}')")
        forecaster = cls(run_dir, cfg)
        if not lazy:
            forecaster._load_weights()
        return forecaster

    def _load_weights(self) -> None:
        if self.model is None:
            self.tokenizer, self.model = load_trained(self.run_dir, self.cfg, [], "causal")
            self.chat = PromptTemplate.from_config(self.cfg.prompt, self.tokenizer).chat

    def bars(self, ticker: str) -> pd.DataFrame:
        """The run's own prices where they have `ticker` (a one-asset spec only for the ticker it named), else the
        shared daily file."""
        spec = self.cfg.data.windows
        if spec.prices:
            source = UserPrices(spec.prices, "data.windows.prices")
            found = None if source.one_asset and ticker not in spec.tickers else source.bars(ticker)
            if found is not None:
                return trading_days(found[0])
        return trading_days(load_prices(price_file(ticker, "1d")))

    def forecast(
        self, ticker: str, past: int, future: int, last_day: str | None = None, announce: bool = False
    ) -> Forecast:
        """Forecast the `future` trading days after `last_day` (default: the last day of the data) from the
        `past` days up to it. Beyond the data, future dates are business days (holidays are not known here).
        `announce`: say on stderr that the model is loading and answering (seconds to a minute on a CPU)."""

        bars = self.bars(ticker)
        end = len(bars) if last_day is None else self._position(bars, ticker, last_day) + 1
        if end < past:
            raise FintuneError(f"{ticker}: only {end} trading days up to {last_day}; --past {past} needs more")
        history = bars.iloc[end - past : end]
        actual = bars.iloc[end : end + future]
        dates = list(actual.index)
        if len(dates) < future:  # past the end of the data
            extra = pd.bdate_range(history.index[-1] + pd.Timedelta(days=1), periods=future - len(dates), tz="UTC")
            dates += list(extra)
        spec = self.cfg.data.windows
        news = window_news(load_news(spec.news, [ticker]), ticker, history, spec.max_headlines) if spec.news else None
        prompt = user_message(ticker, history, dates, self.fields, news)
        with phase(f"forecasting {ticker} with {self.run_dir}") if announce else contextlib.nullcontext():
            self._load_weights()
            budget = len(encode_answer(self.tokenizer, format_rows(history.tail(future), self.fields)))
            text = generate_answers(
                self.model,
                self.tokenizer,
                [prompt],
                int(budget * 1.25) + 8,
                1,
                self.cfg.data.max_length,
                self.chat,
            )[0]
        parsed = parse_forecast(text, dates, self.fields)
        return Forecast(ticker, history, dates, text, parsed, actual if len(actual) else None)

    @staticmethod
    def _position(bars: pd.DataFrame, ticker: str, day: str) -> int:
        try:
            stamp = pd.Timestamp(day, tz="UTC")
        except ValueError:
            raise FintuneError(f"--date '{day}' is not a date like 2019-06-28") from None
        if stamp not in bars.index:
            raise FintuneError(f"{ticker} did not trade on {day} (or the data does not cover it)")
        return int(bars.index.get_loc(stamp))
