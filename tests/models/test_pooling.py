"""Mean pooling for sentence-transformers checkpoints: masked, and chosen from the checkpoint's own config."""

import torch

from fintune.config import ModelConfig
from fintune.models.encoder import load_classifier
from fintune.models.pooling import MeanPooler, resolve_pooling
from fintune.models.registry import resolve_model_path

LABELS = ["negative", "neutral", "positive"]


def test_bundled_minilm_resolves_to_mean_and_plain_bert_to_cls(tiny_model_dir):
    assert resolve_pooling("auto", resolve_model_path("minilm")) == "mean"
    assert resolve_pooling("auto", str(tiny_model_dir)) == "cls"
    assert resolve_pooling("mean", str(tiny_model_dir)) == "mean"


def test_mean_pooling_ignores_padding(tiny_model_dir):
    tokenizer, model = load_classifier(ModelConfig(path=str(tiny_model_dir), pooling="mean"), LABELS)
    assert isinstance(model.bert.pooler, MeanPooler)
    model.eval()
    alone = tokenizer(["profit rose"], return_tensors="pt")
    padded = tokenizer(
        ["profit rose", "net sales of the company fell in the third quarter"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        a = model(**alone).logits[0]
        b = model(**padded).logits[0]
    assert torch.allclose(a, b, atol=1e-5), "padding must not change a sentence's prediction"
