"""Instruction prompts for causal LMs, and the one way prompt + answer become token ids.

FinGPT's sentiment prompt is the default so that numbers are comparable with its tables. A model whose
tokenizer has a chat template (Llama-2/3-chat, Qwen2-Instruct, Mistral-Instruct) is asked through it instead,
with `instruction\ninput` as the user turn as LLaMA-Factory builds it from an Alpaca record, unless
`prompt.chat_template: never` asks for FinGPT's plain prompt.
Training, label scoring and generation all tokenise through `encode_prompt` / `encode_answer`,
so the model is scored on exactly the token sequence it was trained to produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from fintune.config import PromptConfig
from fintune.errors import FintuneError

FINGPT_INSTRUCTION = PromptConfig.model_fields["instruction"].default
FINGPT_TEMPLATE = PromptConfig.model_fields["template"].default


@dataclass(frozen=True)
class ChatFormat:
    """Ask through the tokenizer's chat template."""

    system: str | None = None
    """A system message sent before the user turn; None: only what the template writes by itself (SmolLM2's writes
    a default one of 17 tokens, 20 % of an FPB prompt)."""


@dataclass(frozen=True)
class PromptTemplate:
    instruction: str = FINGPT_INSTRUCTION
    """May use {choices} (labels joined by '/')."""
    template: str = FINGPT_TEMPLATE
    """Must use {instruction} and {input}; the answer is appended right after it."""
    chat: ChatFormat | None = None
    """Set: render the user turn only; `encode_prompt(..., chat)` wraps it in the tokenizer's chat template."""

    @classmethod
    def from_config(cls, cfg: PromptConfig, tokenizer=None) -> PromptTemplate:
        has_template = bool(getattr(tokenizer, "chat_template", None))
        if cfg.chat_template == "always" and not has_template:
            raise FintuneError("prompt.chat_template is 'always' but this model's tokenizer has no chat template")
        chat = cfg.chat_template == "always" or (cfg.chat_template == "auto" and has_template)
        return cls(cfg.instruction, cfg.template, ChatFormat(cfg.system) if chat else None)

    def render(self, text: str, labels: list[str]) -> str:
        instruction = self.instruction.format(choices="/".join(labels))
        if self.chat:
            return f"{instruction}\n{text}"
        return self.template.format(instruction=instruction, input=text)


def encode_prompt(tokenizer, prompt: str, chat: ChatFormat | bool | None = None) -> list[int]:
    """Prompt ids, with the tokenizer's BOS (if it adds one) and no EOS.

    With `chat` (a ChatFormat, or True for one without a system message), `prompt` is the user turn and the ids
    are the tokenizer's chat template up to and including the assistant header; the template writes its own
    special tokens, so none are added on top.
    """
    if chat:
        system = chat.system if isinstance(chat, ChatFormat) else None
        messages = [{"role": "system", "content": system}] if system is not None else []
        messages.append({"role": "user", "content": prompt})
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
        return list(encoded["input_ids"])
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
