"""Which MatMuls to quantise in the ONNX int8 export: agreement with the torch model vs speed, chosen without test.

The export keeps the feed-forward down-projections in fp32 (`fintune.models.onnx_export._quantize`). This script
shows why: it quantises (a) every weight MatMul, (b) all but the down-projections (the shipped recipe), (c) one
kind of MatMul at a time, and reports label agreement with the run's PyTorch model on the FPB *train and validation*
texts (agreement needs no labels, so the choice never sees the test split) and sentences/s on the first 600 test
texts with one thread. Baseline: the fp32 ONNX graph (nothing quantised). A second table varies the activation
smoothing (`fintune.models.smoothing`) of the shipped recipe: off, and alpha 0.5 / 0.75 (shipped) / 0.9.
Needs `pip install 'fintune[fast]'` and FINTUNE_DATA_DIR (FPB).

    FINTUNE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/int8_recipe.py runs/bench-fpb-1ep
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="A finished encoder run (e.g. runs/bench-fpb-1ep).")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from fintune.config import DataConfig
    from fintune.data.registry import load_splits
    from fintune.models.onnx_export import FP32_FILE, INT8_FILE, export_onnx
    from fintune.predict import Predictor
    from fintune.serve.onnx_predictor import OnnxPredictor

    torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.run_dir)
    splits = load_splits(DataConfig(source="fpb"))
    choose_on = [*splits.train["text"], *splits.validation["text"]]
    timed = pd.read_csv(args.run_dir / "predictions.csv", dtype=str, keep_default_na=False)["text"].tolist()[:600]
    reference = predictor.predict_proba(choose_on).argmax(axis=1)

    with tempfile.TemporaryDirectory() as tmp:
        export = export_onnx(args.run_dir, Path(tmp) / "export")
        graph = onnx.load(str(export / FP32_FILE))
        shapes = {w.name: tuple(w.dims) for w in graph.graph.initializer}
        weight_matmuls = {  # node -> its weight's shape; MatMuls of two activations are never quantised
            node.name: next(shapes[i] for i in node.input if i in shapes)
            for node in graph.graph.node
            if node.op_type == "MatMul" and any(i in shapes for i in node.input)
        }
        hidden, inner = predictor.model.config.hidden_size, predictor.model.config.intermediate_size
        kinds = {
            "attention projections (q, k, v, out)": (hidden, hidden),
            "feed-forward up": (hidden, inner),
            "feed-forward down": (inner, hidden),
        }
        recipes = {
            "every weight MatMul": list(weight_matmuls),
            "all but feed-forward down (shipped)": [n for n, s in weight_matmuls.items() if s != (inner, hidden)],
        } | {f"only {kind}": [n for n, s in weight_matmuls.items() if s == shape] for kind, shape in kinds.items()}

        def measure(folder: Path, precision: str) -> tuple[float, float]:
            engine = OnnxPredictor.load(folder, precision=precision, threads=args.threads)
            engine.predict_proba(timed[:64])  # warm-up
            t0 = time.perf_counter()
            engine.predict_proba(timed)
            speed = len(timed) / (time.perf_counter() - t0)
            return float(np.mean(engine.predict_proba(choose_on).argmax(axis=1) == reference)), speed

        fp32_agreement, fp32_speed = measure(export, "fp32")
        print(
            f"\n{len(choose_on)} train + validation texts for agreement, {len(timed)} test texts timed, "
            f"{args.threads} thread(s)\n"
        )
        print("| quantised MatMuls | nodes | agreement with torch | sentences/s | speed vs fp32 ONNX |")
        print("|---|---:|---:|---:|---:|")
        print(f"| none: fp32 ONNX (baseline) | 0 | {fp32_agreement:.2%} | {fp32_speed:.1f} | 1.00x |")
        for name, nodes in recipes.items():
            folder = Path(tmp) / "variant"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(export, folder)
            quantize_dynamic(
                str(export / FP32_FILE),
                str(folder / INT8_FILE),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=nodes,
            )
            agreement, speed = measure(folder, "int8")
            print(f"| {name} | {len(nodes)} | {agreement:.2%} | {speed:.1f} | {speed / fp32_speed:.2f}x |")

        print("\n| activation smoothing (all but feed-forward down quantised) | agreement with torch | sentences/s |")
        print("|---|---:|---:|")
        for alpha in (None, 0.5, 0.75, 0.9):
            folder = Path(tmp) / "variant"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(export, folder)
            _smoothed_int8(predictor, export, folder / INT8_FILE, alpha)
            agreement, speed = measure(folder, "int8")
            print(f"| {'off' if alpha is None else f'alpha {alpha}'} | {agreement:.2%} | {speed:.1f} |")


def _smoothed_int8(predictor, export: Path, dst: Path, alpha: float | None) -> None:
    """The shipped int8 recipe over the run's model smoothed with `alpha` (None: not smoothed), as the export does."""
    from fintune.models.onnx_export import FP32_FILE, _quantize, _smoothed_copy, _trace

    model, tokenizer = predictor.model, predictor.tokenizer
    source = export / FP32_FILE
    if alpha is not None:
        smoothed, _ = _smoothed_copy(model, predictor, alpha)
        source = dst.with_name("smoothed.onnx")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
        _trace(smoothed, tokenizer, names, predictor.cfg.data.max_length, source)
    _quantize(source, dst, model.config)


if __name__ == "__main__":
    main()
