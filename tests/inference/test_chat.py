"""`fintune chat`: a text goes into the run's prompt; label probabilities and the greedy answer come back."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fintune.data.prompts import PromptTemplate
from fintune.inference.chat import Chat
from fintune.inference.predictor import Predictor
from tests.conftest import ROOT, fintune, one_line_error, tiny_causal_overrides

TEXT = "Operating profit rose to EUR 13.1 mn"


@pytest.fixture(scope="module")
def causal_run(tiny_causal_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    overrides = tiny_causal_overrides(tiny_causal_dir("llama"), root, "chat")
    res = fintune("run", ROOT / "configs/llm/llama_lora_fpb.yaml", *overrides, "eval.generate=false")
    assert res.returncode == 0, res.stderr[-3000:]
    return root / "chat"


def test_once_prints_probabilities_and_an_answer(causal_run):
    res = fintune("chat", "--run", causal_run, "--once", TEXT, "--show-prompt")
    assert res.returncode == 0, res.stderr[-3000:]
    shown_prompt, rest = res.stdout.removeprefix("--- prompt ---\n").split("\n--- end of prompt ---\n")
    lines = dict(line.split(": ", 1) for line in rest.strip().splitlines())
    assert set(lines) == {"label scoring", "answer"}
    cfg = Predictor.load(causal_run).cfg
    assert shown_prompt == PromptTemplate.from_config(cfg.prompt).render(TEXT, ["negative", "neutral", "positive"])
    shown = dict(pair.rsplit(" ", 1) for pair in lines["label scoring"].split("  "))
    assert set(shown) == {"negative", "neutral", "positive"} and sum(map(float, shown.values())) == pytest.approx(
        1, abs=2e-3
    )


def test_the_reply_is_the_runs_own_label_scoring(causal_run):
    predictor = Predictor.load(causal_run)
    reply = Chat(predictor).reply(TEXT)
    assert reply.probs == predictor.predict([TEXT])[0]["probs"] and isinstance(reply.answer, str)


def test_the_loop_answers_each_line_and_ends_cleanly_on_ctrl_d(causal_run):
    # stdin closes after two lines (one blank): what Ctrl-D does at a terminal
    res = subprocess.run(
        [sys.executable, "-m", "fintune", "chat", "--run", str(causal_run)],
        input=f"{TEXT}\n\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert res.stdout.count("label scoring: ") == 1 and res.stdout.count("answer: ") == 1


def test_an_encoder_run_is_refused_with_one_line(tiny_overrides):
    res = fintune("run", ROOT / "configs/quickstart.yaml", *tiny_overrides, "train.max_steps=1", "eval.baselines=[]")
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = next(o.split("=", 1)[1] for o in tiny_overrides if o.startswith("output_dir=")) + "/tiny"
    one_line_error(fintune("chat", "--run", run_dir, "--once", TEXT), "encoder classifier", "fintune predict")
