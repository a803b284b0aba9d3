"""FinGPT-style evaluation: generate a short answer greedily, then parse a label out of it.

FinGPT maps an answer to 'positive' if the word occurs in it, else 'negative' if that occurs, else 'neutral'.
`parse_label` keeps the substring rule but returns None instead of defaulting to a class, and
`generation_metrics` reports those unparsed answers rather than hiding them inside 'neutral'.
"""

from __future__ import annotations

from fintune.data.prompts import PromptTemplate
from fintune.eval.metrics import classification_metrics
from fintune.inference.generation import answer_budget, generate_answers

UNPARSED = "<unparsed>"


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
    - `n` (= `n_total`) counts every example, `n_unparsed` beside it; `confusion_matrix` stays
      len(labels) x len(labels) over the parsed answers only and sums to `n_parsed` (= n - n_unparsed);
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
    block["n"] = block["n_total"] = len(y_true)
    block["n_parsed"] = len(y_true) - n_unparsed
    block["n_unparsed"] = n_unparsed
    block["unparsed_rate"] = n_unparsed / len(y_true)
    block["unparsed_by_label"] = {
        label: sum(t == label and p == UNPARSED for t, p in zip(y_true, y_pred)) for label in labels
    }
    return block


def generate_and_parse(model, tokenizer, frame, labels: list[str], cfg, progress: bool = True) -> dict:
    """The `test_generate` block of a causal run: FinGPT's prompt, greedy answer, substring parse."""

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
        progress="generate-and-parse" if progress else None,
    )
    return {**generation_metrics(list(frame["label"]), answers, labels), "max_new_tokens": budget}
