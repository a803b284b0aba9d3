"""FinGPT-style evaluation: generate a short answer greedily, then parse a label out of it.

FinGPT maps an answer to 'positive' if the word occurs in it, else 'negative' if that occurs, else 'neutral'.
`parse_label` keeps the substring rule but returns None instead of defaulting to a class, and
`generation_metrics` reports those unparsed answers rather than hiding them inside 'neutral'.
"""

from __future__ import annotations

import numpy as np
import torch

from fintune.data.prompts import ChatFormat, encode_answer, encode_prompt, fit_to_length
from fintune.eval.metrics import classification_metrics
from fintune.eval.scoring import pad_sequences, padding_id
from fintune.progress import progress_bar

UNPARSED = "<unparsed>"


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


def parse_label(text: str, labels: list[str]) -> str | None:
    """The label whose name occurs earliest in the lower-cased text (a tie goes to the longer name), else None.

    Substring matching as in FinGPT, so 'Positive.' and 'mostly negative but' parse; 'not positive' also parses
    as positive, which is FinGPT's behaviour too.
    """
    lowered = text.lower()
    best: tuple[int, int] | None = None
    found = None
    for label in labels:
        pos = lowered.find(label.lower())
        if pos < 0:
            continue
        key = (pos, -len(label))
        if best is None or key < best:
            best, found = key, label
    return found


def generation_metrics(y_true: list[str], answers: list[str], labels: list[str]) -> dict:
    """The `classification_metrics` block for parsed answers, with unparsed answers counted as wrong.

    An unparsed answer becomes the prediction UNPARSED, which is never one of `labels`, so:
    - accuracy, MCC, per-class recall and the F1 / precision / recall averages are over all `n_total`
      examples; an unparsed answer is a miss for its true class and a false positive for none
      (so f1_micro can exceed accuracy when answers go unparsed); per-class supports sum to `n_total`;
    - `confusion_matrix` stays len(labels) x len(labels) over the parsed answers only and sums to `n`
      (= n_total - n_unparsed), the shape the run-directory checker expects;
    - `unparsed_by_label` is the missing column: unparsed answers per true label, so each matrix row plus
      its `unparsed_by_label` entry equals that label's support.
    Nothing unparsed is ever relabelled as a class (FinGPT calls it 'neutral').
    """
    if not y_true:
        raise ValueError("no examples to score")
    if len(y_true) != len(answers):
        raise ValueError(f"{len(y_true)} true labels but {len(answers)} answers")
    if UNPARSED in labels:
        raise ValueError(f"{UNPARSED!r} is reserved and cannot be a label")
    unknown = sorted(set(y_true) - set(labels))
    if unknown:
        raise ValueError(f"true labels {unknown} are not in labels {labels}")
    parsed = [parse_label(a, labels) for a in answers]
    y_pred = [UNPARSED if p is None else p for p in parsed]
    block = classification_metrics(y_true, y_pred, labels)
    n_unparsed = y_pred.count(UNPARSED)
    block["n"] = len(y_true) - n_unparsed
    block["n_total"] = len(y_true)
    block["n_unparsed"] = n_unparsed
    block["unparsed_rate"] = n_unparsed / len(y_true)
    block["unparsed_by_label"] = {
        label: sum(t == label and p == UNPARSED for t, p in zip(y_true, y_pred)) for label in labels
    }
    return block


def generate_and_parse(model, tokenizer, frame, labels: list[str], cfg) -> dict:
    """The `test_generate` block of a causal run: FinGPT's prompt, greedy answer, substring parse."""
    from fintune.data.prompts import PromptTemplate

    template = PromptTemplate.from_config(cfg.prompt, tokenizer)
    prompts = [template.render(text, labels) for text in frame["text"]]
    budget = cfg.eval.max_new_tokens or answer_budget(tokenizer, labels, zero_shot=cfg.adapter.method == "none")
    answers = generate_answers(
        model,
        tokenizer,
        prompts,
        budget,
        cfg.eval.batch_size,
        cfg.data.max_length,
        template.chat,
        progress="generate-and-parse",
    )
    return {**generation_metrics(list(frame["label"]), answers, labels), "max_new_tokens": budget}
