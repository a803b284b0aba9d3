"""How the ONNX int8 export is prepared and what it quantises: agreement with the torch model vs speed, chosen
without test.

Every table reports label agreement with the run's PyTorch model on the FPB *train and validation* texts (agreement
needs no labels, so the choice never sees the test split) and sentences/s on the first 600 test texts with one
thread. Baseline: the fp32 ONNX graph (nothing quantised).
1. No preparation: every weight MatMul quantised, all but the feed-forward down-projections, one kind at a time.
2. Activation smoothing (`fintune.export.smoothing`) with the down-projections kept fp32: off, alpha 0.5 / 0.75
   (shipped) / 0.9.
3. Smoothing at the shipped alpha, and the down-projections quantised with their k largest input channels split
   off in fp32 (`fintune.export.outliers`): k = 0 (no split: the whole down-projections fp32), 1, 2, 4 (shipped),
   8, 16. It adds the mean KL divergence from the torch model's probabilities on train + validation (continuous,
   so less noisy than counting flipped labels) and, reported but never chosen on, test agreement.
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
    from fintune.export.onnx import FP32_FILE, INT8_FILE, export_onnx
    from fintune.export.outliers import OUTLIER_CHANNELS
    from fintune.export.smoothing import ALPHA
    from fintune.inference.onnx_engine import OnnxPredictor
    from fintune.inference.predictor import Predictor

    torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.run_dir)
    splits = load_splits(DataConfig(source="fpb"))
    choose_on = [*splits.train["text"], *splits.validation["text"]]
    test = list(splits.test["text"])
    timed = test[:600]
    reference_probs = predictor.predict_proba(choose_on)
    reference, test_reference = reference_probs.argmax(axis=1), predictor.predict_proba(test).argmax(axis=1)

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
            "all but feed-forward down": [n for n, s in weight_matmuls.items() if s != (inner, hidden)],
        } | {f"only {kind}": [n for n, s in weight_matmuls.items() if s == shape] for kind, shape in kinds.items()}

        def measure(folder: Path, precision: str, extra: bool = False) -> tuple:
            """(agreement, sentences/s), and with `extra` also (mean KL, test agreement)."""
            # int8 alone: near-tie re-scoring would hide the recipes' differences behind fp32 answers
            engine = OnnxPredictor.load(folder, precision=precision, threads=args.threads, rescore_near_ties=False)
            engine.predict_proba(timed[:64])  # warm-up
            t0 = time.perf_counter()
            engine.predict_proba(timed)
            speed = len(timed) / (time.perf_counter() - t0)
            probs = engine.predict_proba(choose_on)
            agreement = float(np.mean(probs.argmax(axis=1) == reference))
            if not extra:
                return agreement, speed
            test_agreement = float(np.mean(engine.predict_proba(test).argmax(axis=1) == test_reference))
            return agreement, speed, _mean_kl(reference_probs, probs), test_agreement

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
            _prepared_int8(predictor, export, folder / INT8_FILE, alpha, 0)
            agreement, speed = measure(folder, "int8")
            print(f"| {'off' if alpha is None else f'alpha {alpha}'} | {agreement:.2%} | {speed:.1f} |")

        print(
            f"\n| down-projections (smoothing alpha {ALPHA}) | agreement with torch | mean KL | sentences/s "
            "| test agreement (reported, not chosen on) |"
        )
        print("|---|---:|---:|---:|---:|")
        for count in (0, 1, 2, 4, 8, 16):
            folder = Path(tmp) / "variant"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(export, folder)
            _prepared_int8(predictor, export, folder / INT8_FILE, ALPHA, count)
            agreement, speed, kl, test_agreement = measure(folder, "int8", extra=True)
            name = "kept fp32 (k = 0)" if count == 0 else f"int8, {count} channel(s) per layer split off in fp32"
            shipped = " (shipped)" if count == OUTLIER_CHANNELS else ""
            print(f"| {name}{shipped} | {agreement:.2%} | {kl:.6f} | {speed:.1f} | {test_agreement:.2%} |")


def _prepared_int8(predictor, export: Path, dst: Path, alpha: float | None, outlier_channels: int) -> None:
    """The export's int8 graph over the run's model smoothed with `alpha` (None: no preparation at all) and
    `outlier_channels` split off per down-projection (0: the down-projections stay fp32), as the export does."""
    from fintune.data.registry import load_splits
    from fintune.export.onnx import CALIBRATION_TEXTS, FP32_FILE, _int8_ready_copy, _quantize, _trace

    model, tokenizer = predictor.model, predictor.tokenizer
    source = export / FP32_FILE
    if alpha is None:
        outlier_channels = 0
    else:
        texts = list(load_splits(predictor.cfg.data).train["text"][:CALIBRATION_TEXTS])  # as the export calibrates
        ready, _ = _int8_ready_copy(model, predictor, texts, alpha, outlier_channels)  # Predictor.load merged it
        source = dst.with_name("int8_ready.onnx")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
        _trace(ready, tokenizer, names, predictor.cfg.data.max_length, source)
    _quantize(source, dst, model.config, outlier_channels)


def _mean_kl(p: np.ndarray, q: np.ndarray) -> float:
    eps = 1e-9
    return float(np.mean(np.sum(p * (np.log(p + eps) - np.log(q + eps)), axis=1)))


if __name__ == "__main__":
    main()
