"""CPU inference speed of a finished encoder run: transformers pipeline vs fintune's Predictor vs ONNX int8.

Baseline: `transformers.pipeline("text-classification")` with its defaults (one sentence per forward pass), built
from the same fine-tuned weights: the run's model with the adapter merged and fintune's mean pooling kept, so all
paths compute the same function and only the inference path differs. Texts: the run's test split as written to
its predictions.csv (FPB: 1,212 sentences). Paths are timed round-robin, so a change in the machine's load hits
every path alike; each gets a warm-up first. ONNX int8 runs as served (near ties re-scored in fp32) and alone.
Reports label agreement and probability differences against the PyTorch Predictor. Needs `pip install 'fintune[fast]'`.

    .venv/bin/python benchmarks/inference_speed.py runs/bench-fpb-1ep [--onnx-dir DIR] [--rounds N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import pandas as pd

OURS = "fintune Predictor (PyTorch: merged, batched by token count, at most 32 a pass)"
INT8 = "ONNX int8 (OnnxPredictor: near ties re-scored in fp32)"
INT8_ALONE = "ablation: ONNX int8 alone (no near-tie re-scoring)"
BF16 = "fintune Predictor, --precision bf16 (opt-in: autocast, native bf16 CPUs only)"


def _pipeline_path(predictor):
    """The baseline: the run's own fine-tuned model, merged, behind a default text-classification pipeline."""
    from transformers import pipeline

    model = predictor.model  # Predictor.load merged the adapter; the MeanPooler that fintune put in place stays
    model.config.id2label = dict(enumerate(predictor.labels))
    model.config.label2id = {label: i for i, label in enumerate(predictor.labels)}
    pipe = pipeline("text-classification", model=model, tokenizer=predictor.tokenizer, device="cpu")
    index = {label: i for i, label in enumerate(predictor.labels)}
    return lambda texts: np.array([index[r["label"]] for r in pipe(texts)])


def _fixed_batches(predictor, by: str):
    """Ablations: the Predictor as it was, batches of 32 in a row sorted by characters (`by="characters"`, before it
    counted tokens) or by token count (`by="tokens"`, before `length_batches` cut batches by padding)."""
    import torch

    model, tokenizer, max_length = predictor.model, predictor.tokenizer, predictor.cfg.data.max_length

    @torch.inference_mode()
    def labels(texts):
        if by == "characters":
            order = np.argsort([len(t) for t in texts], kind="stable")
        else:
            lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
            order = np.argsort(lengths, kind="stable")
        out = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), 32):
            idx = order[start : start + 32]
            enc = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            out[idx] = model(**enc).logits.argmax(-1).numpy()
        return out

    return labels


