"""LoRA SFT of SmolLM2-135M-Instruct on FPB: fintune's own training loop vs TRL's SFTTrainer + PEFT.

What is compared: the same LoRA fine-tune run by two training stacks. `fintune`: the CLI as a user runs it,
`fintune train configs/llm/smollm2_lora_fpb.yaml` with overrides (train/loop.py: length-grouped, left-padded
batches, the loss from the answer positions' logits only). Baseline `trl`: `trl.SFTTrainer` + a `peft.LoraConfig`,
the stack FinGPT / LLaMA-Factory-style notebooks use, given a prompt-completion conversational dataset
(`prompt` = an empty system message + the user turn, `completion` = the assistant's label), so its loss is
completion-only. Both get the same training examples (the first --train-samples of fintune's FPB split), the same
optimizer steps, batch size, learning rate, linear schedule with fintune's warmup (int(0.06 x steps) steps),
weight decay 0.01, gradient clipping 1.0, seed, max length (160), LoRA (r 16, alpha 32, dropout 0, on q/k/v/o and
gate/up/down projections), fp32 weights with bf16 autocast where fintune's `train.precision` resolves to bf16
(TRL: `bf16=True`, which Accelerate turns into CPU bf16 autocast), and the same prompt: SmolLM2's chat template,
an empty system message, user turn = FinGPT's instruction + "\\n" + sentence, answer = the label.

The baseline is configured the way a careful user would: gradient checkpointing off (SFTConfig turns it on by
default; fintune's default is off), `train_sampling_strategy="group_by_length"` (transformers' LengthGroupedSampler,
the counterpart of fintune's train.group_by_length) with dynamic padding, no packing and no `padding_free` (both
need FlashAttention to keep examples apart, which a CPU does not have), no evaluation during training, logging
every step (fintune also reads the loss every step), `dataloader_num_workers=0`, TRL's default optimizer
(`adamw_torch_fused`; fintune uses torch.optim.AdamW).

Reported per variant: optimizer steps; train seconds (fintune: metrics.json `train.runtime_s`, the loop only,
without its end-of-epoch validation; TRL: `train_runtime` of `trainer.train()`); real (non-padding) tokens of the
training examples seen per second of training, each counted on its own token sequences; peak RSS of the training
process (the kernel's lifetime peak from wait4; fintune's includes its validation pass); the final training
loss (mean of the last 10 steps' logged losses); the validation loss, the mean cross-entropy per answer token
(label + EOS) of the first --val-samples validation examples, computed after training, in this process, by one
function for both (`fintune.train.answer_loss.answer_loss` on `EncodedInstructions` batches, fp32, of the base
model + the saved adapter); and the speed ratio vs TRL (TRL's train seconds / the variant's, same steps and batch).
Each variant trains in its own child process, one after another. Needs FINTUNE_DATA_DIR (FPB), FINTUNE_HOME
holding the converted SmolLM2 weights, and `pip install -e '.[sft-baseline]'` (TRL).

    FINTUNE_HOME=/tmp/fthome FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/sft_vs_trl.py \\
        --train-samples 768 --steps 96 --batch-size 8 --val-samples 128 --out sft_vs_trl.json
    ... --steps 3 --train-samples 48 --val-samples 16 --batch-size 8   # a smoke test

Caveats: TRL tokenises prompt + completion through the chat template, which ends the assistant turn with
"<|im_end|>\\n", so each of its sequences has one token more than fintune's (prompt + label + EOS), and that
trailing "\\n" is in its loss: its training loss averages 3 answer tokens per example against fintune's 2, one
of them almost free, so the training losses are not comparable, only the validation loss (same tokens for both).
SFTTrainer always computes its loss with TRL's fused, chunked LM head (no setting turns it off): on a CPU, which
has no Triton, it projects every position through the 49k vocabulary (prompt positions are skipped on Triton
devices only), folds each tile with a loop of torch ops, recomputes the projection in the backward pass with fp32
gradient GEMMs, and also computes entropy and token accuracy every step; fintune projects the answer positions
only. That is TRL's own CPU path, measured as is (the 0.2x releases used the model's own full-logits loss plus
an entropy pass over the logits). Batch order and LoRA initialisation come from each stack's own RNG use with the
same seed, so with steps x batch below --train-samples the two see different subsets; steps x batch =
--train-samples (the default) makes it one epoch of the same examples. fintune keeps its best epoch's weights, so
the script refuses more than one epoch.
Timings on a busy machine are noisy: the load average before/after each variant is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/llm/smollm2_lora_fpb.yaml"
VARIANTS = {
    "fintune": "fintune train (configs/llm/smollm2_lora_fpb.yaml)",
    "trl": "baseline: TRL SFTTrainer + PEFT LoRA",
}
LAST = 10  # the final training loss is the mean of this many last steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="Optimizer steps (default: one epoch, rounded down).")
    parser.add_argument("--train-samples", type=int, default=512)
    parser.add_argument("--val-samples", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto", help="train.precision")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="Comma list; must include trl.")
    parser.add_argument("--out", type=Path, help="Also write the results as JSON here.")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # inside the TRL child
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.steps = args.steps or max(1, args.train_samples // args.batch_size)  # one epoch
    if args.variant:  # the TRL child: train, save the adapter, write the result
        args.result.write_text(json.dumps(_trl(args, args.work)))
        return
    chosen = args.variants.split(",")
    if "trl" not in chosen or not set(chosen) <= set(VARIANTS):
        raise SystemExit(f"--variants: a comma list of {', '.join(VARIANTS)}, including trl")
    if args.steps * args.batch_size > args.train_samples:
        raise SystemExit(
            "--steps x --batch-size is more than one epoch of --train-samples: fintune would then keep its best "
            "epoch's weights rather than the last; raise --train-samples"
        )
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            work = Path(tmp) / name
            work.mkdir()
            load_before = os.getloadavg()[0]
            if name == "fintune":
                cmd = [sys.executable, "-m", "fintune", "train", str(CONFIG), *_overrides(args)]
                cmd += [f"output_dir={work}", "name=run"]
            else:
                cmd = [sys.executable, __file__, "--variant", name, "--result", str(work / "result.json")]
                cmd += ["--work", str(work), *_passed_on(args)]
            usage = _run_child(cmd, name)
            if name == "fintune":
                rows[name] = _fintune_result(work / "run")
            else:
                rows[name] = json.loads((work / "result.json").read_text())
            rows[name]["peak_rss_mb"] = usage.ru_maxrss / 1024
            rows[name]["load"] = (load_before, os.getloadavg()[0])
        for r in rows.values():  # after every child is done, so scoring competes with no training
            r["val_loss"] = validation_loss(Path(r.pop("adapter")), args)
    _print(rows, args)
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": rows}, indent=2))


def _overrides(args) -> list[str]:
    """The run config both variants read (data subset, steps, batch, lr, precision; LoRA dropout 0, pinned)."""
    return [
        f"data.max_train_samples={args.train_samples}",
        f"data.max_eval_samples={args.val_samples}",
        f"train.max_steps={args.steps}",
        f"train.batch_size={args.batch_size}",
        f"train.learning_rate={args.lr}",
        f"train.precision={args.precision}",
        "adapter.dropout=0",
    ]


def _passed_on(args) -> list[str]:
    return [
        *("--steps", str(args.steps), "--train-samples", str(args.train_samples)),
        *("--val-samples", str(args.val_samples), "--batch-size", str(args.batch_size)),
        *("--lr", str(args.lr), "--precision", args.precision),
    ]


def _run_child(cmd: list[str], name: str):
    """Run one variant's process to the end (its output on our stderr); its rusage holds its own peak RSS."""
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    pid = subprocess.Popen(cmd, stdout=sys.stderr, env=env, cwd=ROOT).pid
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"variant '{name}' failed (status {status})")
    return usage


