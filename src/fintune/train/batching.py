"""Tokenise once, then batch by similar length with dynamic padding.

Random batches of FPB sentences pad to about twice the mean length; grouping by length
roughly halves the tokens the model sees, which on a CPU is roughly half the time.
"""

from __future__ import annotations

import torch

from fintune.data.prompts import encode_answer, encode_prompt, fit_to_length


class _EncodedIds:
    """Token ids of every example, computed once so tokenisation stays off the training hot path."""

    input_ids: list[list[int]]
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    def n_tokens(self, idx: list[int]) -> int:
        return sum(len(self.input_ids[i]) for i in idx)

    def _padded(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention mask) of the examples `idx`, right-padded to the longest of them."""
        width = max(len(self.input_ids[i]) for i in idx)
        ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            seq = self.input_ids[i]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        return ids, mask


class EncodedTexts(_EncodedIds):
    """Texts and class indices for encoder classifiers."""

    def __init__(self, tokenizer, texts: list[str], labels: list[int], max_length: int):
        enc = tokenizer(texts, truncation=True, max_length=max_length)
        self.input_ids: list[list[int]] = enc["input_ids"]
        self.token_type_ids = enc.get("token_type_ids")
        self.labels = labels
        self.pad_id = tokenizer.pad_token_id or 0

    def loss_denominator(self, idx: list[int]) -> float:
        """What the mean loss over `idx` divides by: the count, or the sum of class weights when set."""
        weights = getattr(self, "class_weights", None)
        return float(len(idx)) if weights is None else float(sum(weights[self.labels[i]] for i in idx))

    def collate(self, idx: list[int]) -> dict[str, torch.Tensor]:
        ids, mask = self._padded(idx)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([self.labels[i] for i in idx])}
        if self.token_type_ids is not None:
            batch["token_type_ids"] = torch.zeros_like(ids)
        return batch


def epoch_batches(data: EncodedTexts, batch_size: int, seed: int, epoch: int, group_by_length: bool) -> list:
    """The batches of one epoch, a pure function of (seed, epoch) so a resumed run sees the same ones."""
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(len(data), generator=gen).tolist()
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    # Sort within chunks of 50 batches (as transformers' LengthGroupedSampler does): similar lengths
    # share a batch, while the chunk boundaries keep enough randomness between epochs.
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: -len(data.input_ids[i]))
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    shuffle = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in shuffle]


class EncodedInstructions(_EncodedIds):
    """Prompt + answer token ids for causal LMs; the loss falls on the answer tokens only."""

    IGNORE = -100  # the label id that transformers' causal-LM loss skips

    def __init__(self, tokenizer, prompts: list[str], answers: list[str], max_length: int, chat=None):

        self.input_ids: list[list[int]] = []
        self.n_prompt: list[int] = []
        for prompt, answer in zip(prompts, answers):
            answer_ids = encode_answer(tokenizer, answer)
            prompt_ids = fit_to_length(encode_prompt(tokenizer, prompt, chat), answer_ids, max_length)
            self.input_ids.append(prompt_ids + answer_ids)
            self.n_prompt.append(len(prompt_ids))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def loss_denominator(self, idx: list[int]) -> float:
        """Answer tokens the causal-LM loss averages over: the labels shift by one, so position 0 never counts."""
        return float(sum(len(self.input_ids[i]) - max(self.n_prompt[i], 1) for i in idx))

    def collate(self, idx: list[int]) -> dict[str, torch.Tensor]:
        """Left-padded, so every answer ends in the last column (train/answer_loss.py keeps only those logits);
        explicit position ids keep the padding from shifting any real token's position."""
        width = max(len(self.input_ids[i]) for i in idx)
        ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        labels = torch.full_like(ids, self.IGNORE)
        for row, i in enumerate(idx):
            seq = self.input_ids[i]
            offset = width - len(seq)
            ids[row, offset:] = torch.tensor(seq)
            mask[row, offset:] = 1
            labels[row, offset + self.n_prompt[i] :] = ids[row, offset + self.n_prompt[i] :]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "labels": labels}
