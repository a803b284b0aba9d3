"""Talking to a fine-tuned causal LM: each text goes into the run's own prompt, the model answers two ways.

Label scoring (the probability of each label as the answer, what the run was measured by) and the greedy answer
(what a chat user would read) are shown side by side; when they disagree, that is worth seeing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fintune.data.prompts import PromptTemplate
from fintune.errors import FintuneError
from fintune.inference.generation import answer_budget, generate_answers
from fintune.inference.predictor import Predictor
from fintune.inference.run_files import check_chat_run


@dataclass
class Reply:
    prompt: str
    """The exact text the model saw (before its chat template, if any)."""
    probs: dict[str, float]
    answer: str


class Chat:
    def __init__(self, predictor: Predictor, max_new_tokens: int | None = None) -> None:
        check_chat_run(predictor.run_dir)
        self.predictor = predictor
        self.template = PromptTemplate.from_config(predictor.cfg.prompt, predictor.tokenizer)
        zero_shot = predictor.cfg.adapter.method == "none"
        self.max_new_tokens = (
            max_new_tokens
            or predictor.cfg.eval.max_new_tokens
            or answer_budget(predictor.tokenizer, predictor.labels, zero_shot)
        )

    def reply(self, text: str) -> Reply:
        text = text.strip()
        if not text:
            raise FintuneError("nothing to ask: the text is empty")
        p = self.predictor
        prompt = self.template.render(text, p.labels)
        probs = p.predict([text])[0]["probs"]
        (answer,) = generate_answers(
            p.model, p.tokenizer, [prompt], self.max_new_tokens, 1, p.cfg.data.max_length, self.template.chat
        )
        return Reply(prompt, probs, answer.strip())
