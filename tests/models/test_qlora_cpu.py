"""QLoRA without a GPU: bitsandbytes' CPU kernels load a tiny Llama in 4-bit NF4, LoRA trains on it, and the
adapter reloads onto a freshly quantised base with the same predictions."""

import json

import pandas as pd
import pytest

from fintune.inference.predictor import Predictor
from tests.conftest import tiny_causal_overrides
from tests.models.test_causal_runs import _run

pytest.importorskip("bitsandbytes", reason="bitsandbytes is part of the dev install (make install)")


def _tiny_llama_64(tiny_causal_dir, folder):
    """The tiny Llama at width 64: bitsandbytes' CPU 4-bit kernels pack weights in blocks of 64 input features."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    source = tiny_causal_dir("llama")
    shutil.copytree(source, folder)
    config = AutoConfig.from_pretrained(source)
    config.hidden_size, config.intermediate_size, config.head_dim = 64, 128, 32
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder, safe_serialization=True)
    return folder


def test_qlora_trains_two_steps_on_cpu_and_its_adapter_reloads(tiny_causal_dir, tmp_path):
    res = _run(
        "configs/llm/llama_qlora_fpb.yaml",
        *tiny_causal_overrides(_tiny_llama_64(tiny_causal_dir, tmp_path / "llama64"), tmp_path, "q"),
        "train.max_steps=2",
        "eval.generate=false",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "qlora on a CPU" in res.stderr
    run = tmp_path / "q"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 2
    losses = [loss for _, _, loss in json.loads((run / "train_log.json").read_text())]
    assert len(losses) == 2 and all(loss == loss and loss > 0 for loss in losses)
    assert (run / "adapter" / "adapter_model.safetensors").is_file()

    predictor = Predictor.load(run)
    base = predictor.model.get_base_model() if hasattr(predictor.model, "get_base_model") else predictor.model
    assert getattr(base, "is_loaded_in_4bit", False), "the reloaded base is quantised again, not merged"
    written = pd.read_csv(run / "predictions.csv")
    again = predictor.predict_proba(list(written["text"]))
    assert abs(again - written[["prob_negative", "prob_neutral", "prob_positive"]].to_numpy()).max() < 1e-4
