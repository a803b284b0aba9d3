"""Evaluating a causal LM on FPB's 1,212 test sentences: label scoring vs FinGPT-style generate-and-parse.

Baseline: generate-and-parse (greedy `model.generate`, left-padded batches, the answer parsed for a label),
the way FinGPT's benchmark scripts evaluate. Compared in the same process, on the same model, prompts and
batch size: label scoring with the prompt's KV cache shared by the labels (fintune's default), and label
scoring of every prompt + label sequence in full.

No LLM weights can be downloaded here, so the model is a randomly initialised Llama-architecture decoder
(`--hidden`, `--layers`) with the bundled MiniLM's 30,522-token WordPiece vocabulary, which gives FPB
sentences realistic token counts. Speed does not depend on the weights, except that a random model never
stops early: generation is timed at `max_new_tokens` 8 (the config default) and at the fewest tokens
that can hold the longest label plus EOS, the best case of a trained model that answers and stops.

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/label_scoring.py
"""

from __future__ import annotations

import argparse
import time

import torch

from fintune.config import DataConfig
from fintune.data import load_splits
from fintune.data.prompts import PromptTemplate, encode_answer
from fintune.eval.generate import generate_answers
from fintune.eval.scoring import label_log_likelihoods
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


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    args = parser.parse_args()

    splits = load_splits(DataConfig(source="fpb"))
    labels, texts = splits.labels, list(splits.test["text"])[: args.limit]
    tokenizer, model = build_model(args.hidden, args.layers)
    prompts = [PromptTemplate().render(t, labels) for t in texts]
    shortest_answer = max(len(encode_answer(tokenizer, label)) for label in labels)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{len(prompts)} FPB test prompts, Llama-shaped random model with {n_params / 1e6:.1f}M parameters, "
        f"batch {args.batch_size}, {torch.get_num_threads()} threads"
    )

    runs = {
        "baseline: generate-and-parse, max_new_tokens 8": lambda: generate_answers(
            model, tokenizer, prompts, 8, args.batch_size
        ),
        f"baseline: generate-and-parse, max_new_tokens {shortest_answer} (label + EOS)": lambda: generate_answers(
            model, tokenizer, prompts, shortest_answer, args.batch_size
        ),
        "label scoring, every prompt + label in full": lambda: label_log_likelihoods(
            model, tokenizer, prompts, labels, args.batch_size, share_prompt=False
        ),
        "label scoring, prompt KV cache shared by the labels (default)": lambda: label_log_likelihoods(
            model, tokenizer, prompts, labels, args.batch_size
        ),
    }
    seconds = {name: timed(fn) for name, fn in runs.items()}
    base = next(iter(seconds.values()))
    print("| method | seconds | sentences/s | speed-up over generate (8 tokens) |")
    print("|---|---|---|---|")
    for name, s in seconds.items():
        print(f"| {name} | {s:.1f} | {len(prompts) / s:.1f} | {base / s:.2f}x |")


if __name__ == "__main__":
    main()
