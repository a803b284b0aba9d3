"""The sentiment index: which posts feed an entry, how cut points are fitted, and a trend run that uses it."""

import json

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import save_file

from fintune.eval.sentiment_index import fit_cut_points, index_at_entries, information_coefficient, to_labels

ENTRY = pd.Timestamp("2022-05-20", tz="UTC")


def _posts(times_and_scores, asset="BTC"):
    times, scores = zip(*times_and_scores)
    return pd.DataFrame({"timestamp": pd.to_datetime(list(times), utc=True), "asset": asset, "sentiment": scores})


def test_index_averages_only_posts_inside_the_window_before_entry():
    scored = pd.concat(
        [
            _posts(
                [
                    ("2022-05-18T23:59:59", 9.0),  # one second before the window opens
                    ("2022-05-19T00:00:00", 1.0),  # the window's first instant
                    ("2022-05-19T23:59:59", 0.0),  # the last second before entry
                    ("2022-05-20T00:00:00", -9.0),  # at the entry bar's open: too late
                ]
            ),
            _posts([("2022-05-19T12:00:00", -1.0)], asset="ETH"),
        ],
        ignore_index=True,
    )
    examples = pd.DataFrame({"asset": ["BTC", "ETH", "DOGE"], "entry_time": [ENTRY] * 3})
    out = index_at_entries(scored, examples, pd.Timedelta("1D"))
    assert out["sentiment_index"].iloc[0] == pytest.approx(0.5) and out["n_posts"].iloc[0] == 2
    assert out["sentiment_index"].iloc[1] == pytest.approx(-1.0)
    assert np.isnan(out["sentiment_index"].iloc[2]) and out["n_posts"].iloc[2] == 0


def test_cut_points_call_each_direction_as_often_as_training_labels_do():
    rng = np.random.default_rng(0)
    index = pd.Series(rng.normal(size=1000))
    labels = pd.Series(rng.choice(["down", "flat", "up"], size=1000, p=[0.3, 0.2, 0.5]))
    cuts = fit_cut_points(index, labels)
    called = pd.Series(to_labels(index, cuts, "up")).value_counts(normalize=True)
    for label in ("down", "flat", "up"):
        assert called[label] == pytest.approx((labels == label).mean(), abs=0.01)
    # higher sentiment means 'up'; no posts means the fallback label
    assert to_labels(pd.Series([10.0, -10.0, np.nan]), cuts, "flat") == ["up", "down", "flat"]


def test_without_flat_labels_the_index_is_a_binary_call():
    index = pd.Series(np.linspace(-1, 1, 100))
    labels = pd.Series(["down"] * 40 + ["up"] * 60)
    low, high = fit_cut_points(index, labels)
    assert low == high and "flat" not in to_labels(index, (low, high), "up")


def test_information_coefficient_is_rank_correlation_and_undefined_for_a_constant_index():
    index = pd.Series([0.1, 0.2, 0.3, 0.4, np.nan])
    assert information_coefficient(index, pd.Series([1.0, 2.0, 3.0, 5.0, 0.0]))["ic"] == pytest.approx(1.0)
    assert information_coefficient(pd.Series([0.5] * 5), pd.Series(range(5), dtype=float))["ic"] is None


@pytest.mark.slow
def test_trend_run_tests_a_finished_sentiment_run_as_a_predictor(tiny_model_dir, tiny_overrides, tmp_path):
    from tests.test_trend_run import CONFIG, ROOT, _overrides, _run, _write_market

    sentiment = _run("run", ROOT / "configs/quickstart.yaml", *tiny_overrides)
    assert sentiment.returncode == 0, sentiment.stderr[-3000:]
    posts, prices = _write_market(tmp_path)
    sentiment_run = tmp_path / "runs" / "tiny"
    res = _run(
        "run", CONFIG, *_overrides(tiny_model_dir, tmp_path, posts, prices), f"eval.sentiment_run={sentiment_run}"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "runs" / "trend"
    block = json.loads((run / "metrics.json").read_text())["baselines"]["sentiment_index"]
    assert block["n"] == json.loads((run / "metrics.json").read_text())["test"]["n"] and "ci95" in block
    assert block["window"] == "1 days 00:00:00" and block["n_posts_scored"] == len(pd.read_csv(posts))
    assert {"ic", "p_value", "n"} <= set(block["ic_test"])
    daily = pd.read_csv(run / "sentiment_index.csv")
    assert list(daily.columns) == ["asset", "date", "n_posts", "sentiment"] and daily["sentiment"].between(-1, 1).all()
    assert (run / "plots" / "sentiment_index.png").is_file()


def test_a_sentiment_run_without_positive_and_negative_is_refused_before_training(tmp_path):
    from tests.test_trend_run import CONFIG, _run

    fake = tmp_path / "trend-run"
    (fake / "adapter").mkdir(parents=True)
    save_file({"w": np.zeros(2, dtype=np.float32)}, fake / "adapter" / "adapter_model.safetensors")
    (fake / "adapter" / "adapter_config.json").write_text("{}")  # weights that read: only the labels are wrong
    (fake / "config.yaml").write_text("name: x\n")
    (fake / "metrics.json").write_text(json.dumps({"data": {"labels": ["down", "flat", "up"]}}))
    res = _run("run", CONFIG, f"eval.sentiment_run={fake}", f"output_dir={tmp_path / 'runs'}")
    assert res.returncode == 2 and "needs 'positive' and 'negative'" in res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_posts_entering_together_count_once_in_the_information_coefficient():
    index = pd.Series([0.1, 0.1, 0.1, 0.2, 0.3, 0.4])
    forward = pd.Series([1.0, 1.0, 1.0, 2.0, 3.0, 5.0])
    keys = pd.DataFrame({"asset": "BTC", "entry_time": [1, 1, 1, 2, 3, 4]})
    assert information_coefficient(index, forward, keys)["n"] == 4
    assert information_coefficient(index, forward)["n"] == 6
