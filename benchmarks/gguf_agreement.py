"""Label agreement of exported GGUF files with the merged model they came from, on a run's test split.

    python benchmarks/gguf_agreement.py --run RUN --export OUT_F16 --export OUT_Q8 [--n 1000]

Each OUT is a `fintune export --run RUN --gguf` folder. The merged model (the run's adapter folded in, fp32) and
every file (read back by transformers' GGUF reader, with the tokenizer from the file) score the first N test texts
by label scoring; the table gives, per file, its size, export time, label agreement and the largest probability
difference. Results go in benchmarks/RESULTS.md with the command.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fintune.data.registry import load_splits
from fintune.export.gguf_check import load_gguf
from fintune.inference.predictor import Predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--export", type=Path, action="append", required=True)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()

    reference = Predictor.load(args.run)
    texts = list(load_splits(reference.cfg.data, teacher=Predictor.load).test["text"][: args.n])
    t0 = time.perf_counter()
    ours = reference.predict_proba(texts)
    print(f"merged model: {len(texts)} test texts scored in {time.perf_counter() - t0:.0f} s")
    print("| file | type | MB | export s (write + check) | label agreement | max |prob diff| |")
    print("|---|---|---:|---:|---:|---:|")
    for folder in args.export:
        info = json.loads((folder / "gguf_export.json").read_text(encoding="utf-8"))
        tokenizer, model = load_gguf(folder / info["file"])
        theirs = Predictor(args.run, reference.cfg, reference.labels, tokenizer, model, "causal").predict_proba(texts)
        agree = float(np.mean(ours.argmax(1) == theirs.argmax(1)))
        print(
            f"| {info['file']} | {info['gguf_type']} | {info['bytes'] / 1e6:.1f} | "
            f"{info['write_s']} + {info['check']['check_s']} | {agree:.4f} "
            f"({int((ours.argmax(1) != theirs.argmax(1)).sum())} of {len(texts)} differ) | "
            f"{np.abs(ours - theirs).max():.2e} |"
        )


if __name__ == "__main__":
    main()