def _fintune_result(run_dir: Path) -> dict:
    t = json.loads((run_dir / "metrics.json").read_text())["train"]
    losses = [loss for _, _, loss in json.loads((run_dir / "train_log.json").read_text())]
    return {
        "steps": t["steps"],
        "train_s": t["runtime_s"],
        "tokens_per_s": t["tokens_per_s"],
        "tokens_per_example": t["tokens_per_s"] / t["samples_per_s"],  # mean over the examples it trained on
        "final_loss": sum(losses[-LAST:]) / len(losses[-LAST:]),
        "precision": t["precision"],
        "own_peak_rss_mb": t["peak_rss_mb"],
        "wall_s": t["wall_s"],
        "adapter": str(run_dir / "adapter"),
    }


def _trl(args, work: Path) -> dict:
    """Train with TRL's SFTTrainer over a PEFT LoRA model; save the adapter for the shared validation loss."""
    import datasets
    import peft
    import torch
    import transformers
    import trl
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from fintune.config import load_config
    from fintune.data import load_splits
    from fintune.models.precision import resolve_precision
    from fintune.models.registry import default_targets, resolve_model_path

    cfg = load_config(CONFIG, _overrides(args))
    splits = load_splits(cfg.data)  # the very examples fintune trains on
    path = resolve_model_path(cfg.model.path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)  # the checkpoint's dtype (fp32), as fintune loads it

    instruction = cfg.prompt.instruction.format(choices="/".join(splits.labels))
    system = [] if cfg.prompt.system is None else [{"role": "system", "content": cfg.prompt.system}]
    rows = [
        {
            "prompt": [*system, {"role": "user", "content": f"{instruction}\n{text}"}],
            "completion": [{"role": "assistant", "content": label}],
        }
        for text, label in zip(splits.train["text"], splits.train["label"])
    ]
    t, a = cfg.train, cfg.adapter
    bf16 = resolve_precision(t.precision, torch.device("cpu")) == "bf16"
    sft = SFTConfig(
        output_dir=str(work / "trl"),
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=int(t.warmup_ratio * t.max_steps),  # fintune's count (Trainer would round a ratio up)
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        seed=t.seed,
        bf16=bf16,
        use_cpu=True,
        gradient_checkpointing=t.gradient_checkpointing,  # False; SFTConfig's default is True
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        max_length=cfg.data.max_length,
        completion_only_loss=True,
        packing=False,
        padding_free=False,  # needs FlashAttention
        dataloader_num_workers=0,
        logging_steps=1,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=a.r,
        lora_alpha=a.alpha,
        lora_dropout=a.dropout,
        target_modules=a.target_modules or default_targets(model.config.model_type),
    )
    dataset = datasets.Dataset.from_list(rows)
    trainer = SFTTrainer(model=model, args=sft, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    check = _token_check(trainer.train_dataset, tokenizer, splits, cfg)
    out = trainer.train()
    logs = [x for x in trainer.state.log_history if "loss" in x and "train_runtime" not in x]
    losses = [x["loss"] for x in logs]
    seconds = out.metrics["train_runtime"]
    tokens = logs[-1]["num_tokens"]  # SFTTrainer's count of attention-mask (real) tokens trained on
    trainer.model.save_pretrained(work / "adapter")
    return {
        "steps": trainer.state.global_step,
        "train_s": seconds,
        "tokens_per_s": tokens / seconds,
        "tokens_per_example": tokens / (trainer.state.global_step * t.batch_size),
        "final_loss": sum(losses[-LAST:]) / len(losses[-LAST:]),
        "precision": f"bf16 autocast ({trainer.accelerator.mixed_precision})" if bf16 else "fp32",
        "native_amp": bool(getattr(trainer.accelerator, "native_amp", False)),
        "gradient_checkpointing": _checkpointing(trainer.model),
        "threads": torch.get_num_threads(),
        "optim": str(getattr(trainer.args.optim, "value", trainer.args.optim)),  # an OptimizerNames enum
        "own_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": {
            "trl": trl.__version__,
            "peft": peft.__version__,
            "transformers": transformers.__version__,
            "datasets": datasets.__version__,
        },
        "token_check": check,
        "adapter": str(work / "adapter"),
    }


def _checkpointing(model) -> bool:
    """Whether activation (gradient) checkpointing is on; transformers 5 renamed the attribute."""
    for attr in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(model.get_base_model(), attr):
            return bool(getattr(model.get_base_model(), attr))
    return False


def _token_check(dataset, tokenizer, splits, cfg) -> dict:
    """TRL's token ids of every training example against fintune's (EncodedInstructions, as its loop encodes them)."""
    from fintune.data.prompts import PromptTemplate
    from fintune.train.batching import EncodedInstructions

    template = PromptTemplate.from_config(cfg.prompt, tokenizer)
    prompts = [template.render(text, splits.labels) for text in splits.train["text"]]
    ours = EncodedInstructions(tokenizer, prompts, list(splits.train["label"]), cfg.data.max_length, template.chat)
    theirs, labels = dataset["input_ids"], dataset["labels"]
    tails = {tuple(t[len(o) :]) for o, t in zip(ours.input_ids, theirs) if t[: len(o)] == o}
    n = len(ours)
    return {
        "examples": n,
        "trl_examples": len(theirs),
        "fintune_tokens": sum(map(len, ours.input_ids)) / n,
        "trl_tokens": sum(map(len, theirs)) / len(theirs),
        "fintune_loss_tokens": sum(len(i) - p for i, p in zip(ours.input_ids, ours.n_prompt)) / n,
        "trl_loss_tokens": sum(sum(x != -100 for x in row) for row in labels) / len(labels),
        "prefix_matches": sum(t[: len(o)] == o for o, t in zip(ours.input_ids, theirs)),
        "trl_extra_tail": [tokenizer.decode(list(tail)) for tail in sorted(tails)],
    }


def validation_loss(adapter: Path, args) -> float:
    """Mean cross-entropy per answer token (label + EOS) of the validation subset: one function for every variant."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fintune.config import load_config
    from fintune.data import load_splits
    from fintune.data.prompts import PromptTemplate
    from fintune.models.registry import resolve_model_path
    from fintune.train.answer_loss import answer_loss
    from fintune.train.batching import EncodedInstructions

    cfg = load_config(CONFIG, _overrides(args))
    splits = load_splits(cfg.data)
    path = resolve_model_path(cfg.model.path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(path), adapter).eval()
    template = PromptTemplate.from_config(cfg.prompt, tokenizer)
    prompts = [template.render(text, splits.labels) for text in splits.validation["text"]]
    data = EncodedInstructions(tokenizer, prompts, list(splits.validation["label"]), cfg.data.max_length, template.chat)
    total = count = 0.0
    with torch.no_grad():
        for start in range(0, len(data), 16):
            idx = list(range(start, min(start + 16, len(data))))
            n = data.loss_denominator(idx)  # answer tokens in these rows: answer_loss is their mean
            total += answer_loss(model, data.collate(idx)).item() * n
            count += n
    return total / count


def _print(rows: dict, args) -> None:
    import torch

    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        "?",
    )
    trl_row = rows["trl"]
    v = trl_row["versions"]
    print(
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {v['transformers']}, peft {v['peft']}, trl {v['trl']}, python {platform.python_version()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    subset = "one epoch" if args.steps * args.batch_size == args.train_samples else "part of an epoch"
    print(
        f"\n| variant ({args.steps} steps x batch {args.batch_size} = {subset} of {args.train_samples} FPB examples, "
        f"lr {args.lr}) | steps | train s | real tokens/s | peak RSS MiB | final train loss (last {LAST}) "
        f"| val loss / answer token (n={args.val_samples}) | speed vs TRL | precision | load avg before/after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name, r in rows.items():
        cells = [
            VARIANTS[name],
            r["steps"],
            f"{r['train_s']:.1f}",
            f"{r['tokens_per_s']:.0f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['final_loss']:.4f}",
            f"{r['val_loss']:.4f}",
            f"{trl_row['train_s'] / r['train_s']:.2f}x",
            r["precision"],
            f"{r['load'][0]:.1f} / {r['load'][1]:.1f}",
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    c = trl_row["token_check"]
    print(
        f"\ntokens per training example: fintune {c['fintune_tokens']:.2f} ({c['fintune_loss_tokens']:.2f} in the "
        f"loss), TRL {c['trl_tokens']:.2f} ({c['trl_loss_tokens']:.2f} in the loss); TRL's ids start with fintune's "
        f"in {c['prefix_matches']}/{c['examples']} examples, then add {c['trl_extra_tail']}"
    )
    seen = ", ".join(f"{name} {r['tokens_per_example']:.2f}" for name, r in rows.items())
    print(f"real tokens per example trained on (each variant's own count): {seen}")
    print(
        f"TRL: optim {trl_row['optim']}, gradient checkpointing {trl_row['gradient_checkpointing']}, "
        f"native autocast {trl_row['native_amp']}, torch threads {trl_row['threads']}"
    )


if __name__ == "__main__":
    main()
