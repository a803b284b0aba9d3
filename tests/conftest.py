"""Shared fixtures: the tiny sentiment CSV, a tiny random BERT built from a config, config factories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).parent / "assets"
TINY_CSV = ASSETS / "sentiment_tiny.csv"

needs_data = pytest.mark.skipif(
    not os.environ.get("FINTUNE_DATA_DIR"), reason="FINTUNE_DATA_DIR is not set (shared datasets not available)"
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random BERT encoder (no head, like a pretrained checkpoint) and a
    word-level vocabulary of the tiny CSV, saved as safetensors.

    Loading it goes through exactly the code path of a hub id or local directory.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = sorted(set(re.findall(r"[a-z]+|\d", TINY_CSV.read_text(encoding="utf-8").lower())))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # `vocab=`: transformers 5 ignores `vocab_file=` here and would map every word to [UNK]
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"))
    assert tokenizer.unk_token_id not in tokenizer("profit rose")["input_ids"]  # the words are known
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_run_overrides(model_dir: Path, output_dir: Path) -> list[str]:
    """Overrides that make configs/quickstart.yaml a seconds-long run named `tiny` on the tiny model and CSV."""
    return [
        f"model.path={model_dir}",
        f"data.source={TINY_CSV}",
        f"output_dir={output_dir}",
        "name=tiny",
        "data.max_length=32",
        "train.epochs=2",
        "train.batch_size=8",
        "train.learning_rate=0.01",
        "adapter.r=4",
        "adapter.alpha=8",
    ]


@pytest.fixture
def tiny_overrides(tiny_model_dir, tmp_path) -> list[str]:
    return tiny_run_overrides(tiny_model_dir, tmp_path / "runs")


def yahoo_bars(dates, seed: int = 0):
    """Daily bars of a random walk in Yahoo's layout (Date, Open, High, Low, Close, Adj Close, Volume)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, len(dates))))
    opens = np.r_[100.0, close[:-1]]
    high, low = np.maximum(opens, close) * 1.01, np.minimum(opens, close) * 0.99
    return pd.DataFrame(
        {"Date": dates.strftime("%Y-%m-%d"), "Open": opens, "High": high, "Low": low, "Close": close}
    ).assign(**{"Adj Close": close, "Volume": 1000.0})


def fintune(*args, env=None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "fintune", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def one_line_error(res, *fragments) -> None:
    """Exit code 2 and exactly one `fintune: error:` line holding every fragment, no traceback."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fintune: error: "), res.stderr
    assert "Traceback" not in res.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


CAUSAL_FAMILIES = ("llama", "qwen2", "mistral", "gpt2")


def tiny_causal_overrides(model_dir: Path, output_dir: Path, name: str) -> list[str]:
    """Overrides that make a configs/llm/*.yaml a seconds-long run on a tiny causal LM and the tiny CSV."""
    return [
        f"model.path={model_dir}",
        f"data.source={TINY_CSV}",
        f"output_dir={output_dir}",
        f"name={name}",
        "data.max_length=64",
        "train.epochs=2",
        "train.batch_size=8",
        "train.gradient_accumulation_steps=1",
        "train.learning_rate=0.01",
        "train.gradient_checkpointing=false",
        "eval.batch_size=8",
    ]


def _tiny_word_tokenizer(folder: Path, corpus: list[str], with_bos: bool):
    """A word-level tokenizer trained offline on `corpus`, saved as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<unk>", "<s>", "</s>", "<pad>"]))
    if with_bos:  # Llama-style: BOS in front of every prompt
        raw.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>" if with_bos else None,  # GPT-2 ships without a pad token
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


@pytest.fixture(scope="session")
def tiny_causal_dir(tmp_path_factory):
    """family -> folder with a 2-layer, 32-wide random causal LM of that family and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

    from fintune.data.prompts import PromptTemplate

    labels = ["negative", "neutral", "positive"]
    corpus = [PromptTemplate().render(line, labels) for line in TINY_CSV.read_text(encoding="utf-8").splitlines()]
    built = {}

    def build(family: str) -> Path:
        if family in built:
            return built[family]
        folder = tmp_path_factory.mktemp(f"tiny-{family}")
        tok = _tiny_word_tokenizer(folder, corpus + [" ".join(labels)], with_bos=family != "gpt2")
        common = dict(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        if family == "gpt2":
            config = GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=256, **common)
        else:
            cls = {"llama": LlamaConfig, "qwen2": Qwen2Config, "mistral": MistralConfig}[family]
            config = cls(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                num_key_value_heads=2,
                max_position_embeddings=256,
                pad_token_id=tok.pad_token_id,
                **common,
            )
        torch.manual_seed(0)
        AutoModelForCausalLM.from_config(config).save_pretrained(folder, safe_serialization=True)
        built[family] = folder
        return folder

    return build
