"""Peak memory of `fintune predict --input` on a large file: N rows synthesised from FPB sentences.

Baseline for the memory figure: the same command on a 1,000-row file (what loading the model and one chunk
cost), so the table shows how much the 100x longer file adds. Each size is scored in its own child process
and its peak RSS read from the kernel (ru_maxrss of the finished child). Needs FINTUNE_DATA_DIR (FPB).

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/batch_memory.py --run runs/fpb-minilm-lora
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from fintune.config import DataConfig
from fintune.data.registry import load_splits


def fpb_sentences() -> list[str]:
    splits = load_splits(DataConfig(source="fpb"))
    return [*splits.train["text"], *splits.validation["text"], *splits.test["text"]]


def synthesise(path: Path, n: int, sentences: list[str]) -> None:
    """n rows: id, a sentence (cycled), a source column the output must keep."""
    rows = pd.DataFrame({"id": range(n), "text": [sentences[i % len(sentences)] for i in range(n)]})
    rows["source"] = "fpb-synthetic"
    rows.to_csv(path, index=False)


def score(run: Path, src: Path, dst: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `fintune predict` child process."""
    cmd = [sys.executable, "-m", "fintune", "predict", "--run", str(run), "--input", str(src), "--output", str(dst)]
    t0 = time.perf_counter()
    pid = subprocess.Popen(cmd, stdout=subprocess.DEVNULL).pid
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"fintune predict failed on {src} (status {status})")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="A finished encoder run.")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    sentences = fpb_sentences()
    lines = ["| rows | seconds | rows/s | peak RSS (MiB) | output rows |", "|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, args.rows):
            src, dst = Path(tmp) / f"in_{n}.csv", Path(tmp) / f"out_{n}.csv"
            synthesise(src, n, sentences)
            seconds, peak = score(args.run, src, dst)
            out_rows = sum(1 for _ in dst.open(encoding="utf-8")) - 1
            lines.append(f"| {n:,} | {seconds:.1f} | {n / seconds:.0f} | {peak:.0f} | {out_rows:,} |")
            print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
