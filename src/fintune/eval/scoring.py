"""Label scoring for causal LMs: how likely is each label's token sequence after the prompt.

Scoring never lets the model answer outside the label set, so it gives class probabilities (for log loss,
calibration, ROC) that generate-and-parse cannot. Token ids come from `encode_prompt` / `encode_answer`, the
same ids training used.
"""

from __future__ import annotations

import numpy as np
import torch

from fintune.data.prompts import encode_answer, encode_prompt


def padding_id(tokenizer) -> int:
    """The tokenizer's pad id, else its EOS id: under an attention mask the value of a pad token is irrelevant."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has neither a pad nor an EOS token; set tokenizer.pad_token")
    return tokenizer.eos_token_id


@torch.inference_mode()
def label_log_likelihoods(model, tokenizer, prompts: list[str], labels: list[str], batch_size: int = 16) -> np.ndarray:
    """Summed log-probability of each label's tokens (with EOS) after each prompt, shape (len(prompts), len(labels)).

    The label is `encode_answer(tokenizer, label, with_eos=True)` appended to `encode_prompt(tokenizer, prompt)`;
    EOS is scored so that a label that is a prefix of another (e.g. 'positive' / 'positive outlook') does not
    get the longer label's probability mass. The sum is not length-normalised: it is the probability of
    the exact answer string, which is what a model trained on these sequences learned.

    Cost: one forward pass per (prompt, label) sequence, batched after sorting by length; right padding keeps
    every real token at its unpadded position, so the result equals an unbatched loop up to float error.
    Sharing the prompt's KV cache across labels would cut the cost to about one prompt pass plus short label
    passes; not done yet.
    """
    if not labels:
        raise ValueError("labels is empty")
    model.eval()
    device = next(model.parameters()).device
    pad = padding_id(tokenizer)
    prompt_ids = [encode_prompt(tokenizer, p) for p in prompts]
    label_ids = [encode_answer(tokenizer, label, with_eos=True) for label in labels]
    for i, ids in enumerate(prompt_ids):
        if not ids:
            # The first label token needs a position to be predicted from.
            raise ValueError(f"prompt {i} encodes to no tokens and the tokenizer adds no BOS; cannot score it")
    for label, ids in zip(labels, label_ids):
        if not ids:
            raise ValueError(f"label {label!r} encodes to no tokens")

    items = [(i, j) for i in range(len(prompts)) for j in range(len(labels))]
    items.sort(key=lambda ij: len(prompt_ids[ij[0]]) + len(label_ids[ij[1]]))
    out = np.zeros((len(prompts), len(labels)), dtype=np.float64)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        seqs = [prompt_ids[i] + label_ids[j] for i, j in batch]
        width = max(len(s) for s in seqs)
        input_ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(seqs), width), dtype=torch.long)
        rows, positions, targets = [], [], []
        for b, ((i, j), seq) in enumerate(zip(batch, seqs)):
            input_ids[b, : len(seq)] = torch.tensor(seq)
            attention_mask[b, : len(seq)] = 1
            # Logits at position t predict token t + 1, so the label tokens are predicted from
            # positions len(prompt) - 1 .. len(seq) - 2.
            first = len(prompt_ids[i])
            rows += [b] * len(label_ids[j])
            positions += range(first - 1, len(seq) - 1)
            targets += label_ids[j]
        logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        rows_t = torch.tensor(rows, device=device)
        # Only the label positions go through log_softmax: a full (batch, width, vocab) float copy is large.
        picked = logits[rows_t, torch.tensor(positions, device=device)].float()
        token_logp = torch.log_softmax(picked, dim=-1).gather(1, torch.tensor(targets, device=device)[:, None])[:, 0]
        sums = torch.zeros(len(seqs), dtype=torch.float64, device=device).index_add_(0, rows_t, token_logp.double())
        idx = np.array(batch)
        out[idx[:, 0], idx[:, 1]] = sums.cpu().numpy()
    return out


def label_probabilities(loglik: np.ndarray) -> np.ndarray:
    """Softmax over labels in each row: the model's distribution restricted to the label set."""
    shifted = loglik - loglik.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
