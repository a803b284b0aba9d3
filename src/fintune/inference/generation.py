"""Greedy generation of short answers from a causal LM, batched with left padding, stopping at EOS."""

from __future__ import annotations

import numpy as np
import torch

from fintune.data.prompts import ChatFormat, encode_answer, encode_prompt, fit_to_length
from fintune.inference.label_scoring import pad_sequences, padding_id
from fintune.progress import progress_bar


@torch.inference_mode()
def generate_answers(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int = 8,
    batch_size: int = 16,
    max_length: int | None = None,
    chat: ChatFormat | bool | None = None,
    progress: str | None = None,
) -> list[str]:
    """Greedy answers (new tokens only, special tokens removed), in the order of `prompts`.

    Inputs are `encode_prompt` ids, so generation starts from exactly the prefix training used. Batches are
    padded on the left, so every prompt ends at the last column and all new tokens start at the same index;
    prompts are sorted by length first so each batch pads to little. A batch stops once every row wrote EOS.
    `progress` names the step for a progress bar with rate and ETA.
    """
    model.eval()
    device = next(model.parameters()).device
    pad = padding_id(tokenizer)
    prompt_ids = [encode_prompt(tokenizer, p, chat) for p in prompts]
    if any(not ids for ids in prompt_ids):
        raise ValueError("a prompt encodes to no tokens and the tokenizer adds no BOS; nothing to generate from")
    if max_length:  # shortened as in training, leaving room for the answer
        prompt_ids = [fit_to_length(ids, [0] * max_new_tokens, max_length) for ids in prompt_ids]
    order = np.argsort([len(ids) for ids in prompt_ids], kind="stable")
    answers: list[str] = [""] * len(prompts)
    with progress_bar(progress or "", len(prompts), "prompts", enabled=progress is not None) as advance:
        for start in range(0, len(prompts), batch_size):
            idx = order[start : start + batch_size]
            input_ids, attention_mask = pad_sequences([prompt_ids[i] for i in idx], pad, left=True)
            out = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
                eos_token_id=tokenizer.eos_token_id,
            )
            for i, text in zip(idx, tokenizer.batch_decode(out[:, input_ids.shape[1] :], skip_special_tokens=True)):
                answers[i] = text
            advance(len(idx))
    return answers


ZERO_SHOT_NEW_TOKENS = 16


def answer_budget(tokenizer, labels: list[str], zero_shot: bool) -> int:
    """New tokens generate-and-parse allows when `eval.max_new_tokens` is not set (see EvalConfig)."""
    if zero_shot:
        return ZERO_SHOT_NEW_TOKENS
    return max(len(encode_answer(tokenizer, label, with_eos=True)) for label in labels)
