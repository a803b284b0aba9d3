"""Every command works for forecasting too: `fintune train`, `--nproc 2` and a `fintune compare` sweep."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_forecast_run import CONFIG, write_bars

ROOT = Path(__file__).resolve().parents[1]
LOSS_RTOL = 1e-4  # two ranks recombine per-rank mean losses: float summation order only (see test_distributed.py)


def _fintune(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two ranks on two cores
    cmd = [sys.executable, "-m", "fintune", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


@pytest.fixture
def window_overrides(tiny_causal_dir, tmp_path) -> list[str]:
    """A tiny Qwen2 on 3->2 close-only windows of a random walk, deterministic (no dropout, fp32)."""
    return [
        f"model.path={tiny_causal_dir('qwen2')}",
        f"output_dir={tmp_path / 'runs'}",
        f"data.windows.prices={write_bars(tmp_path / 'bars.csv', days=120)}",
        "data.windows.tickers=[TEST]",
        "data.windows.pairs=[[3, 2]]",
        "data.windows.fields=close",
        "data.windows.stride=3",
        "data.windows.validation_start=2019-04-01",
        "data.windows.test_start=2019-05-01",
        "data.max_length=128",
        "train.epochs=1",
        "train.batch_size=5",
        "train.precision=fp32",
        "adapter.dropout=0",
        "adapter.r=4",
        "adapter.alpha=8",
        "eval.baselines=[naive_last]",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_train_and_two_processes_train_a_forecaster_like_one(window_overrides, tmp_path, strategy):
    one = _fintune("train", CONFIG, *window_overrides, "name=one")
    assert one.returncode == 0, one.stderr[-3000:]
    two = _fintune("train", CONFIG, *window_overrides, "name=two", f"train.strategy={strategy}", "--nproc", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    runs = tmp_path / "runs"
    for name in ("one", "two"):
        metrics = json.loads((runs / name / "metrics.json").read_text())
        assert "test" not in metrics and metrics["validation"]["loss"] > 0  # train only: validation, no test
        assert (runs / name / "adapter" / "adapter_model.safetensors").is_file()
    log_one = json.loads((runs / "one" / "train_log.json").read_text())
    log_two = json.loads((runs / "two" / "train_log.json").read_text())
    assert len(log_one) == len(log_two) > 1
    for (step, _, a), (_, _, b) in zip(log_one, log_two):
        assert b == pytest.approx(a, rel=LOSS_RTOL), f"step {step}"
    assert not list(runs.glob("*.partial*")) and sorted(p.name for p in runs.iterdir()) == ["one", "two"]


def test_compare_ranks_forecasters_by_validation_loss_beside_naive_last(window_overrides, tmp_path):
    base = tmp_path / "base.yaml"
    raw = yaml.safe_load(CONFIG.read_text())
    for item in window_overrides:
        key, _, value = item.partition("=")
        node = raw
        for part in key.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[key.split(".")[-1]] = yaml.safe_load(value)
    base.write_text(yaml.safe_dump(raw))
    sweep = tmp_path / "lr.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {"base": str(base), "output_dir": str(tmp_path / "sweeps"), "axes": {"train.learning_rate": [1e-4, 3e-3]}}
        )
    )
    res = _fintune("compare", sweep)
    assert res.returncode == 0, res.stderr[-3000:]
    folder = tmp_path / "sweeps" / "lr"
    board = (folder / "leaderboard.md").read_text()
    assert "| setting | seeds | validation | mae | rmse | mape | directional_accuracy | mase |" in board
    assert "baseline: naive_last" in board and "Wilcoxon" in board
    results = [json.loads(p.read_text()) for p in sorted((folder / "results").glob("*.json"))]
    losses = {r["run_info"]["axes"]["train.learning_rate"]: r["metrics"]["validation"]["loss"] for r in results}
    best = json.loads((folder / "best.json").read_text())
    assert best["chosen_by"].startswith("validation loss")
    assert best["setting"] == f"train.learning_rate={min(losses, key=losses.get)}"  # lowest loss wins
    assert set(best["test"]) == {"mae", "rmse", "mape", "directional_accuracy", "mase"}
