"""The command line end to end on the tiny model: files written, and bad input -> exit 2, one line."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_CSV, fintune, one_line_error, tiny_run_overrides

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "configs/quickstart.yaml")


@pytest.fixture(scope="module")
def finished_run(tiny_model_dir, tmp_path_factory):
    """One tiny run for the module's tests (they read it, or add `evals` to its metrics.json)."""
    runs = tmp_path_factory.mktemp("cli") / "runs"
    res = fintune("run", QUICKSTART, *tiny_run_overrides(tiny_model_dir, runs))
    assert res.returncode == 0, res.stderr
    return runs / "tiny"


def test_eval_and_backtest_stop_when_the_data_changed_unless_allowed(tiny_overrides, tmp_path):
    data = tmp_path / "sentences.csv"
    data.write_bytes(TINY_CSV.read_bytes())
    assert fintune("run", QUICKSTART, *tiny_overrides, f"data.source={data}").returncode == 0
    run = tmp_path / "runs" / "tiny"
    assert fintune("eval", "--run", run).returncode == 0  # unchanged: evaluates
    data.write_text(data.read_text().replace("profit", "loss", 1))  # one word of one row
    one_line_error(fintune("eval", "--run", run), str(data), "changed since run 'tiny'", "--allow-changed-data")
    res = fintune("eval", "--run", run, "--allow-changed-data")
    assert res.returncode == 0, res.stderr
    block = json.loads((run / "metrics.json").read_text())["evals"][f"{data}/test"]
    assert block["data_changed"] == {"files": [str(data)], "allowed_by": "--allow-changed-data"}


def test_run_writes_the_contract_files(finished_run):
    contract = ROOT.parent / "shared/checks/run_contract.py"
    for name in (
        "config.yaml",
        "metrics.json",
        "predictions.csv",
        "report.html",
        "plots/loss.png",
        "plots/confusion_matrix.png",
        "adapter/adapter_model.safetensors",
    ):
        assert (finished_run / name).is_file(), name
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"majority", "tfidf_lr"}
    assert metrics["test"]["n"] == len(pd.read_csv(finished_run / "predictions.csv"))
    assert metrics["train"]["trainable_params"] < metrics["train"]["total_params"]
    assert len(metrics["meta"]["data_sha256"]) == 1
    assert not (finished_run.parent / "tiny.partial").exists()
    report = (finished_run / "report.html").read_text()
    assert "<title>tiny</title>" in report and "<h1>tiny</h1>" in report  # the run's name, not its working folder's
    if contract.exists():
        check = subprocess.run([sys.executable, str(contract), str(finished_run)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout


def test_predict_texts_and_csv_keep_columns(finished_run, tmp_path):
    res = fintune("predict", "--run", finished_run, "Acme Bank shares jumped 40 percent")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] in {"negative", "neutral", "positive"}
    src = tmp_path / "in.csv"
    pd.DataFrame({"headline": ["profit rose", "loss widened"], "ticker": ["A", "B"]}).to_csv(src, index=False)
    res = fintune(
        "predict", "--run", finished_run, "--input", src, "--output", tmp_path / "out.csv", "--text-column", "headline"
    )
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["headline", "ticker", "pred_label", "prob_negative", "prob_neutral", "prob_positive"]
    assert out[["prob_negative", "prob_neutral", "prob_positive"]].sum(axis=1).round(4).eq(1).all()
    res = fintune("predict", "--run", finished_run, "--input", src, "--output", tmp_path / "bad.csv")
    one_line_error(res, "has no column 'text'", "headline, ticker", "--text-column")
    assert not (tmp_path / "bad.csv").exists()


def test_eval_on_another_file_counts_texts_seen_in_training(finished_run, tmp_path):
    other = tmp_path / "other.csv"
    other.write_bytes(TINY_CSV.read_bytes())
    res = fintune("eval", "--run", finished_run, "--data", other)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((finished_run / "metrics.json").read_text())
    block = metrics["evals"][f"{other}/test"]
    assert block["n"] == 90 and 0 < block["overlap_with_train"] < 90
    assert "majority" in block["baselines"] and block["unseen_only"]["n"] == 90 - block["overlap_with_train"]


def test_eval_on_its_own_split_reproduces_the_test_metrics(finished_run):
    res = fintune("eval", "--run", finished_run)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((finished_run / "metrics.json").read_text())
    again = metrics["evals"][f"{TINY_CSV}/test"]
    assert again["overlap_with_train"] == 0
    assert again["confusion_matrix"] == metrics["test"]["confusion_matrix"]


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["data.source=missing.csv"], ["'missing.csv' not found"]),
        (["data.text_column=sentence"], ["has no column 'sentence'", "data.text_column"]),
        (["data.source=nosuchset"], ["unknown dataset 'nosuchset'"]),
        (["train.epochz=1"], ["unknown config key 'train.epochz'"]),
        (["train.epochs=two"], ["bad value for 'train.epochs'"]),
    ],
)
def test_bad_config_or_data_exit_2_and_leave_no_run(tiny_overrides, tmp_path, extra, fragments):
    res = fintune("run", QUICKSTART, *tiny_overrides, *extra)
    one_line_error(res, *fragments)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_dry_run_prints_the_config_and_plan_and_writes_nothing(tiny_overrides, tmp_path):
    res = fintune("run", QUICKSTART, *tiny_overrides, "train.max_steps=4", "--dry-run")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "max_steps: 4" in res.stdout and "examples: 47 train / 7 validation / 23 test" in res.stdout
    assert "plan: 4 steps of batch 8 over 47 training examples (6 steps an epoch)" in res.stdout
    assert (
        "labels: negative 15, neutral 14, positive 18 (training examples of each; read from the file; "
        "data.labels fixes them)" in res.stdout.splitlines()
    )
    assert not (tmp_path / "runs").exists()


