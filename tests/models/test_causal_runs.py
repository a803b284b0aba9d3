"""`fintune run configs/llm/<family>_lora_fpb.yaml model.path=DIR` on tiny random models of each family."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fintune.config import ModelConfig
from fintune.errors import FintuneError
from fintune.inference.predictor import Predictor
from fintune.models.loading import load_model_config
from tests.conftest import CAUSAL_FAMILIES, tiny_causal_overrides

ROOT = Path(__file__).resolve().parents[2]


def _run(config: str, *overrides):
    cmd = [sys.executable, "-m", "fintune", "run", str(ROOT / config), *map(str, overrides)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)


# llama runs by default (the SmolLM2 architecture); the other families' runs are slow tests
@pytest.mark.parametrize(
    "family", [f if f == "llama" else pytest.param(f, marks=pytest.mark.slow) for f in CAUSAL_FAMILIES]
)
def test_family_lora_run_trains_evaluates_both_ways_and_reloads(family, tiny_causal_dir, tmp_path):
    res = _run(f"configs/llm/{family}_lora_fpb.yaml", *tiny_causal_overrides(tiny_causal_dir(family), tmp_path, family))
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / family
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train"]["model_kind"] == "causal"
    losses = [loss for _, _, loss in json.loads((run / "train_log.json").read_text())]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, "training loss must go down"
    assert metrics["test"]["n"] == metrics["test_generate"]["n_total"]
    assert "n_unparsed" in metrics["test_generate"]
    assert metrics["test_generate"]["max_new_tokens"] == 2, "a fine-tuned model needs its label and EOS only"
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    predictions = __import__("pandas").read_csv(run / "predictions.csv")
    again = Predictor.load(run).predict_proba(list(predictions["text"]))
    written = predictions[["prob_negative", "prob_neutral", "prob_positive"]].to_numpy()
    assert abs(again - written).max() < 1e-4, "a reloaded run reproduces its predictions"


def test_zero_shot_run_evaluates_the_base_model(tiny_causal_dir, tmp_path):
    res = _run(
        "configs/llm/llama_lora_fpb.yaml",
        *tiny_causal_overrides(tiny_causal_dir("llama"), tmp_path, "zs"),
        "adapter.method=none",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((tmp_path / "zs" / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 0 and metrics["train"]["trainable_params"] == 0
    assert Predictor.load(tmp_path / "zs").predict(["profit rose"])[0]["label"] in {"negative", "neutral", "positive"}
    # zero-shot: label scoring on validation both with and without contextual calibration
    calibration = metrics["calibration"]
    assert calibration["used"] == "none" and set(calibration["validation"]) == {"none", "content_free"}
    assert calibration["validation"]["none"]["accuracy"] == pytest.approx(metrics["validation"]["accuracy"])
    assert metrics["test_generate"]["max_new_tokens"] == 16  # a base model answers in a sentence

    table = subprocess.run(
        [sys.executable, "-m", "fintune", "table", str(tmp_path / "zs"), str(tmp_path / "zs")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout.count("baseline: majority") == 1 and table.stdout.count("generate-and-parse") == 2
    other = tmp_path / "other"
    __import__("shutil").copytree(tmp_path / "zs", other)
    metrics["data"]["source"] = "elsewhere"
    (other / "metrics.json").write_text(json.dumps(metrics))
    mixed = subprocess.run(
        [sys.executable, "-m", "fintune", "table", str(tmp_path / "zs"), str(other)], capture_output=True, text=True
    )
    assert mixed.returncode == 2 and "different splits" in mixed.stderr


@pytest.mark.parametrize("model_type", ["baichuan", "chatglm"])
def test_remote_code_families_need_explicit_trust(tmp_path, model_type):
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": model_type, "auto_map": {"AutoConfig": f"configuration_{model_type}.Config"}})
    )
    with pytest.raises(FintuneError, match="ships its own code; set model.trust_remote_code=true"):
        load_model_config(ModelConfig(path=str(tmp_path)))


def test_gradient_checkpointing_with_lora_reaches_the_adapters(tiny_causal_dir):
    """Frozen embeddings + checkpointing must still give LoRA weights a gradient (non-reentrant checkpointing)."""
    import torch

    from fintune.config import AdapterConfig
    from fintune.methods import apply_method
    from fintune.models.causal import load_causal

    cfg = ModelConfig(path=str(tiny_causal_dir("llama")), kind="causal")
    tokenizer, model = load_causal(cfg, AdapterConfig(method="lora", r=4, alpha=8))
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_method(model, AdapterConfig(method="lora", r=4, alpha=8), causal=True)
    model.train()
    ids = torch.tensor([tokenizer("Instruction : profit rose Answer : positive")["input_ids"]])
    model(input_ids=ids, labels=ids).loss.backward()
    grads = [
        p.grad for name, p in model.named_parameters() if "lora_B" in name
    ]  # B starts at zero, so A gets no gradient on step one
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
