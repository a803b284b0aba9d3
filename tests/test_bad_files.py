"""One bad user file, one message: `run`, `data show`, `eval --data` and `predict --input` all read user tables
through data/tables.py, so each bad file below gets the same line (file, and line or row) from each of them."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, fintune, one_line_error, tiny_run_overrides

QUICKSTART = ROOT / "configs/quickstart.yaml"

BAD_FILES = {
    "empty.csv": (b"", " is empty"),
    "latin.csv": (
        "text,label\nprofit rose,positive\nM\xfcller gained,positive\n".encode("latin-1"),
        " is not UTF-8 (line 3)",
    ),
    "fields.csv": (
        b"text,label\nprofit rose,positive\nsales, they fell,negative\n",
        ", line 3: expected 2 fields, saw 3",
    ),
    "blank.csv": (b'text,label\nprofit rose,positive\n"",negative\n', ", row 3: column 'text' is empty"),
}


@pytest.fixture(scope="module")
def finished(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-files")
    res = fintune("run", QUICKSTART, *tiny_run_overrides(tiny_model_dir, root / "runs"), "train.max_steps=1")
    assert res.returncode == 0, res.stderr[-3000:]
    return root, root / "runs" / "tiny"


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_every_command_gives_a_bad_file_the_same_line(name, finished, tiny_model_dir):
    root, run = finished
    path = root / name
    content, what = BAD_FILES[name]
    path.write_bytes(content)
    message = f"file '{path}'{what}"  # the whole message up to any command's own hint
    commands = {
        "run": ["run", QUICKSTART, *tiny_run_overrides(tiny_model_dir, root / "other-runs"), f"data.source={path}"],
        "data show": ["data", "show", path],
        "eval": ["eval", "--run", run, "--data", path],
        "predict": ["predict", "--run", run, "--input", path, "--output", root / "scored.csv"],
    }
    for args in commands.values():
        one_line_error(fintune(*args), message)
    assert not (root / "other-runs").exists() and not (root / "scored.csv").exists()
