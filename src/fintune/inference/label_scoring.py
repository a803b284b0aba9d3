"""Label scoring for causal LMs: how likely is each label's token sequence after the prompt.

Scoring never lets the model answer outside the label set, so it gives class probabilities (for log loss,
calibration, ROC) that generate-and-parse cannot. Token ids come from `encode_prompt` / `encode_answer`, the
same ids training used.

The prompt is run once and its key/value cache is shared by every label (`_score_shared_prompt`): for
FPB's three labels that is one prompt pass plus one pass over a few label tokens, instead of three passes
over prompt + label. Models whose cache cannot be copied per label (remote code with tuple caches) fall
back to scoring every prompt + label sequence in full (`_score_full_sequences`); both give the same numbers.
"""

from __future__ import annotations

import numpy as np
import torch

from fintune.data.prompts import ChatFormat, encode_answer, encode_prompt, fit_to_length
from fintune.models.forward_args import forward_accepts
from fintune.progress import progress_bar


def padding_id(tokenizer) -> int:
    """The tokenizer's pad id, else its EOS id: under an attention mask the value of a pad token is irrelevant."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has neither a pad nor an EOS token; set tokenizer.pad_token")
    return tokenizer.eos_token_id


@torch.inference_mode()
def label_log_likelihoods(
    model,
    tokenizer,
    prompts: list[str],
    labels: list[str],
    batch_size: int = 16,
    max_length: int | None = None,
    chat: ChatFormat | bool | None = None,
    share_prompt: bool = True,
    progress: str | None = None,
) -> np.ndarray:
    """Summed log-probability of each label's tokens (with EOS) after each prompt, shape (len(prompts), len(labels)).

    The label is `encode_answer(tokenizer, label, with_eos=True)` appended to `encode_prompt(tokenizer, prompt)`
    (shortened by `fit_to_length` as in training when `max_length` is set); EOS is scored so that a label that
    is a prefix of another (e.g. 'positive' / 'positive outlook') does not get the longer label's probability
    mass. The sum is not length-normalised: it is the probability of the exact answer string, which is what a
    model trained on these sequences learned. `batch_size` counts prompts; `progress` names the step for a progress bar
    with rate and ETA.
    """
    if not labels:
        raise ValueError("labels is empty")
    model.eval()
    label_ids = [encode_answer(tokenizer, label, with_eos=True) for label in labels]
    for label, ids in zip(labels, label_ids):
        if not ids:
            raise ValueError(f"label {label!r} encodes to no tokens")
    longest = max(label_ids, key=len)
    prompt_ids = []
    for i, prompt in enumerate(prompts):
        ids = encode_prompt(tokenizer, prompt, chat)
        if not ids:
            # The first label token needs a position to be predicted from.
            raise ValueError(f"prompt {i} encodes to no tokens and the tokenizer adds no BOS; cannot score it")
        prompt_ids.append(fit_to_length(ids, longest, max_length) if max_length else ids)

    out = np.zeros((len(prompts), len(labels)), dtype=np.float64)
    order = np.argsort([len(ids) for ids in prompt_ids], kind="stable")  # similar lengths pad little
    shared = share_prompt
    with progress_bar(progress or "", len(prompts), "prompts", enabled=progress is not None) as advance:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = [prompt_ids[i] for i in idx]
            scores = _score_shared_prompt(model, batch, label_ids, padding_id(tokenizer)) if shared else None
            if scores is None:
                shared = False
                scores = _score_full_sequences(model, batch, label_ids, padding_id(tokenizer))
            out[idx] = scores
            advance(len(idx))
    return out


def _score_shared_prompt(model, prompt_ids: list[list[int]], label_ids: list[list[int]], pad: int):
    """(B, J) log-likelihoods from one prompt pass whose cache every label reuses; None if the cache can't be shared.

    Prompts are left-padded so their last token sits in the last column: `logits_to_keep=1` then gives exactly
    the distribution of every label's first token, without a (batch, width, vocab) logits tensor. Position ids
    are given explicitly so padding never shifts a real token's position.
    """
    device = next(model.parameters()).device
    n_prompts, n_labels = len(prompt_ids), len(label_ids)
    ids, mask = pad_sequences(prompt_ids, pad, left=True)
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    first = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    cache = getattr(first, "cache", None) or getattr(first, "past_key_values", None)
    if not hasattr(cache, "batch_repeat_interleave"):
        return None
    first_logp = torch.log_softmax(first.logits[:, -1].float(), dim=-1)  # (B, V)

    # Row b * J + j of the label pass continues prompt b with label j. A label's last token is only ever
    # predicted, never fed, so the pass reads every label token but the last.
    cache.batch_repeat_interleave(n_labels)
    label_tok, label_mask = pad_sequences([ids[:-1] or ids for ids in label_ids], pad, left=False)
    label_tok, label_mask = label_tok.to(device), label_mask.to(device)
    lengths = mask.sum(-1)
    # transformers 5 names the argument `cache`; remote-code models still take `past_key_values`
    cache_arg = "cache" if forward_accepts(model, "cache") else "past_key_values"
    rest = model(
        input_ids=label_tok.repeat(n_prompts, 1),
        attention_mask=torch.cat([mask.repeat_interleave(n_labels, 0), label_mask.repeat(n_prompts, 1)], dim=1),
        position_ids=lengths.repeat_interleave(n_labels)[:, None] + torch.arange(label_tok.shape[1], device=device),
        use_cache=True,
        **{cache_arg: cache},
    )
    # Label token k (k >= 1) is predicted from the label pass at position k - 1.
    rest_logp = torch.log_softmax(rest.logits.float(), dim=-1)
    scores = torch.zeros((n_prompts, n_labels), dtype=torch.float64, device=device)
    for j, tokens in enumerate(label_ids):
        scores[:, j] = first_logp[:, tokens[0]].double()
        rows = torch.arange(n_prompts, device=device) * n_labels + j
        for k, token in enumerate(tokens[1:], start=1):
            scores[:, j] += rest_logp[rows, k - 1, token].double()
    return scores.cpu().numpy()


def _score_full_sequences(model, prompt_ids: list[list[int]], label_ids: list[list[int]], pad: int) -> np.ndarray:
    """(B, J) log-likelihoods from one right-padded pass over every prompt + label sequence."""
    device = next(model.parameters()).device
    pairs = [(b, j) for b in range(len(prompt_ids)) for j in range(len(label_ids))]
    ids, mask = pad_sequences([prompt_ids[b] + label_ids[j] for b, j in pairs], pad, left=False)
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
    scores = np.zeros((len(prompt_ids), len(label_ids)), dtype=np.float64)
    for row, (b, j) in enumerate(pairs):
        # Logits at position t predict token t + 1: label tokens come from positions len(prompt) - 1 onwards.
        start = len(prompt_ids[b]) - 1
        logp = torch.log_softmax(logits[row, start : start + len(label_ids[j])].float(), dim=-1)
        scores[b, j] = logp.gather(1, torch.tensor(label_ids[j], device=device)[:, None]).double().sum().item()
    return scores


def pad_sequences(seqs: list[list[int]], pad: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask) of `seqs` padded to the longest; padded by hand rather than through
    tokenizer.padding_side, so no shared tokenizer state is flipped and tokenizers without a pad token work."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        cols = slice(width - len(seq), width) if left else slice(0, len(seq))
        ids[row, cols] = torch.tensor(seq)
        mask[row, cols] = 1
    return ids, mask


def label_probabilities(loglik: np.ndarray) -> np.ndarray:
    """Softmax over labels in each row: the model's distribution restricted to the label set."""
    shifted = loglik - loglik.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
