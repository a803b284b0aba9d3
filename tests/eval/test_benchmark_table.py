"""`fintune eval --data A,B`: the benchmark table from metric blocks, and the command end to end."""

import json

import pandas as pd
import pytest

from fintune.eval.benchmark_table import benchmark_frame, print_benchmark, to_markdown
from tests.conftest import TINY_CSV, fintune, one_line_error
from tests.test_cli import QUICKSTART


def _block(n, accuracy, f1_macro, f1_micro, f1_weighted, mcc):
    return dict(n=n, accuracy=accuracy, f1_macro=f1_macro, f1_micro=f1_micro, f1_weighted=f1_weighted, mcc=mcc)


def _results():
    fpb = _block(1212, 0.86, 0.84, 0.86, 0.85, 0.75) | {"labels": ["negative", "neutral", "positive"]}
    fpb["baselines"] = {
        "majority": _block(1212, 0.59, 0.25, 0.59, 0.44, 0.0),
        "tfidf_lr": _block(1212, 0.7, 0.6, 0.7, 0.68, 0.4),
    }
    tfns = _block(2388, 0.8, 0.7, 0.8, 0.79, 0.6)
    tfns["baselines"] = {"majority": _block(2388, 0.65, 0.26, 0.65, 0.51, 0.0)}
    return [("tfns/test", tfns), ("fpb/test", fpb)]


def test_rows_follow_the_datasets_each_with_its_majority_row_under_it():
    table = benchmark_frame(_results(), "minilm-lora")
    assert list(table.columns) == ["dataset", "model", "n", "accuracy", "f1_macro", "f1_micro", "f1_weighted", "mcc"]
    assert list(zip(table["dataset"], table["model"])) == [
        ("tfns/test", "minilm-lora"),
        ("tfns/test", "majority"),
        ("fpb/test", "minilm-lora"),
        ("fpb/test", "majority"),
    ]  # input order kept, and only the majority baseline (not tfidf_lr)
    assert table.iloc[2][["n", "accuracy", "f1_micro", "mcc"]].tolist() == [1212, 0.86, 0.86, 0.75]
    assert table.iloc[3][["n", "accuracy", "f1_macro", "f1_weighted"]].tolist() == [1212, 0.59, 0.25, 0.44]

    md = to_markdown(table).splitlines()
    assert md[0] == "| dataset | model | n | accuracy | macro F1 | micro F1 | weighted F1 | MCC |"
    assert md[1] == "|---|---|---:|---:|---:|---:|---:|---:|"
    assert md[4] == "| fpb/test | minilm-lora | 1212 | 0.8600 | 0.8400 | 0.8600 | 0.8500 | 0.7500 |"
    assert md[5] == "| fpb/test | majority | 1212 | 0.5900 | 0.2500 | 0.5900 | 0.4400 | 0.0000 |"
    assert len(md) == 6


def test_console_table_shows_every_row(capsys):
    from rich.console import Console

    print_benchmark(benchmark_frame(_results(), "run"), "title", Console(width=160, force_terminal=False))
    out = capsys.readouterr().out
    assert "micro F1" in out and out.count("majority") == 2 and "0.8600" in out and "2388" in out


@pytest.fixture
def finished_run(tiny_overrides, tmp_path):
    """The tiny run of tests/test_cli.py (a fixture there, so not importable without shadowing)."""
    res = fintune("run", QUICKSTART, *tiny_overrides)
    assert res.returncode == 0, res.stderr
    return tmp_path / "runs" / "tiny"


@pytest.fixture
def two_label_files(tmp_path):
    """Two small eval files with the run's labels: the tiny CSV cut in halves with new wording."""
    frame = pd.read_csv(TINY_CSV)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    frame.iloc[:40].to_csv(a, index=False)
    frame.iloc[40:].assign(text=lambda f: "Reportedly, " + f["text"]).to_csv(b, index=False)
    return a, b


# One test on one finished run: training it is most of the cost.
def test_eval_on_two_files_writes_the_benchmark_and_both_evals(finished_run, two_label_files, tmp_path):
    from fintune.eval.run_eval import evaluate_on
    from fintune.inference.predictor import Predictor

    a, b = two_label_files
    # in process: one loaded model, and each row scored once (unseen-only reuses the full pass)
    predictor = Predictor.load(finished_run)
    original, calls = predictor.predict_proba, []
    predictor.predict_proba = lambda texts: calls.append(len(texts)) or original(texts)
    _, block = evaluate_on(predictor, finished_run, str(a))
    assert calls == [40] and 0 < block["overlap_with_train"] < 40
    assert block["unseen_only"]["n"] == 40 - block["overlap_with_train"]

    # the command: a comma list -> both evals recorded, benchmark.md/.csv with majority rows
    res = fintune("eval", "--run", finished_run, "--data", f"{a},{b}")
    assert res.returncode == 0, res.stderr
    assert "micro F1" in res.stdout and "majority" in res.stdout
    evals = json.loads((finished_run / "metrics.json").read_text())["evals"]
    assert evals[f"{a}/test"]["n"] == 40 and evals[f"{b}/test"]["n"] == 50
    csv = pd.read_csv(finished_run / "benchmark.csv")
    assert csv["dataset"].tolist() == [f"{a}/test"] * 2 + [f"{b}/test"] * 2
    assert csv["model"].tolist() == ["tiny", "majority", "tiny", "majority"]
    for i, key in ((0, f"{a}/test"), (2, f"{b}/test")):
        assert csv.loc[i, "mcc"] == pytest.approx(evals[key]["mcc"])
        assert csv.loc[i + 1, "accuracy"] == pytest.approx(evals[key]["baselines"]["majority"]["accuracy"])
    md = (finished_run / "benchmark.md").read_text()
    assert md.count("| majority |") == 2 and f"| {b}/test | tiny | 50 |" in md

    # labels the run does not know: exit 2 naming the file, before any evaluation (metrics.json
    # untouched although `a` comes first), and no benchmark left behind
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nprofit rose,bullish\nsales fell,bearish\n", encoding="utf-8")
    (finished_run / "benchmark.md").unlink()
    before = (finished_run / "metrics.json").stat().st_mtime_ns
    one_line_error(fintune("eval", "--run", finished_run, "--data", f"{a},{bad}"), str(bad), "unknown label")
    assert not (finished_run / "benchmark.md").exists()
    assert (finished_run / "metrics.json").stat().st_mtime_ns == before
