"""A seeded 2-layer random BERT and a batch for it: what the int8-preparation tests edit outliers into."""

import torch
from transformers import BertConfig, BertModel


def tiny_bert_and_batch() -> tuple[BertModel, dict]:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    model = BertModel(config).eval()
    batch = {"input_ids": torch.randint(0, 50, (4, 9)), "attention_mask": torch.ones(4, 9, dtype=torch.long)}
    return model, batch
