"""Signal labels: the price-reaction labeller on a series with one jump, human labels, and the time split."""

import numpy as np
import pandas as pd
import pytest

from fintune.config import SignalConfig
from fintune.data.signal import human_labels, reaction_labels
from fintune.errors import FintuneError


def _series_with_one_jump(tmp_path, days: int = 60, jump_day: int = 40):
    """Daily bars alternating +-0.1 % open to open, and one +10 % open on `jump_day`."""
    dates = pd.date_range("2022-01-01", periods=days, freq="D")
    moves = np.where(np.arange(days) % 2, 1.001, 1 / 1.001)
    moves[jump_day] = 1.10
    opens = 100 * np.cumprod(moves)
    close = np.r_[opens[1:], opens[-1]]  # each day closes where the next opens
    frame = pd.DataFrame(
        {
            "Date": dates.strftime("%Y-%m-%d"),
            "Open": opens,
            "High": np.maximum(opens, close) * 1.0001,
            "Low": np.minimum(opens, close) * 0.9999,
            "Close": close,
            "Volume": 1.0,
        }
    )
    frame.to_csv(tmp_path / "bars.csv", index=False)
    return tmp_path / "bars.csv", dates


def test_reaction_labels_exactly_the_articles_before_the_jump(tmp_path):
    path, dates = _series_with_one_jump(tmp_path)
    news = pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(len(dates) - 2)],
            "timestamp": (dates[:-2] + pd.Timedelta(hours=12)).tz_localize("UTC"),
            "text": "news",
        }
    )
    spec = SignalConfig(label="reaction", prices=str(path), vol_multiple=1.5, vol_window=20)
    labelled, _, fallback = reaction_labels(news, spec)
    assert fallback is None  # a price file, not a live source
    signals = labelled.loc[labelled["label"] == "signal", "timestamp"]
    # Published on day 38 at noon -> enters at day 39's open -> exits at day 40's open, which jumped.
    assert list(signals.dt.strftime("%Y-%m-%d")) == [dates[38].strftime("%Y-%m-%d")]
    assert labelled.loc[labelled["label"] == "signal", "direction"].tolist() == ["up"]
    # The first 20 days have no volatility history yet, so they get no label at all.
    assert labelled["timestamp"].min() > news["timestamp"].iloc[19]


def test_human_labels_must_be_a_zero_one_column():
    news = pd.DataFrame(
        {"id": ["a", "b"], "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02"], utc=True), "text": ["x", "y"]}
    )
    labelled = human_labels(news.assign(flag=[0, 1]), "flag", "file.csv")
    assert list(labelled["label"]) == ["none", "signal"]
    with pytest.raises(FintuneError, match="has no column 'nope'"):
        human_labels(news.assign(flag=[0, 1]), "nope", "file.csv")
    with pytest.raises(FintuneError, match="article b: 'flag' is not 0 or 1"):
        human_labels(news.assign(flag=[0, 2]), "flag", "file.csv")
