"""Training throughput on FPB: fintune's loop vs a plain transformers Trainer + PEFT LoRA baseline (issue 9).

Baseline: `transformers.Trainer` as its tutorials use it: texts tokenised up front and padded to max_length
(128), random batches (no length grouping), fp32, default data loader, over a `peft` LoRA model with the
quickstart's r, alpha, dropout, target modules, learning rate, batch size, weight decay, warmup and epochs.
Its head reads the [CLS] pooler (AutoModelForSequenceClassification; pooler.dense gets LoRA like every
`dense`), while fintune's reads the token mean that all-MiniLM-L6-v2 was trained for: a model difference
beside the pipeline difference, reported as is. A Trainer variant with length grouping and dynamic padding
shows how much of the gap the Trainer closes by changing two settings.

Each variant trains in its own child process, one after another (peak RSS is the child's own, from the
kernel); every trained model is scored on the same validation and test splits by the same code. Needs
FINTUNE_DATA_DIR (FPB).

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/train_throughput.py --epochs 1
    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/train_throughput.py --steps 30  # short
    ... --epochs 1 --variants ours,baseline                                                      # the headline pair
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs/quickstart.yaml"
VARIANTS = {  # id: (label, trainer, its settings)
    "ours": ("fintune run (configs/quickstart.yaml)", "ours", []),
    "ours-random": ("fintune, train.group_by_length=false", "ours", ["train.group_by_length=false"]),
    "baseline": ("baseline: Trainer + PEFT, pad to 128", "trainer", ["pad"]),
    "trainer-grouped": ("Trainer + PEFT, group_by_length + dynamic padding", "trainer", ["group"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None, help="Optimizer steps instead of whole epochs.")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="Comma list; must include baseline.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # inside one variant's process
        _, kind, extra = VARIANTS[args.child]
        train = _ours if kind == "ours" else _trainer
        with contextlib.redirect_stdout(sys.stderr):  # the workflow prints tables; keep them off the result
            args.out.write_text(json.dumps(train(args.steps, args.epochs, extra)))
        return
    chosen = args.variants.split(",")
    if "baseline" not in chosen or not set(chosen) <= set(VARIANTS):
        raise SystemExit(f"--variants: a comma list of {', '.join(VARIANTS)}, including baseline")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(chosen):
            out = Path(tmp) / f"{i}.json"
            cmd = [sys.executable, __file__, "--child", name, "--out", str(out), "--epochs", str(args.epochs)]
            load_before = os.getloadavg()[0]
            pid = subprocess.Popen([*cmd, *(["--steps", str(args.steps)] if args.steps else [])]).pid
            _, status, usage = os.wait4(pid, 0)
            if status != 0:
                raise SystemExit(f"variant '{name}' failed (status {status})")
            rows[name] = {**json.loads(out.read_text()), "peak_rss_mb": usage.ru_maxrss / 1024}
            rows[name]["load"] = (load_before, os.getloadavg()[0])
    _print(rows, args)


def _ours(steps: int | None, epochs: int, extra: list[str]) -> dict:
    from rich.console import Console

    from fintune.config import load_config
    from fintune.recipes import run_recipe as run

    limit = [f"train.max_steps={steps}"] if steps else [f"train.epochs={epochs}"]
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(QUICKSTART, [f"output_dir={out}", "name=bench", "eval.baselines=[]", *limit, *extra])
        metrics = json.loads((run(cfg, console=Console(stderr=True, quiet=True)) / "metrics.json").read_text())
    t = metrics["train"]
    speed = {"steps": t["steps"], "seconds": t["runtime_s"], "samples_per_s": t["samples_per_s"]}
    return {**speed, "tokens_per_s": t["tokens_per_s"], **_scores(metrics["validation"], metrics["test"])}


def _trainer(steps: int | None, epochs: int, extra: list[str]) -> dict:
    import numpy as np
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    from fintune.config import load_config
    from fintune.data import load_splits
    from fintune.eval.classify import evaluate_split
    from fintune.inference.encoder_probs import predict_proba
    from fintune.models.registry import default_targets, resolve_model_path

    cfg = load_config(QUICKSTART)
    grouped = extra == ["group"]
    splits = load_splits(cfg.data)  # the very split (and test-copy removal) fintune trains on
    labels = splits.labels
    path = resolve_model_path(cfg.model.path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    padding = False if grouped else "max_length"
    enc = tokenizer(list(splits.train["text"]), padding=padding, truncation=True, max_length=cfg.data.max_length)
    y = [labels.index(label) for label in splits.train["label"]]
    rows = [{**{k: v[i] for k, v in enc.items()}, "labels": y[i]} for i in range(len(y))]
    real_tokens = float(np.mean([sum(mask) for mask in enc["attention_mask"]]))

    set_seed(cfg.train.seed)  # the classifier head's initialisation
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)}
    )
    a = cfg.adapter
    lora = LoraConfig(
        task_type="SEQ_CLS", r=a.r, lora_alpha=a.alpha, lora_dropout=a.dropout, target_modules=default_targets("bert")
    )
    model = get_peft_model(model, lora)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=cfg.train.batch_size,
            num_train_epochs=epochs,
            max_steps=steps or -1,
            learning_rate=cfg.train.resolved_learning_rate("lora"),
            weight_decay=cfg.train.weight_decay,
            warmup_steps=cfg.train.warmup_ratio,  # a float below 1 is a ratio of the total steps
            max_grad_norm=cfg.train.max_grad_norm,
            seed=cfg.train.seed,
            train_sampling_strategy="group_by_length" if grouped else "random",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=True,
        )
        collator = DataCollatorWithPadding(tokenizer) if grouped else default_data_collator
        result = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator).train()
    m = result.metrics
    probs_of = lambda texts: predict_proba(model, tokenizer, texts, cfg.eval.batch_size, cfg.data.max_length)  # noqa: E731
    validation, _ = evaluate_split(probs_of, splits.validation, labels)
    test, _ = evaluate_split(probs_of, splits.test, labels)
    speed = {"steps": result.global_step, "seconds": m["train_runtime"], "samples_per_s": m["train_samples_per_second"]}
    return {**speed, "tokens_per_s": m["train_samples_per_second"] * real_tokens, **_scores(validation, test)}


def _scores(validation: dict, test: dict) -> dict:
    return {
        f"{s}_{k}": block[k] for s, block in (("val", validation), ("test", test)) for k in ("accuracy", "f1_weighted")
    }


def _print(rows: dict, args) -> None:
    import torch

    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        "?",
    )
    length = f"{args.steps} steps" if args.steps else f"{args.epochs} epoch(s)"
    print(
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"python {platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(
        f"\n| variant ({length}, batch 32, FPB) | steps | train s | samples/s | real tokens/s | peak RSS MiB "
        "| val acc | val F1w | test acc | test F1w | speed vs baseline | load avg before/after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    base = rows["baseline"]["samples_per_s"]
    for name, r in rows.items():
        cells = [
            VARIANTS[name][0],
            r["steps"],
            f"{r['seconds']:.1f}",
            f"{r['samples_per_s']:.1f}",
            f"{r['tokens_per_s']:.0f}",
            f"{r['peak_rss_mb']:.0f}",
            *(f"{r[k]:.4f}" for k in ("val_accuracy", "val_f1_weighted", "test_accuracy", "test_f1_weighted")),
            f"{r['samples_per_s'] / base:.2f}x",
            f"{r['load'][0]:.1f} / {r['load'][1]:.1f}",
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    if "ours" in rows:
        ours = rows["ours"]
        print(
            f"\nfintune / Trainer+PEFT baseline: {ours['samples_per_s'] / base:.2f}x samples/s; validation accuracy "
            f"{ours['val_accuracy']:.4f} vs {rows['baseline']['val_accuracy']:.4f}"
        )


if __name__ == "__main__":
    main()
