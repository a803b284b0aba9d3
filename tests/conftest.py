"""Shared fixtures: the tiny sentiment CSV, a tiny random BERT built from a config, config factories."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

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
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
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


@pytest.fixture
def tiny_overrides(tiny_model_dir, tmp_path) -> list[str]:
    """Overrides that make configs/quickstart.yaml a seconds-long run on the tiny model and CSV."""
    return [
        f"model.path={tiny_model_dir}",
        f"data.source={TINY_CSV}",
        f"output_dir={tmp_path / 'runs'}",
        "name=tiny",
        "data.max_length=32",
        "train.epochs=2",
        "train.batch_size=8",
        "train.learning_rate=0.01",
        "adapter.r=4",
        "adapter.alpha=8",
    ]
