"""`fintune export --gguf`: a tiny random Llama + LoRA run written as GGUF, read back by transformers' reader.

The tiny runs train on the tiny CSV; one run's base is a .gguf file (tokenizer metadata copied from it), the other's
a safetensors folder with a byte-level BPE tokenizer (tokenizer metadata written from tokenizer.json).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fintune.export.gguf_check import load_gguf
from fintune.export.modelfile import full_prompt
from fintune.inference.predictor import Predictor
from tests.conftest import ROOT, TINY_CSV, fintune, one_line_error, tiny_causal_overrides, tiny_run_overrides
from tests.models.gguf_fixture import build_source, write_gguf


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """{"gguf": a LoRA run on a tiny .gguf base, "folder": the same on its safetensors folder}; FINTUNE_HOME."""
    root = tmp_path_factory.mktemp("gguf-export")
    source = build_source(root / "source", tie=False)
    (root / "gguf").mkdir()
    path = write_gguf(source, root / "gguf" / "tiny-llama.gguf")
    env = {"FINTUNE_HOME": str(root / "home")}
    runs = {}
    for name, base in (("gguf", path), ("folder", source)):
        res = fintune(
            "run",
            ROOT / "configs/llm/llama_lora_fpb.yaml",
            *tiny_causal_overrides(base, root / "runs", name),
            "eval.generate=false",
            env=env,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        runs[name] = root / "runs" / name
    return runs, env


@pytest.mark.parametrize("base", ["gguf", "folder"])
def test_f32_export_reloads_with_identical_label_predictions(base, tiny_runs, tmp_path):
    runs, env = tiny_runs
    out = tmp_path / "out"
    res = fintune("export", "--run", runs[base], "--out", out, "--gguf", "--gguf-type", "f32", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads((out / "gguf_export.json").read_text())
    assert info["check"]["passed"] and info["check"]["tokenization_mismatches"] == 0
    assert info["check"]["label_agreement"] == 1.0 and info["check"]["max_abs_logit_diff"] < 1e-3
    n = info["check"]["prompts"]
    checked = f"fintune: check passed on {n} {info['check']['on']} prompts: tokens equal on {n}/{n}, labels equal"
    assert checked in res.stderr and "export: writing" in res.stderr  # says what it does and what it found
    assert ("copied from tiny-llama.gguf" in info["tokenizer"]) == (base == "gguf")
    file = out / info["file"]
    assert file.stat().st_size == info["bytes"] and info["architecture"] == "llama"

    # independently of the export's own check: label scoring through the reloaded file equals the run's
    texts = [line.rsplit(",", 1)[0] for line in TINY_CSV.read_text(encoding="utf-8").splitlines()[1:]]
    reference = Predictor.load(runs[base])
    tokenizer, model = load_gguf(file)
    reloaded = Predictor(runs[base], reference.cfg, reference.labels, tokenizer, model, "causal")
    ours, theirs = reference.predict_proba(texts), reloaded.predict_proba(texts)
    assert (ours.argmax(1) == theirs.argmax(1)).all()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)

    modelfile = (out / "Modelfile").read_text()
    assert f"FROM ./{info['file']}" in modelfile and "{{ .Prompt }}" in modelfile
    assert "negative, neutral, positive" in modelfile
    # Ollama's TEMPLATE with a text in place of {{ .Prompt }} is the run's own prompt for that text
    template = modelfile.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    prompt = full_prompt(reference.cfg, reference.tokenizer, reference.labels, texts[0])
    bos = reference.tokenizer.bos_token or ""
    assert template.replace("{{ .Prompt }}", texts[0]) in (prompt, prompt.removeprefix(bos))


def test_q8_0_export_reports_its_agreement(tiny_runs, tmp_path):
    runs, env = tiny_runs
    f32, q8 = tmp_path / "f32", tmp_path / "q8"
    for out, kind in ((f32, "f32"), (q8, "q8_0")):
        res = fintune("export", "--run", runs["gguf"], "--out", out, "--gguf", "--gguf-type", kind, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads((q8 / "gguf_export.json").read_text())
    assert info["gguf_type"] == "q8_0" and info["check"]["prompts"] > 0
    assert 0.0 <= info["check"]["label_agreement"] <= 1.0
    assert info["check"]["max_abs_logit_diff"] > 0  # 8-bit weights are not the fp32 ones
    assert info["bytes"] < 0.5 * json.loads((f32 / "gguf_export.json").read_text())["bytes"]


def test_encoder_runs_and_bad_types_get_one_line(tiny_runs, tmp_path, tiny_model_dir):
    runs, env = tiny_runs
    encoder = fintune("run", ROOT / "configs/quickstart.yaml", *tiny_run_overrides(tiny_model_dir, tmp_path))
    assert encoder.returncode == 0, encoder.stderr[-2000:]
    res = fintune("export", "--run", tmp_path / "tiny", "--out", tmp_path / "a", "--gguf", env=env)
    one_line_error(res, "encoder", "GGUF")
    res = fintune("export", "--run", runs["gguf"], "--out", tmp_path / "b", "--gguf", "--gguf-type", "q4", env=env)
    one_line_error(res, "--gguf-type", "q4")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_file_failing_its_check_leaves_nothing(tiny_runs, tmp_path, monkeypatch):
    """The writer is handed weights that are not the merged model's: the read-back check must catch it."""
    import copy

    import torch

    from fintune.errors import FintuneError
    from fintune.export import gguf_export

    runs, env = tiny_runs
    monkeypatch.setenv("FINTUNE_HOME", env["FINTUNE_HOME"])
    real_write = gguf_export.write_gguf

    def write_other_weights(path, model, *args):
        other = copy.deepcopy(model)
        with torch.no_grad():
            for weight in other.parameters():
                weight.mul_(1.5)
        return real_write(path, other, *args)

    monkeypatch.setattr(gguf_export, "write_gguf", write_other_weights)
    out = tmp_path / "out"
    with pytest.raises(FintuneError, match="GGUF check failed"):
        gguf_export.export_gguf(runs["gguf"], out, "f32")
    assert not out.exists() and not list(tmp_path.iterdir())  # no file, no .partial folder


def test_unsupported_family_is_refused():
    from transformers import GPT2Config

    from fintune.errors import FintuneError
    from fintune.export.gguf_layout import architecture

    with pytest.raises(FintuneError, match="'gpt2'"):
        architecture(GPT2Config())


@pytest.mark.parametrize("family", ["llama-tied", "qwen2"])
def test_each_family_round_trips_through_transformers_reader(family, tmp_path):
    """No run: a random model of the family written as F32 GGUF and read back gives the same logits."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    from fintune.export.gguf_export import write_gguf
    from tests.models.gguf_fixture import train_tokenizer

    tokenizer = train_tokenizer(tmp_path / "tok")
    sizes = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=2)
    sizes |= dict(num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5)
    torch.manual_seed(0)
    if family == "qwen2":  # q/k/v biases, no row permutation
        model = Qwen2ForCausalLM(Qwen2Config(**sizes, tie_word_embeddings=False, initializer_range=0.2))
    else:
        model = LlamaForCausalLM(LlamaConfig(**sizes, tie_word_embeddings=True, initializer_range=0.2))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith(".bias"):
                param.add_(0.3 * torch.randn_like(param))
    model.eval()
    path = tmp_path / "m.gguf"
    write_gguf(path, model, AutoTokenizer.from_pretrained(tmp_path / "tok"), None, f"tiny-{family}", "f32")

    _, reloaded = load_gguf(path)
    ids = torch.tensor([tokenizer("Orion Retail net profit rose 9 percent")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-4, rtol=0)
