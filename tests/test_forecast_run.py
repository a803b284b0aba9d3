"""`fintune run` on price windows end to end: a tiny Qwen2, prices written here, naive and LSTM baselines."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/forecast/tw_2330_windows.yaml"


def write_bars(path: Path, days: int = 160) -> Path:
    """Business-day OHLCV with a random walk close (seed 0), 2019-01-01 on."""
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2019-01-01", periods=days)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
    opens = np.r_[100.0, close[:-1]]
    pd.DataFrame(
        {
            "Date": dates.strftime("%Y-%m-%d"),
            "Open": opens,
            "High": np.maximum(opens, close) * 1.005,
            "Low": np.minimum(opens, close) * 0.995,
            "Close": close,
            "Volume": rng.integers(1_000, 5_000, days),
        }
    ).to_csv(path, index=False)
    return path


def _run(*args):
    return subprocess.run([sys.executable, "-m", "fintune", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_forecast_run_scores_the_llm_beside_naive_and_lstm_and_draws_klines(tiny_causal_dir, tmp_path):
    prices = write_bars(tmp_path / "bars.csv")
    news = tmp_path / "news.csv"
    pd.DataFrame(
        {
            "timestamp": ["2019-05-06T08:00:00Z", "2019-06-03T08:00:00Z"],
            "text": ["profit rose", "sales fell"],
            "asset": "TEST",
        }
    ).to_csv(news, index=False)
    res = _run(
        "run",
        CONFIG,
        f"model.path={tiny_causal_dir('qwen2')}",
        f"output_dir={tmp_path / 'runs'}",
        "name=fc",
        f"data.windows.prices={prices}",
        "data.windows.tickers=[TEST]",
        "data.windows.pairs=[[3, 2], [5, 3]]",
        "data.windows.fields=close",
        f"data.windows.news={news}",
        "data.windows.stride=2",
        "data.windows.validation_start=2019-04-01",
        "data.windows.test_start=2019-05-01",
        "data.max_length=256",
        "train.epochs=1",
        "train.batch_size=8",
        "adapter.r=4",
        "adapter.alpha=8",
        "data.max_eval_samples=1000",  # above the window count, so it keeps them all; the run is still a subset run
    )
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "runs" / "fc"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["subset"].startswith("a subset run (data.max_train_samples / max_eval_samples)")
    assert "fc: test close forecasts (a subset run" in res.stdout
    report = (run / "report.html").read_text()
    assert "<title>fc</title>" in report and "<h1>fc</h1>" in report and "<b>a subset run" in report
    assert set(metrics["baselines"]) == {"naive_last", "naive_drift", "lstm"}
    for block in [metrics["test"], *metrics["baselines"].values()]:
        assert {"mae", "rmse", "mape", "directional_accuracy", "n"} <= set(block)
        assert set(block["by_window"]) == {"all", "3->2", "5->3"}
    lstm, naive = metrics["baselines"]["lstm"], metrics["baselines"]["naive_last"]
    assert lstm["n"] == naive["n"] > 0 and naive["directional_accuracy"] is None and lstm["mae"] > 0
    assert naive["mase"] > 0 and lstm["mase"] / naive["mase"] == pytest.approx(lstm["mae"] / naive["mae"], rel=1e-4)
    test = metrics["test"]
    assert test["days_expected"] == naive["n"] and test["parsed_share"] == round(test["n"] / naive["n"], 6)
    predictions = pd.read_csv(run / "predictions.csv")
    assert len(predictions) == naive["n"] and {"pred_close_model", "pred_close_lstm"} <= set(predictions.columns)
    assert (pd.to_datetime(predictions["date"]) >= pd.Timestamp("2019-05-01", tz="UTC")).all()
    assert len(list((run / "plots").glob("kline_TEST_*.png"))) == 4 and (run / "adapter").is_dir()
    # the verdict line says what the parsed count allows: a comparison with naive_last, or that none parsed
    assert ("naive_last on close MAE" in res.stdout) == (test["n"] > 0) != ("no parseable forecast" in res.stdout)
    assert str(news) in metrics["meta"]["data_sha256"]

    # `fintune forecast` asks the same model about one window and draws it
    chart = tmp_path / "k.png"
    args = ["forecast", "--run", run, "--ticker", "TEST", "--past", "3", "--future", "2"]
    res = _run(*args, "--date", "2019-06-03", "--plot", chart)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "2019-06-04" in res.stdout and "2019-06-05" in res.stdout and chart.stat().st_size > 5_000
    res = _run(*args, "--date", "2019-06-01")  # a Saturday
    assert res.returncode == 2 and "did not trade on 2019-06-01" in res.stderr
