"""The K-line chart, checked by opening the PNG: one candle body per past and per parsed predicted day."""

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd

from fintune.report.kline import PAST_DOWN, PAST_UP, PREDICTED_DOWN, PREDICTED_UP, kline_chart


def _candle_columns(png: Path, colours: list[str]) -> int:
    """Runs of image columns holding a body colour: one per candle, as bodies are separated by gaps
    (a gap of a few pixels is the black wick drawn across a body, and does not split it)."""
    image = mpimg.imread(png)[:, :, :3]
    wanted = np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours])
    hit = (np.abs(image[:, :, None, :] - wanted[None, None]).max(axis=3) < 0.2).any(
        axis=2
    )  # bodies are drawn slightly translucent
    columns = np.flatnonzero(hit.sum(axis=0) >= 3)  # a few pixels tall at least: not antialiasing of a line
    return int(len(columns) > 0) + int(np.sum(np.diff(columns) > 4))


def _bars(days: int) -> pd.DataFrame:
    dates = pd.bdate_range("2019-01-01", periods=days, tz="UTC")
    opens = 100 + np.arange(days, dtype=float)
    close = opens + np.where(np.arange(days) % 2, 2.0, -2.0)
    high, low = np.maximum(opens, close) + 1, np.minimum(opens, close) - 1
    return pd.DataFrame({"open": opens, "high": high, "low": low, "close": close}, index=dates)


def test_png_has_a_candle_per_past_day_and_per_parsed_predicted_day(tmp_path):
    bars = _bars(9)
    past, future = bars.iloc[:5], bars.iloc[5:]
    predicted = future.iloc[:3].copy()
    predicted.index = predicted.index.tz_localize(None)  # the parser's dates
    png = kline_chart(past, list(future.index), predicted, future, tmp_path / "k.png", "TEST 5->4")
    assert png.stat().st_size > 5_000
    assert _candle_columns(png, [PAST_UP, PAST_DOWN]) == 5
    assert _candle_columns(png, [PREDICTED_UP, PREDICTED_DOWN]) == 3  # the fourth day was not parsed: no candle
