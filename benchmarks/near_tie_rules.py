"""Which near-tie margin the ONNX export should record: quantiles of int8's error vs how much gets re-scored in fp32.

For a finished encoder run: export it (into a temporary folder), then on the held-out texts the export measures
(validation split and training texts after the calibration ones) compute the distortion of int8 against the fp32
graph (`fintune.inference.near_ties`), and for each margin rule (99th, 99.5th, 99.9th percentile (shipped), largest
distortion) the share of held-out and of test texts re-scored and, reported but never chosen on, test agreement
with the PyTorch model. A second table: int8 texts per pass (on held-out texts only) vs the 99.9th percentile and
speed, to tell whether one batch's shared activation scale is what makes the tail. Needs `pip install
'fintune[fast]'` and the run's data (FINTUNE_DATA_DIR for FPB).

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/near_tie_rules.py runs/fpb-minilm-lora
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

RULES = {"99th percentile": 0.99, "99.5th percentile": 0.995, "99.9th percentile": 0.999, "largest distortion": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="A finished encoder run (e.g. runs/fpb-minilm-lora).")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from fintune.data.registry import load_splits
    from fintune.export.onnx import export_onnx, held_out_texts
    from fintune.inference.near_ties import QUANTILE, distortion, margins, near_tie_margin
    from fintune.inference.onnx_engine import OnnxPredictor
    from fintune.inference.predictor import Predictor

    torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.run_dir)
    splits = load_splits(predictor.cfg.data)
    held = held_out_texts(splits)  # the texts the export measures its margin on
    test = list(splits.test["text"])
    truth = predictor.predict_proba(test).argmax(axis=1)
    with tempfile.TemporaryDirectory() as tmp:
        export = export_onnx(args.run_dir, Path(tmp) / "export")
        fp32 = OnnxPredictor.load(export, "fp32", threads=args.threads)
        int8 = OnnxPredictor.load(export, "int8", threads=args.threads, rescore_near_ties=False)
        held_exact, held_int8 = fp32.predict_proba(held), int8.predict_proba(held)
        test_exact, test_int8 = fp32.predict_proba(test), int8.predict_proba(test)
        errors = distortion(held_exact, held_int8)
        print(f"\n{len(held)} held-out texts, {len(test)} test texts; distortion median {np.median(errors):.5f}")
        print(f"int8 alone: test agreement with torch {np.mean(test_int8.argmax(1) == truth):.2%}\n")
        print("| margin rule | margin | held-out re-scored | test re-scored | test agreement (reported only) |")
        print("|---|---:|---:|---:|---:|")
        for name, quantile in RULES.items():
            margin = near_tie_margin(held_exact, held_int8, quantile)
            near = margins(test_int8) <= margin
            served = np.where(near[:, None], test_exact, test_int8)
            shipped = " (shipped)" if quantile == QUANTILE else ""
            print(
                f"| {name}{shipped} | {margin:.4f} | {np.mean(margins(held_int8) <= margin):.2%} | {near.mean():.2%} "
                f"| {np.mean(served.argmax(1) == truth):.2%} |"
            )
        print("\n| int8 texts per pass | held-out 99.9th percentile distortion | largest | test sentences/s |")
        print("|---:|---:|---:|---:|")
        for batch in (1, 8, 32, 64):
            engine = OnnxPredictor.load(export, "int8", threads=args.threads, batch_size=batch, rescore_near_ties=False)
            errors = distortion(held_exact, engine.predict_proba(held))
            engine.predict_proba(test[:64])  # warm-up
            t0 = time.perf_counter()
            engine.predict_proba(test[:600])
            speed = 600 / (time.perf_counter() - t0)
            print(f"| {batch} | {np.quantile(errors, 0.999):.4f} | {errors.max():.4f} | {speed:.0f} |")


if __name__ == "__main__":
    main()
