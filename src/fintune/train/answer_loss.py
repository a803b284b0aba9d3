"""The causal-LM training loss, computed from the answer positions only.

A model's own loss (`model(**batch, labels=...)`) projects every position through the LM head: a
(batch, length, vocab) tensor, almost all of it prompt positions that carry no loss. For FPB with SmolLM2 that is
~97 % of the head's work (3 answer tokens of ~90), and for Gemma 3's 262k vocabulary the fp32 tensor alone is 1 GiB
at batch 8 x 128. `EncodedInstructions` pads on the left, so every answer ends in the last column, and the model is
asked for the logits of the last few columns only (`logits_to_keep`), which covers every row's answer.
"""

from __future__ import annotations

import torch

from fintune.models.forward_args import forward_accepts

IGNORE = -100  # the label id that carries no loss


def answer_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy over the answer tokens of a left-padded batch (`labels` = IGNORE elsewhere).

    Equal to the model's own shifted causal-LM loss over the same labels; only the LM head's work differs.
    """
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    width = labels.shape[1]
    has_answer = labels != IGNORE
    first = int(torch.where(has_answer.any(0))[0].min())  # the earliest answer column of any row
    keep = width - first + 1  # plus the column whose logits predict the first answer token
    if forward_accepts(model, "logits_to_keep"):
        logits = model(**inputs, logits_to_keep=keep).logits
    else:  # remote-code models (Baichuan2, ChatGLM) have no such argument: project everything, then slice
        logits = model(**inputs).logits[:, -keep:]
    # Logits at column t predict token t + 1: the kept columns first-1 .. width-2 predict tokens first .. width-1.
    predicted = logits[:, :-1].float()
    targets = labels[:, first:]
    return torch.nn.functional.cross_entropy(
        predicted.reshape(-1, predicted.shape[-1]), targets.reshape(-1), ignore_index=IGNORE
    )