def _bf16_predictor(run_dir: Path):
    """The Predictor with precision bf16, or None (said once) where this CPU has no native bf16."""
    from fintune.errors import FintuneError
    from fintune.inference.predictor import Predictor

    try:
        return Predictor.load(run_dir, precision="bf16")
    except FintuneError as e:
        print(f"no bf16 row: {e}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="A finished encoder run (e.g. runs/bench-fpb-1ep).")
    parser.add_argument("--onnx-dir", type=Path, help="Its ONNX export (default: export into a temporary folder).")
    parser.add_argument("--rounds", type=int, default=1, help="Timed passes over all texts per path (median kept).")
    parser.add_argument("--threads", type=int, help="Threads for every path (torch and onnxruntime); default theirs.")
    parser.add_argument("--limit", type=int, help="Only the first N texts (a quick check, not a measurement).")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    from fintune.export.onnx import export_onnx
    from fintune.inference.onnx_engine import OnnxPredictor
    from fintune.inference.predictor import Predictor

    frame = pd.read_csv(args.run_dir / "predictions.csv", dtype=str, keep_default_na=False).iloc[: args.limit]
    texts, gold = frame["text"].tolist(), frame["label"].tolist()
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_dir = args.onnx_dir
        if onnx_dir is None:
            t0 = time.perf_counter()
            onnx_dir = export_onnx(args.run_dir, Path(tmp) / "onnx")
            print(f"export (fp32 + int8): {time.perf_counter() - t0:.1f} s")
        predictor = Predictor.load(args.run_dir)
        bf16 = _bf16_predictor(args.run_dir)
        unmerged = Predictor.load(args.run_dir, merge=False, batch_size=128)  # fintune's path before the change
        onnx_int8 = OnnxPredictor.load(onnx_dir, precision="int8", threads=args.threads)
        int8_alone = OnnxPredictor.load(onnx_dir, precision="int8", threads=args.threads, rescore_near_ties=False)
        onnx_fp32 = OnnxPredictor.load(onnx_dir, precision="fp32", threads=args.threads)
        baseline = _pipeline_path(Predictor.load(args.run_dir))  # its own copy: the pipeline edits the config
        paths = {
            "baseline: transformers pipeline (defaults)": baseline,
            OURS: lambda t: predictor.predict_proba(t).argmax(axis=1),
            "ablation: Predictor, 32 a pass sorted by tokens": _fixed_batches(predictor, "tokens"),
            "ablation: Predictor, 32 a pass sorted by characters": _fixed_batches(predictor, "characters"),
            "ablation: Predictor, adapter not merged, batch 128": lambda t: unmerged.predict_proba(t).argmax(axis=1),
            "ONNX fp32 (OnnxPredictor)": lambda t: onnx_fp32.predict_proba(t).argmax(axis=1),
            INT8: lambda t: onnx_int8.predict_proba(t).argmax(axis=1),
            INT8_ALONE: lambda t: int8_alone.predict_proba(t).argmax(axis=1),
        }
        if bf16 is not None:  # opt-in (--precision bf16), only where the CPU has native bf16
            paths[BF16] = lambda t: bf16.predict_proba(t).argmax(axis=1)
        seconds: dict[str, list[float]] = {name: [] for name in paths}
        labels: dict[str, np.ndarray] = {}
        for fn in paths.values():
            fn(texts[:64])  # warm-up: first-call allocations, lazy imports, onnxruntime's kernel choice
        for _ in range(args.rounds):
            for name, fn in paths.items():
                t0 = time.perf_counter()
                labels[name] = fn(texts)
                seconds[name].append(time.perf_counter() - t0)
        torch_probs = predictor.predict_proba(texts)
        rescored_before = onnx_int8.rescored
        int8_probs, fp32_probs = onnx_int8.predict_proba(texts), onnx_fp32.predict_proba(texts)
        rescored = onnx_int8.rescored - rescored_before
        alone_probs = int8_alone.predict_proba(texts)
    load_after = os.getloadavg()

    names = predictor.labels
    base = len(texts) / median(seconds[next(iter(paths))])
    print(
        f"\n{len(texts)} texts from {args.run_dir / 'predictions.csv'}; torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)"
    )
    print("\n| path | median s | sentences/s | ratio vs pipeline | test accuracy |")
    print("|---|---|---|---|---|")
    for name, secs in seconds.items():
        speed = len(texts) / median(secs)
        accuracy = np.mean([names[i] == g for i, g in zip(labels[name], gold)])
        print(f"| {name} | {median(secs):.2f} | {speed:.1f} | {speed / base:.2f}x | {accuracy:.4f} |")
    torch_labels = torch_probs.argmax(axis=1)
    print(f"\nvs the PyTorch Predictor ({len(texts)} texts): labels equal, |probability difference| max / 99th pct")
    for name, probs in (("ONNX int8", int8_probs), ("ONNX int8 alone", alone_probs), ("ONNX fp32", fp32_probs)):
        diff = np.abs(probs - torch_probs).max(axis=1)
        agree = np.mean(probs.argmax(1) == torch_labels)
        print(f"- {name}: {agree:.4%}, {diff.max():.2e} / {np.quantile(diff, 0.99):.2e}")
    print(f"- pipeline: {np.mean(labels[next(iter(paths))] == torch_labels):.4%}")
    if BF16 in labels:
        print(f"- {BF16}, with the fp32 Predictor: {np.mean(labels[BF16] == torch_labels):.4%}")
    print(
        f"ONNX int8 re-scored {rescored} of {len(texts)} texts ({rescored / len(texts):.2%}) in fp32: "
        f"int8 margin within the export's near-tie margin {onnx_int8.near_tie_margin}"
    )
    print("every timed pass (s): " + "; ".join(f"{n}: {', '.join(f'{s:.2f}' for s in v)}" for n, v in seconds.items()))


if __name__ == "__main__":
    main()
