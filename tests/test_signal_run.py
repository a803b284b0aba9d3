"""`fintune run` on dated news with human signal labels: class weights, a cut chosen on validation, a PR curve."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_CSV

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/signal/gold_future_info.yaml"


def _news(tmp_path) -> Path:
    tiny = pd.read_csv(TINY_CSV)
    frame = pd.concat([tiny] * 3, ignore_index=True)
    frame["timestamp"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    frame["flag"] = (frame["label"] == "positive").astype(int)  # the rarer class here: a learnable 'signal'
    path = tmp_path / "news.csv"
    frame[["timestamp", "text", "flag"]].to_csv(path, index=False)
    return path


def test_signal_run_picks_its_cut_on_validation_and_reports_ranking_scores(tiny_model_dir, tmp_path):
    news = _news(tmp_path)
    n = len(pd.read_csv(news))
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "fintune",
            "run",
            str(CONFIG),
            f"model.path={tiny_model_dir}",
            f"output_dir={tmp_path / 'runs'}",
            "name=signal",
            f"data.signal.news={news}",
            "data.signal.label=human:flag",
            f"data.signal.validation_start={days[int(n * 0.6)].date()}",
            f"data.signal.test_start={days[int(n * 0.8)].date()}",
            "data.max_length=32",
            "train.epochs=2",
            "train.batch_size=8",
            "train.learning_rate=0.01",
            "adapter.r=4",
            "adapter.alpha=8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "runs" / "signal"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["labels"] == ["none", "signal"]
    assert metrics["threshold"]["chosen_on"] == "validation" and metrics["threshold"]["rule"] == "max_f1"
    assert {"pr_auc", "roc_auc"} <= set(metrics["test"]) and "test_argmax" in metrics
    # validation (what a sweep chooses by) is scored at the cut test uses, argmax kept beside it
    assert "pr_auc" in metrics["validation"] and "validation_argmax" in metrics
    kept = next(e for e in metrics["train"]["evals"] if e["epoch"] == metrics["train"]["best_epoch"])
    assert kept["f1_macro"] == pytest.approx(metrics["validation"]["f1_macro"])  # the epoch was chosen at the cut too
    assert set(metrics["baselines"]) == {"majority", "random", "tfidf_lr"}
    assert metrics["data"]["label_definition"] == "human:flag"
    predictions = pd.read_csv(run / "predictions.csv")
    cut = metrics["threshold"]["cut"]
    assert ((predictions["prob_signal"] >= cut - 1e-6) == (predictions["pred_label"] == "signal")).all()
    assert (run / "plots" / "pr_curve.png").is_file() and "PR-AUC" in res.stdout
