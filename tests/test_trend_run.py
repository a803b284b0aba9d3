"""`fintune run` on a trend source end to end: tiny posts and prices written here, the tiny BERT, a backtest."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import yahoo_bars

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/trend/reddit_btc_1d.yaml"
WORDS = ["profit rose", "sales fell", "shares were unchanged", "the company said"]


def _write_market(folder: Path, days: int = 60) -> tuple[Path, Path]:
    dates = pd.date_range("2022-03-01", periods=days, freq="D")
    prices = yahoo_bars(dates)
    times = dates[:-2].repeat(4) + pd.to_timedelta(np.tile([1, 7, 13, 19], days - 2), unit="h")
    posts = pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": [WORDS[i % len(WORDS)] for i in range(len(times))],
            "asset": "BTC",
        }
    )
    prices.to_csv(folder / "prices.csv", index=False)
    posts.to_csv(folder / "posts.csv", index=False)
    return folder / "posts.csv", folder / "prices.csv"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "fintune", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def _overrides(tiny_model_dir, tmp_path, posts, prices):
    return [
        f"model.path={tiny_model_dir}",
        f"output_dir={tmp_path / 'runs'}",
        "name=trend",
        f"data.trend.posts={posts}",
        f"data.trend.prices={prices}",
        "data.trend.validation_start=2022-04-01",
        "data.trend.test_start=2022-04-11",
        "data.max_length=16",
        "train.epochs=1",
        "train.batch_size=16",
        "adapter.r=4",
        "adapter.alpha=8",
    ]


def test_trend_run_writes_baselines_backtest_and_dated_predictions(tiny_model_dir, tmp_path):
    posts, prices = _write_market(tmp_path)
    res = _run("run", CONFIG, *_overrides(tiny_model_dir, tmp_path, posts, prices))
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "runs" / "trend"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"majority", "momentum", "random", "tfidf_lr"}
    assert metrics["test"]["labels"] == ["down", "flat", "up"] and "ci95" in metrics["test"]
    data = metrics["data"]
    assert data["periods"]["train"] < data["periods"]["validation"] < data["periods"]["test"]
    backtest = metrics["backtest"]
    for name in ("strategy", "buy_and_hold"):
        assert {"total_return", "annual_return", "sharpe", "max_drawdown", "hit_rate"} <= set(backtest[name])
    # Buy-and-hold over the test periods is the market's open-to-open moves, whatever the model does; the one
    # entry cost comes out of the first period.
    predictions = pd.read_csv(run / "predictions.csv")
    opens = pd.read_csv(prices, index_col="Date", parse_dates=True)["Open"].to_numpy()
    first = (pd.to_datetime(predictions["entry_time"]).min().tz_localize(None) - pd.Timestamp("2022-03-01")).days
    moves = opens[first + 1 : first + 1 + backtest["periods"]] / opens[first : first + backtest["periods"]] - 1
    moves[0] -= backtest["cost_bps"] / 1e4
    assert backtest["buy_and_hold"]["total_return"] == pytest.approx(np.prod(1 + moves) - 1, rel=1e-9)
    assert {"timestamp", "asset", "entry_time", "forward_return", "pred_label"} <= set(predictions.columns)
    assert (pd.to_datetime(predictions["timestamp"]) >= pd.Timestamp("2022-04-11", tz="UTC")).all()
    assert (run / "plots" / "equity.png").is_file()

    # `fintune backtest` trades the same predictions again: free of costs the strategy can only do better.
    again = _run("backtest", "--run", run, "--cost-bps", "0")
    assert again.returncode == 0, again.stderr[-2000:]
    free = json.loads((run / "metrics.json").read_text())["backtests"]["0 bps"]
    assert free["strategy"]["total_return"] >= backtest["strategy"]["total_return"]
    assert free["periods"] == backtest["periods"] and (run / "plots" / "equity_0bps.png").is_file()


def test_split_dates_outside_the_data_exit_2(tiny_model_dir, tmp_path):
    posts, prices = _write_market(tmp_path)
    args = _overrides(tiny_model_dir, tmp_path, posts, prices) + ["data.trend.test_start=2023-01-01"]
    res = _run("run", CONFIG, *args)
    assert res.returncode == 2 and "the test period has no examples" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
