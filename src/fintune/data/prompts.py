"""Instruction prompts for causal LMs, and the one way prompt + answer become token ids.

FinGPT's sentiment prompt is the default so that numbers are comparable with its tables.
Training, label scoring and generation all tokenise through `encode_prompt` / `encode_answer`,
so the model is scored on exactly the token sequence it was trained to produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from fintune.config import PromptConfig

FINGPT_INSTRUCTION = PromptConfig.model_fields["instruction"].default
FINGPT_TEMPLATE = PromptConfig.model_fields["template"].default


@dataclass(frozen=True)
class PromptTemplate:
    instruction: str = FINGPT_INSTRUCTION
    """May use {choices} (labels joined by '/')."""
    template: str = FINGPT_TEMPLATE
    """Must use {instruction} and {input}; the answer is appended right after it."""

    @classmethod
    def from_config(cls, cfg: PromptConfig) -> PromptTemplate:
        return cls(cfg.instruction, cfg.template)

    def render(self, text: str, labels: list[str]) -> str:
        instruction = self.instruction.format(choices="/".join(labels))
        return self.template.format(instruction=instruction, input=text)


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """Prompt ids, with the tokenizer's BOS (if it adds one) and no EOS."""
    ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    if tokenizer.eos_token_id is not None and ids and ids[-1] == tokenizer.eos_token_id:
        ids = ids[:-1]
    return ids


def encode_answer(tokenizer, answer: str, with_eos: bool = True) -> list[int]:
    """Answer ids, tokenised on their own (as LLaMA-Factory does) so prompt and answer never merge."""
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if with_eos and tokenizer.eos_token_id is not None:
        ids = ids + [tokenizer.eos_token_id]
    return ids


def fit_to_length(prompt_ids: list[int], answer_ids: list[int], max_length: int, keep_tail: int = 8) -> list[int]:
    """Shorten a long prompt from the middle of its input, keeping the final cue ("Answer: ") intact."""
    budget = max_length - len(answer_ids)
    if len(prompt_ids) <= budget:
        return prompt_ids
    tail = min(keep_tail, max(budget, 0))
    return prompt_ids[: max(budget - tail, 0)] + prompt_ids[len(prompt_ids) - tail :]