def test_dry_run_reads_the_data_before_printing_the_config(tiny_overrides):
    """A data problem is the one line on stderr, not the end of a screen of resolved config on stdout."""
    res = fintune("run", QUICKSTART, *tiny_overrides, "data.source=missing.csv", "--dry-run")
    one_line_error(res, "'missing.csv' not found")
    assert res.stdout.strip() == ""


def test_bad_rows_exit_2_naming_the_row(tiny_overrides, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nprofit rose,positive\nsales fell,negatve\n", encoding="utf-8")
    one_line_error(
        fintune("run", QUICKSTART, *tiny_overrides, f"data.source={bad}", "data.labels=[negative,neutral,positive]"),
        "row 3",
        "unknown label 'negatve'",
    )
    bad.write_bytes("text,label\nprofit rose,positive\nM\xfcller gained,positive\n".encode("latin-1"))
    one_line_error(fintune("run", QUICKSTART, *tiny_overrides, f"data.source={bad}"), "not UTF-8", "line 3")
    bad.write_text('text,label\nprofit rose,positive\n"",negative\n', encoding="utf-8")
    one_line_error(fintune("run", QUICKSTART, *tiny_overrides, f"data.source={bad}"), "row 3", "is empty")


def test_missing_config_and_not_a_run(tmp_path):
    one_line_error(fintune("run", tmp_path / "nope.yaml"), "config file", "not found")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.yaml").write_text("name: half\n")
    one_line_error(fintune("predict", "--run", tmp_path / "half", "text"), "not a finished run", "metrics.json")
    one_line_error(fintune("eval", "--run", tmp_path / "none"), "not found")
    one_line_error(fintune("predict", "--run", tmp_path / "half"), "give texts")


def test_usage_mistakes_are_one_line_like_any_bad_input(tmp_path):
    one_line_error(
        fintune("compare"), "Missing argument 'sweep_file'", "fintune compare --help'"
    )  # 'python -m fintune' here
    one_line_error(fintune("compare", "a.yaml", "b.yaml"), "unexpected extra argument", "(b.yaml)")
    one_line_error(fintune("run", QUICKSTART, "--bogus"), "No such option: --bogus", "fintune run --help'")
    one_line_error(fintune("serve", "--port", "abc"), "'--port'", "valid integer")
    bare = fintune()  # no command: the help, on stdout, as before
    assert bare.returncode == 2 and "Commands" in bare.stdout and bare.stdout.count("Usage: ") == 1
    version = fintune("--version")
    assert version.returncode == 0 and version.stdout.startswith("fintune 0.")


def test_existing_run_is_kept_unless_overwrite(finished_run, tiny_model_dir):
    again = tiny_run_overrides(tiny_model_dir, finished_run.parent)
    one_line_error(fintune("run", QUICKSTART, *again), "already exists", "overwrite=true")
    assert (finished_run / "metrics.json").exists()


def test_train_only_writes_weights_and_validation_then_eval_adds_test(tiny_overrides, tmp_path):
    res = fintune("train", QUICKSTART, *tiny_overrides)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "runs" / "tiny"
    metrics = json.loads((run / "metrics.json").read_text())
    assert "validation" in metrics and "test" not in metrics and (run / "adapter").is_dir()
    assert fintune("eval", "--run", run).returncode == 0
    assert "evals" in json.loads((run / "metrics.json").read_text())


def test_data_show_and_export_take_the_data_overrides_its_errors_suggest(tmp_path):
    own = tmp_path / "own.csv"
    rows = [f"{w} {i},{w}" for i in range(10) for w in ("negative", "neutral", "positive")]
    own.write_text("sentence,sentiment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    one_line_error(fintune("data", "show", own), "has no column 'text'", "set data.text_column")
    res = fintune("data", "show", own, "data.text_column=sentence", "data.label_column=sentiment")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == f"{own}: labels ['negative', 'neutral', 'positive']"
    one_line_error(
        fintune("data", "show", own, "data.text_colum=sentence"),
        "override 'data.text_colum=sentence': unknown config key 'data.text_colum'; did you mean 'data.text_column'?",
    )
    one_line_error(fintune("data", "show", own, "train.epochs=1"), "`fintune data` commands take data.* keys only")
    exported = fintune(
        "data", "export", own, "data.text_column=sentence", "data.label_column=sentiment", "--out", tmp_path / "json"
    )
    assert exported.returncode == 0 and (tmp_path / "json" / "dataset_info.json").is_file(), exported.stderr


def test_an_interrupted_run_says_that_resume_continues_it(capsys):
    import typer

    from fintune.cli_errors import user_errors

    def run():
        raise KeyboardInterrupt

    def predict():
        raise KeyboardInterrupt

    for fn, expected in [
        (run, "fintune: interrupted; `fintune run CONFIG [overrides] --resume` continues from the last checkpoint"),
        (predict, "fintune: interrupted"),
    ]:
        with pytest.raises(typer.Exit) as ended:
            user_errors(fn)()
        assert ended.value.exit_code == 130
        assert capsys.readouterr().err == expected + "\n"


def test_dry_run_says_when_the_model_cannot_be_had_offline_and_a_run_fails_in_seconds(tiny_overrides, tmp_path):
    offline = {"HF_HUB_OFFLINE": "1"}
    res = fintune("run", QUICKSTART, *tiny_overrides, "model.path=no-org/no-such-model", "--dry-run", env=offline)
    assert res.returncode == 0, res.stderr
    assert (
        "model: no-org/no-such-model is NOT here (not a local folder, not in the hub cache; HF_HUB_OFFLINE is set): "
        "a run would fail; model.path=smollm2 (or gemma3-270m, minilm, a local folder) runs without the network"
    ) in res.stdout.splitlines()
    res = fintune("run", QUICKSTART, *tiny_overrides, "--dry-run", env=offline)
    assert any(line.startswith("model: ") and line.endswith("(local)") for line in res.stdout.splitlines())
    res = fintune("run", QUICKSTART, *tiny_overrides, "model.path=no-org/no-such-model", env=offline)
    one_line_error(res, "model 'no-org/no-such-model' is not a local folder nor in the hub cache")
    assert not (tmp_path / "runs" / "tiny").exists()
