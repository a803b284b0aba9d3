"""Evaluating a causal LM on FPB's 1,212 test sentences: label scoring vs FinGPT-style generate-and-parse.

Baseline: generate-and-parse (greedy `model.generate`, left-padded batches, the answer parsed for a label),
the way FinGPT's benchmark scripts evaluate. Compared in the same process, on the same model, prompts and
batch size: label scoring with the prompt's KV cache shared by the labels (fintune's default), and label
scoring of every prompt + label sequence in full.

By default the model is a randomly initialised Llama-architecture decoder (`--hidden`, `--layers`) with the
bundled MiniLM's 30,522-token WordPiece vocabulary, which gives FPB sentences realistic token counts; a random
model never stops early, so generation is timed at `max_new_tokens` 8 and at the fewest tokens that can hold the
longest label plus EOS, the best case of a trained model that answers and stops. `--model smollm2` (or any
`model.path`) measures a real pretrained LM instead, asked through its chat template (`--system` as in
prompt.system), at 16 new tokens (fintune's zero-shot budget) and at label + EOS, and also reports each method's
test accuracy: there the model's answers are real, and a zero-shot answer may not name a label in time.

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/label_scoring.py
    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/label_scoring.py --model smollm2 --skip-full
"""

from __future__ import annotations

import argparse
import time

import torch

from fintune.config import AdapterConfig, DataConfig, ModelConfig, PromptConfig
from fintune.data import load_splits
from fintune.data.prompts import PromptTemplate, encode_answer
from fintune.eval.generate import parse_label
from fintune.inference.generation import ZERO_SHOT_NEW_TOKENS, generate_answers
from fintune.inference.label_scoring import label_log_likelihoods
from fintune.models.causal import load_causal
from fintune.models.registry import resolve_model_path


def build_model(hidden: int, layers: int):
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("minilm"))
    tokenizer.bos_token, tokenizer.eos_token = "[CLS]", "[SEP]"  # BERT's markers play BOS / EOS
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 8 // 3,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    return tokenizer, AutoModelForCausalLM.from_config(config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    parser.add_argument("--model", default=None, help="a real causal LM (model.path, e.g. smollm2) instead")
    parser.add_argument("--system", default=None, help="with --model: prompt.system (default: the template's own)")
    parser.add_argument("--skip-full", action="store_true", help="leave out scoring every prompt + label in full")
    args = parser.parse_args()

    splits = load_splits(DataConfig(source="fpb"))
    labels, texts = splits.labels, list(splits.test["text"])[: args.limit]
    truth = list(splits.test["label"])[: args.limit]
    if args.model:
        tokenizer, model = load_causal(ModelConfig(path=args.model, kind="causal"), AdapterConfig(method="none"))
        template = PromptTemplate.from_config(PromptConfig(system=args.system), tokenizer)
        what, long_budget = f"'{args.model}'", ZERO_SHOT_NEW_TOKENS
    else:
        tokenizer, model = build_model(args.hidden, args.layers)
        template, what, long_budget = PromptTemplate(), "Llama-shaped random model", 8
    model.eval()
    chat = template.chat
    prompts = [template.render(t, labels) for t in texts]
    shortest_answer = max(len(encode_answer(tokenizer, label)) for label in labels)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{len(prompts)} FPB test prompts, {what} with {n_params / 1e6:.1f}M parameters, "
        f"batch {args.batch_size}, {torch.get_num_threads()} threads"
    )

    def generate(budget):
        return lambda: [
            parse_label(a, labels)
            for a in generate_answers(model, tokenizer, prompts, budget, args.batch_size, chat=chat)
        ]

    def score(share: bool):
        def run():
            loglik = label_log_likelihoods(
                model, tokenizer, prompts, labels, args.batch_size, chat=chat, share_prompt=share
            )
            return [labels[i] for i in loglik.argmax(axis=1)]

        return run

    runs = {
        f"baseline: generate-and-parse, max_new_tokens {long_budget}": generate(long_budget),
        f"baseline: generate-and-parse, max_new_tokens {shortest_answer} (label + EOS)": generate(shortest_answer),
        "label scoring, prompt KV cache shared by the labels (default)": score(True),
    }
    if not args.skip_full:
        runs["label scoring, every prompt + label in full"] = score(False)
    seconds, accuracy = {}, {}
    for name, fn in runs.items():
        start = time.perf_counter()
        predicted = fn()
        seconds[name] = time.perf_counter() - start
        accuracy[name] = sum(p == t for p, t in zip(predicted, truth)) / len(truth)
    base = next(iter(seconds.values()))
    print(f"| method | seconds | sentences/s | speed-up over generate ({long_budget} tokens) | test accuracy |")
    print("|---|---|---|---|---|")
    for name, s in seconds.items():
        print(f"| {name} | {s:.1f} | {len(prompts) / s:.1f} | {base / s:.2f}x | {accuracy[name]:.4f} |")


if __name__ == "__main__":
    main()
