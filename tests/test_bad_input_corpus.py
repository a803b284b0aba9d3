"""The bad-input corpus: every kind of user input a command reads (config files, overrides, data files, run
directories, sweep files), each bad case fed to every command that reads that kind. Each must end with exit 2 and
one `fintune: error:` line, and a given bad input gets the same message from every command (a command may add its
own hint after it). Bad HTTP requests are the serve half of the corpus: tests/serve/test_app.py, BAD_REQUESTS and
the malformed bodies after it.

The commands run in this process through the CLI app (`main()`'s library setup done once), so ~150 invocations
take seconds; `test_the_real_entry_point_prints_one_line` runs one case of each kind as a user would.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fintune import cli
from tests.conftest import ROOT, TINY_CSV, fintune, one_line_error, tiny_run_overrides

QUICKSTART = ROOT / "configs/quickstart.yaml"

CONFIG_CASES = {  # name: (file text, or None for no file; the message after "fintune: error: ", {path} = the file)
    "missing": (None, "config file '{path}' not found"),
    "not YAML": (
        "task: classify\ntrain: {epochs: 2\n",
        "config file '{path}', line 3 is not valid YAML: expected ',' or '}', but got '<stream end>'",
    ),
    "bad indent": (
        "task: classify\ntrain:\n  epochs: 2\n lr: 3\n",
        "config file '{path}', line 4 is not valid YAML: expected <block end>, but found '<block mapping start>'",
    ),
    "a list": ("- a\n- b\n", "config file '{path}' must be a mapping of keys to values"),
    "top-level typo": (
        "task: classify\ntrian:\n  epochs: 2\n",
        "config file '{path}', line 2: unknown config key 'trian'; did you mean 'train'?",
    ),
    "nested typo": (
        "task: classify\ntrain:\n  epoch: 2\n",
        "config file '{path}', line 3: unknown config key 'train.epoch'; did you mean 'train.epochs'?",
    ),
    "wrong type": (
        "task: classify\ntrain:\n  epochs: two\n",
        "config file '{path}', line 3: bad value for 'train.epochs'",
    ),
    "out of range": (
        "task: classify\ntrain:\n  learning_rate: -1\n",
        "config file '{path}', line 3: bad value for 'train.learning_rate': Input should be greater than 0",
    ),
    "key twice": (
        "task: classify\ntrain:\n  epochs: 2\n  epochs: 3\n",
        "config file '{path}', line 4: key 'train.epochs' is given twice (first on line 3)",
    ),
    "unknown task": ("task: poetry\n", "config file '{path}', line 1: bad value for 'task'"),
    "unknown dataset": (
        "task: classify\ndata:\n  source: no-such-set\n",
        "unknown dataset 'no-such-set' in data.source",
    ),
}

OVERRIDE_CASES = {  # the override: the message
    "train.epochs": "override 'train.epochs' must look like key.sub=value",
    "=3": "override '=3' must look like key.sub=value",
    "train.epoch=2": "override 'train.epoch=2': unknown config key 'train.epoch'; did you mean 'train.epochs'?",
    "train.epochs=two": "override 'train.epochs=two': bad value for 'train.epochs'",
    "foo.bar=1": "override 'foo.bar=1': unknown config key 'foo'; a config has: task, name",
    "data.source=no-such-set": "unknown dataset 'no-such-set' in data.source",
}

EVERY = ("run", "data show", "eval --data", "predict --input")
DATA_FILE_CASES = {  # file name: (bytes or None for no file, the message, the commands that read it and refuse it)
    "missing.csv": (None, "file '{path}' not found", EVERY),
    "empty.csv": (b"", "file '{path}' is empty", EVERY),
    "latin.csv": (
        "text,label\nprofit rose,positive\nM\xfcller gained,positive\n".encode("latin-1"),
        "file '{path}' is not UTF-8 (line 3)",
        EVERY,
    ),
    "fields.csv": (
        b"text,label\nprofit rose,positive\nsales, they fell,negative\n",
        "file '{path}', line 3: expected 2 fields, saw 3",
        EVERY,
    ),
    "blank.csv": (
        b'text,label\nprofit rose,positive\n"",negative\n',
        "file '{path}', row 3: column 'text' is empty",
        EVERY,
    ),
    "no-text.csv": (
        b"sentence,label\nprofit rose,positive\nloss widened,negative\n",
        "file '{path}' has no column 'text' (columns: sentence, label)",
        EVERY,
    ),
    "one-label.csv": (
        b"text,label\nprofit rose,positive\nsales rose,positive\n",
        "file '{path}': column 'label' has fewer than two labels",
        # a test file may hold one class; `predict --input` scores texts and keeps a label column as it is
        ("run", "data show"),
    ),
    "unsupported.xlsx": (b"PK\x03\x04", "file '{path}': unsupported type '.xlsx'", EVERY),
    "stray-label.csv": (  # valid CSV, wrong in meaning: one 'bullish' row would have become a fourth class
        (
            "text,label\n"
            + "".join(f"{w} {i},{w}\n" for i in range(4) for w in ("negative", "neutral", "positive"))
            + "shares soared,bullish\n"
        ).encode(),
        "file '{path}', row 14: label 'bullish' in column 'label' occurs only 1 time(s) beside negative (4), "
        "neutral (4), positive (4); fix the row, map it with data.label_map, or list every class in data.labels",
        ("run", "data show"),  # eval --data and a run with data.labels name it as an unknown label instead
    ),
    "too-few-per-label.csv": (  # valid CSV, 3 labels, 12 rows: a validation split of 1 row cannot hold all three
        (
            "text,label\n" + "".join(f"{w} {i},{w}\n" for i in range(4) for w in ("negative", "neutral", "positive"))
        ).encode(),
        "data source '{path}': data.validation_fraction=0.1 of 9 rows is 1 row(s), too few to hold each of the 3 "
        "labels; add rows (a few per label at least) or change data.validation_fraction",
        ("run", "data show"),  # eval --data scores the whole file, nothing is carved
    ),
}


def _run_files(folder: Path, config: str | None = "task: classify\n", metrics: str | None = "{}", weights=False):
    folder.mkdir()
    if config is not None:
        (folder / "config.yaml").write_text(config, encoding="utf-8")
    if metrics is not None:
        (folder / "metrics.json").write_text(metrics, encoding="utf-8")
    if weights:
        (folder / "adapter").mkdir()


RUN_DIR_CASES = {  # name: (how to make it in `root`, the message; {path} = the run directory)
    "missing": (lambda root: None, "run directory '{path}' not found"),
    "a file": (lambda root: (root / "a file").write_text("x"), "'{path}' is a file, not a run directory"),
    "unfinished": (
        lambda root: (root / "unfinished.partial").mkdir(),
        "'{path}' is an unfinished run; continue it with `fintune run CONFIG --resume`",
    ),
    "not a run": (lambda root: (root / "not a run").mkdir(), "'{path}' is not a finished run (no config.yaml)"),
    "no metrics": (
        lambda root: _run_files(root / "no metrics", metrics=None, weights=True),
        "'{path}' is not a finished run (no metrics.json)",
    ),
    "no weights": (
        lambda root: _run_files(root / "no weights"),
        "'{path}' is not a finished run (no adapter/ or model/",
    ),
    "damaged metrics": (
        lambda root: _run_files(root / "damaged metrics", metrics='{"test": {', weights=True),
        "run file '{path}/metrics.json', line 1 cannot be read (JSONDecodeError); the run is damaged",
    ),
    "damaged config": (
        lambda root: _run_files(root / "damaged config", config="task: [\n", weights=True),
        "run file '{path}/config.yaml', line 2 cannot be read (ParserError); the run is damaged",
    ),
    "config is a list": (
        lambda root: _run_files(root / "config is a list", config="- a\n", weights=True),
        "run file '{path}/config.yaml' is not a mapping of keys to values",
    ),
}


def _damaged_copy(finished: Path, root: Path, name: str, damage) -> None:
    """A copy of a finished run with one thing broken, as a deleted file or a full disk leaves it."""
    shutil.copytree(finished, root / name)
    damage(root / name / "adapter")


def _cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


DAMAGED_RUN_CASES = {  # name: (how to damage the run's adapter/ folder, the message; {path} = the run directory)
    "weights deleted": (
        lambda adapter: (adapter / "adapter_model.safetensors").unlink(),
        "'{path}/adapter' has no .safetensors weights; the run is damaged (rerun it)",
    ),
    "weights cut off": (
        lambda adapter: _cut(adapter / "adapter_model.safetensors", 4000),
        "weights file '{path}/adapter/adapter_model.safetensors' is damaged (cut off: 4000 of ",
    ),
    "weights header cut off": (
        lambda adapter: _cut(adapter / "adapter_model.safetensors", 30),
        "weights file '{path}/adapter/adapter_model.safetensors' is damaged (cut off: header of ",
    ),
    "weights empty": (
        lambda adapter: _cut(adapter / "adapter_model.safetensors", 0),
        "weights file '{path}/adapter/adapter_model.safetensors' is damaged (0 bytes, not even a header)",
    ),
    "weights not safetensors": (
        lambda adapter: (adapter / "adapter_model.safetensors").write_bytes(
            b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"x" * 40
        ),
        "weights file '{path}/adapter/adapter_model.safetensors' is damaged (its header is not JSON)",
    ),
    "adapter config deleted": (
        lambda adapter: (adapter / "adapter_config.json").unlink(),
        "'{path}/adapter' has no adapter_config.json; the run is damaged (rerun it)",
    ),
}

RUN_DIR_COMMANDS = {
    "eval": ["eval", "--run", "{path}"],
    "predict": ["predict", "--run", "{path}", "profit rose"],
    "chat": ["chat", "--run", "{path}", "--once", "profit rose"],
    "export": ["export", "--run", "{path}", "--out", "{out}"],
    "export --gguf": ["export", "--run", "{path}", "--out", "{out}", "--gguf"],
    "export --onnx": ["export", "--run", "{path}", "--out", "{out}", "--onnx"],
    "serve": ["serve", "--run", "{path}", "--port", "0"],
    "backtest": ["backtest", "--run", "{path}"],
    "forecast": ["forecast", "--run", "{path}", "--ticker", "2330.TW"],
    "table": ["table", "{path}"],
}

_BASE = f"name: s\nbase: {QUICKSTART}\n"
SWEEP_CASES = {  # name: (file text or None, the message; {path} = the sweep file)
    "missing": (None, "sweep file '{path}' not found"),
    "not YAML": ("name: s\naxes: {train.epochs: [1\n", "sweep file '{path}', line 3 is not valid YAML"),
    "a list": ("- a\n", "sweep file '{path}' must be a mapping of keys to values"),
    "empty": ("", "sweep file '{path}' needs `axes` (key: [values]) and `base` (a config)"),
    "no axes": (_BASE, "sweep file '{path}' needs `axes` (key: [values]) and `base` (a config)"),
    "top-level typo": (
        _BASE + "axis:\n  train.epochs: [1, 2]\n",
        "sweep file '{path}', line 3: unknown key 'axis'; did you mean 'axes'?",
    ),
    "empty axis": (
        _BASE + "axes:\n  train.epochs: []\n",
        "sweep file '{path}': axis 'train.epochs' must be a non-empty list",
    ),
    "axis typo": (
        _BASE + "axes:\n  train.epoch: [1, 2]\n",
        "sweep 's', run {'train.epoch': 1}: unknown config key 'train.epoch'; did you mean 'train.epochs'?",
    ),
    "axis value": (_BASE + "axes:\n  train.epochs: [1, two]\n", "sweep 's', run {'train.epochs': 'two'}: bad value"),
    "override typo": (
        _BASE + "overrides:\n  train.epoch: 1\naxes:\n  train.epochs: [1, 2]\n",
        "sweep 's', overrides: 'train.epoch': unknown config key 'train.epoch'; did you mean 'train.epochs'?",
    ),
    "base missing": (
        "name: s\nbase: /no/such/base.yaml\naxes:\n  train.epochs: [1, 2]\n",
        "sweep base config '/no/such/base.yaml' not found",
    ),
    "key twice": (
        _BASE + f"base: {QUICKSTART}\naxes:\n  train.epochs: [1, 2]\n",
        "sweep file '{path}', line 3: key 'base' is given twice (first on line 2)",
    ),
    "select typo": (
        _BASE + "axes:\n  train.epochs: [1, 2]\nselect: {metric: acuracy}\n",
        "sweep file '{path}': unknown select.metric 'acuracy'; did you mean 'accuracy'?",
    ),
    "select on test": (
        _BASE + "axes:\n  train.epochs: [1, 2]\nselect: {metric: mcc, split: test}\n",
        "sweep file '{path}': select.split must be validation",
    ),
}

COMMAND_HINTS = re.compile(
    r"(; set data\.text_column|; set --text-column| \(--on-bad-row skip\)|; use [^;]+"
    r"| \(\d+ empty row\(s\) in all\); remove them or fix the file)$"
)
"""What a command may add after the shared message: how it names the setting to change, or (reading the whole file
at once, unlike `predict`'s chunks) how many rows share the problem."""


def test_the_corpus_has_at_least_30_cases():
    sizes = [CONFIG_CASES, OVERRIDE_CASES, DATA_FILE_CASES, RUN_DIR_CASES, DAMAGED_RUN_CASES, SWEEP_CASES]
    assert sum(map(len, sizes)) >= 30


@pytest.fixture(scope="module")
def invoke():
    """`invoke(*args)` -> (exit code, stderr) of the CLI app run in this process, as `main()` runs it."""
    cli._quiet_libraries()
    runner = CliRunner()

    def call(*args):
        res = runner.invoke(cli.app, [str(a) for a in args])
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise AssertionError(f"{args}: a traceback, not one line") from res.exception
        return res.exit_code, res.stderr

    return call


def _one_message(invoke, commands: dict[str, list], expected: str) -> None:
    """Each command: exit 2, one line holding `expected`; every command the same line up to its own hint."""
    messages = {}
    for name, args in commands.items():
        code, stderr = invoke(*args)
        lines = stderr.strip().splitlines()
        assert code == 2, (name, code, stderr)
        assert len(lines) == 1 and lines[0].startswith("fintune: error: "), (name, stderr)
        assert expected in lines[0], (name, expected, lines[0])
        messages[name] = COMMAND_HINTS.sub("", lines[0])
    assert len(set(messages.values())) == 1, messages


def _config_commands(config: Path, *overrides: str) -> dict[str, list]:
    return {
        "run": ["run", config, *overrides],
        "run --dry-run": ["run", config, *overrides, "--dry-run"],
        "train": ["train", config, *overrides],
    }


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_a_bad_config_file(case, invoke, tmp_path):
    text, expected = CONFIG_CASES[case]
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    _one_message(
        invoke, _config_commands(path, f"output_dir={tmp_path / 'runs'}"), expected.replace("{path}", str(path))
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("override", list(OVERRIDE_CASES))
def test_a_bad_override(override, invoke, tmp_path):
    _one_message(
        invoke, _config_commands(QUICKSTART, f"output_dir={tmp_path / 'runs'}", override), OVERRIDE_CASES[override]
    )
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def finished(tiny_model_dir, tmp_path_factory):
    """A finished tiny encoder run, for the commands that read a data file beside a run."""
    root = tmp_path_factory.mktemp("corpus")
    res = fintune("run", QUICKSTART, *tiny_run_overrides(tiny_model_dir, root / "runs"), "train.max_steps=1")
    assert res.returncode == 0, res.stderr[-3000:]
    return root / "runs" / "tiny"


@pytest.mark.parametrize("name", list(DATA_FILE_CASES))
def test_a_bad_data_file(name, invoke, finished, tiny_model_dir, tmp_path):
    content, expected, readers = DATA_FILE_CASES[name]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    commands = {
        "run": ["run", QUICKSTART, *tiny_run_overrides(tiny_model_dir, tmp_path / "runs"), f"data.source={path}"],
        "data show": ["data", "show", path],
        "eval --data": ["eval", "--run", finished, "--data", path],
        "predict --input": ["predict", "--run", finished, "--input", path, "--output", tmp_path / "out.csv"],
    }
    _one_message(invoke, {name: commands[name] for name in readers}, expected.replace("{path}", str(path)))
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out.csv").exists()
    assert "evals" not in json.loads((finished / "metrics.json").read_text())  # the failed eval recorded nothing


@pytest.mark.parametrize("case", list(RUN_DIR_CASES))
def test_a_bad_run_directory(case, invoke, tmp_path):
    make, expected = RUN_DIR_CASES[case]
    make(tmp_path)
    _every_run_dir_command(invoke, tmp_path / case, expected)


def _every_run_dir_command(invoke, path: Path, expected: str) -> None:
    """Each command that reads a run directory refuses `path` with the same line; an export writes nothing."""
    out = path.parent / "export"
    commands = {
        name: [str(a).replace("{path}", str(path)).replace("{out}", str(out)) for a in args]
        for name, args in RUN_DIR_COMMANDS.items()
    }
    _one_message(invoke, commands, expected.replace("{path}", str(path)))
    assert not out.exists()


@pytest.mark.parametrize("case", list(DAMAGED_RUN_CASES))
def test_a_damaged_finished_run(case, invoke, finished, tmp_path):
    """A run that finished and was damaged afterwards: named before its weights load, by every command that reads
    it (a deleted adapter was a hub-id traceback, cut-off weights a deserializer traceback)."""
    damage, expected = DAMAGED_RUN_CASES[case]
    _damaged_copy(finished, tmp_path, case, damage)
    _every_run_dir_command(invoke, tmp_path / case, expected)


def _unwritable_outputs(root: Path, finished: Path) -> dict[str, tuple[list, str]]:
    """name: (the command, the message): an output that cannot be written, refused before any work."""
    (root / "a file").write_text("x")
    texts = root / "texts.csv"
    texts.write_text("text\nprofit rose\n")
    texts_labelled = TINY_CSV
    missing = root / "no such folder"
    return {
        "predict --output, missing folder": (
            ["predict", "--run", finished, "--input", texts, "--output", missing / "out.csv"],
            f"--output '{missing / 'out.csv'}': its folder '{missing}' does not exist; create the folder first",
        ),
        "predict --output, under a file": (
            ["predict", "--run", finished, "--input", texts, "--output", root / "a file" / "out.csv"],
            f"--output '{root / 'a file' / 'out.csv'}': its folder '{root / 'a file'}' is a file, not a folder",
        ),
        "predict --output, a folder": (
            ["predict", "--run", finished, "--input", texts, "--output", root],
            f"--output '{root}' is a folder; give a file name inside it",
        ),
        "export --out, under a file": (
            ["export", "--run", finished, "--out", root / "a file" / "merged"],
            f"export target '{root / 'a file' / 'merged'}' cannot be made: '{root / 'a file'}' is a file, not a folder",
        ),
        "data export --out, under a file": (
            ["data", "export", texts_labelled, "--out", root / "a file" / "json"],
            f"--out '{root / 'a file' / 'json'}' cannot be made: '{root / 'a file'}' is a file, not a folder",
        ),
        "run output_dir, under a file": (
            ["run", QUICKSTART, f"output_dir={root / 'a file' / 'runs'}", f"data.source={texts_labelled}"],
            f"output_dir '{root / 'a file' / 'runs'}' cannot be made: '{root / 'a file'}' is a file, not a folder",
        ),
        "forecast --plot, missing folder": (
            ["forecast", "--run", finished, "--ticker", "2330.TW", "--plot", missing / "k.png"],
            f"--plot '{missing / 'k.png'}': its folder '{missing}' does not exist; create the folder first",
        ),
    }


def test_an_output_that_cannot_be_written_is_refused_before_the_work(invoke, finished, tmp_path):
    for name, (args, expected) in _unwritable_outputs(tmp_path, finished).items():
        code, stderr = invoke(*args)
        assert code == 2, (name, code, stderr)
        assert stderr.splitlines() == [f"fintune: error: {expected}"], (name, stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "texts.csv"] and (tmp_path / "a file").is_file()


@pytest.mark.parametrize("case", list(SWEEP_CASES))
def test_a_bad_sweep_file(case, invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a sweep writes under ./runs by default: none may appear
    text, expected = SWEEP_CASES[case]
    path = tmp_path / "sweep.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    _one_message(
        invoke,
        {"compare": ["compare", path], "compare --dry-run": ["compare", path, "--dry-run"]},
        expected.replace("{path}", str(path)),
    )
    assert not (tmp_path / "runs").exists()


def test_the_real_entry_point_prints_one_line(tmp_path):
    """One case of each kind through `python -m fintune`, where library warnings would reach the terminal."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG_CASES["nested typo"][0], encoding="utf-8")
    one_line_error(fintune("run", config), "did you mean 'train.epochs'?")
    one_line_error(fintune("run", QUICKSTART, "train.epoch=2"), "override 'train.epoch=2'")
    one_line_error(fintune("data", "show", tmp_path / "none.csv"), f"file '{tmp_path / 'none.csv'}' not found")
    (tmp_path / "not a run").mkdir()
    one_line_error(fintune("predict", "--run", tmp_path / "not a run", "x"), "is not a finished run (no config.yaml)")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP_CASES["top-level typo"][0], encoding="utf-8")
    one_line_error(fintune("compare", sweep, "--dry-run"), "did you mean 'axes'?")
