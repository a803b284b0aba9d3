"""Training throughput of the quickstart run: bf16 autocast vs fp32, and LoRA dropout 0 vs 0.1.

Baseline: fp32 with LoRA dropout 0.1 (plain PyTorch / PEFT-example settings). Same data, same
steps, same machine, one process after another. Needs FINTUNE_DATA_DIR (FPB).

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/cpu_precision.py --steps 60
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console

from fintune.config import load_config
from fintune.recipes import run_recipe as run

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "baseline: fp32, dropout 0.1": ["train.precision=fp32", "adapter.dropout=0.1"],
    "fp32, dropout 0": ["train.precision=fp32", "adapter.dropout=0.0"],
    "bf16 autocast, dropout 0.1 (configs/quickstart.yaml)": ["train.precision=bf16", "adapter.dropout=0.1"],
    "bf16 autocast, dropout 0 (the library defaults where bf16 is native)": [
        "train.precision=bf16",
        "adapter.dropout=0.0",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    quiet = Console(stderr=True, quiet=True)
    results = {}
    with tempfile.TemporaryDirectory() as out:
        for i, (label, overrides) in enumerate(VARIANTS.items()):
            cfg = load_config(
                ROOT / "configs/quickstart.yaml",
                [f"output_dir={out}", f"name=v{i}", f"train.max_steps={args.steps}", "eval.baselines=[]", *overrides],
            )
            metrics = json.loads((run(cfg, console=quiet, with_test=False) / "metrics.json").read_text())
            results[label] = (metrics["train"]["samples_per_s"], metrics["validation"]["f1_weighted"])
    base = next(iter(results.values()))[0]
    print(f"| variant ({args.steps} steps, batch 32, FPB) | samples/s | ratio | validation weighted F1 |")
    print("|---|---|---|---|")
    for label, (speed, f1) in results.items():
        print(f"| {label} | {speed:.1f} | {speed / base:.2f}x | {f1:.4f} |")


if __name__ == "__main__":
    main()
