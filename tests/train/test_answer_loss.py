"""The answer-only loss equals the model's own causal-LM loss, with gradients, on tiny models of each family."""

import pytest
import torch

from fintune.data.prompts import PromptTemplate
from fintune.train.answer_loss import answer_loss
from fintune.train.batching import EncodedInstructions

LABELS = ["negative", "neutral", "positive"]
TEXTS = ["profit rose", "the company will cut jobs and sales fell sharply this year", "sales were flat", "loss"]


def _right_padded_batch(data: EncodedInstructions, idx: list[int]) -> dict:
    """What the model's own loss sees: right padding, labels on the answer tokens only."""
    width = max(len(data.input_ids[i]) for i in idx)
    ids = torch.full((len(idx), width), data.pad_id)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for row, i in enumerate(idx):
        seq = data.input_ids[i]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        labels[row, data.n_prompt[i] : len(seq)] = torch.tensor(seq[data.n_prompt[i] :])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_answer_loss_equals_the_models_own_loss_and_gradients(family, tiny_causal_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_causal_dir(family)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).float()
    template = PromptTemplate()
    answers = ["positive", "negative", "neutral", "negative"]
    data = EncodedInstructions(tokenizer, [template.render(t, LABELS) for t in TEXTS], answers, max_length=64)
    idx = [0, 1, 2, 3]
    assert len({len(data.input_ids[i]) for i in idx}) > 1  # the batch really is padded

    model.zero_grad()
    expected = model(**_right_padded_batch(data, idx)).loss
    expected.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]

    model.zero_grad()
    batch = data.collate(idx)
    assert (batch["input_ids"][:, -1] == tokenizer.eos_token_id).all()  # left-padded: every answer ends last
    got = answer_loss(model, batch)
    got.backward()
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    for g, e in zip((p.grad for p in model.parameters()), expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


def test_the_lm_head_sees_only_the_answer_columns(tiny_causal_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_causal_dir("llama")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    data = EncodedInstructions(tokenizer, [PromptTemplate().render(t, LABELS) for t in TEXTS], LABELS + ["neutral"], 64)
    widths = []
    model.get_output_embeddings().register_forward_hook(lambda _m, args, _out: widths.append(args[0].shape[1]))
    batch = data.collate([0, 1, 2, 3])
    answer_loss(model, batch)
    longest_answer = max(len(data.input_ids[i]) - data.n_prompt[i] for i in range(4))
    assert widths == [longest_answer + 1] and longest_answer + 1 < batch["input_ids"].shape[1] / 3
