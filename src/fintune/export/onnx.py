"""A finished encoder run as ONNX for fast CPU inference: an fp32 graph, a dynamic-int8 graph and the tokenizer.

The graph is traced from the run's own torch model (`Predictor.load`, adapter merged), so fintune's pooling (the
masked mean for the bundled MiniLM, see `pooling.py`) and classification head are inside it exactly as the run uses
them; unlike `export.py`, nothing has to be re-expressed for plain transformers. Before anything is written the fp32
graph is run on a probe batch of another size and padding than the tracing example, and must give the torch model's
probabilities: a trace that baked in a shape or skipped the mask would fail here instead of serving wrong answers.

Layout of the folder (read by `fintune.inference.onnx_engine.OnnxPredictor`):
    model.onnx        fp32, inputs input_ids / attention_mask (/ token_type_ids) of shape (batch, sequence) -> logits
    model.int8.onnx   the same with the MatMul weights in int8 (onnxruntime dynamic quantisation, see _quantize),
                      quantised from a copy prepared on calibration texts (_int8_ready_copy): activation-smoothed
                      (export/smoothing.py), the down-projections' outlier channels split off (export/outliers.py)
    tokenizer files, and onnx_export.json (labels, max_length, input names, provenance, and the near-tie margin
                      within which int8 answers are re-scored in fp32, measured on held-out texts:
                      inference/near_ties.py)
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from peft import PeftModel

from fintune.atomic import partial_folder, partial_name
from fintune.data.registry import load_splits
from fintune.errors import FintuneError
from fintune.eval.data_check import check_data
from fintune.export.merged import check_target, load_run_for_export
from fintune.export.outliers import OUTLIER_CHANNELS, feed_forward_pairs, split_outlier_channels
from fintune.export.smoothing import ALPHA, record_input_peaks, smooth_for_int8, smoothing_targets
from fintune.inference.encoder_probs import predict_proba
from fintune.inference.near_ties import QUANTILE, distortion, margins, near_tie_margin
from fintune.inference.predictor import Predictor
from fintune.inference.run_files import check_finished_run
from fintune.provenance import git_commit, versions

ONNX_INFO = "onnx_export.json"
FP32_FILE, INT8_FILE = "model.onnx", "model.int8.onnx"
UNCALIBRATED_INT8_FILE = "model.int8-uncalibrated.onnx"
"""The int8 graph's name when the run's data could not be read: no smoothing, no outlier split, no near-tie margin."""
OPSET = 17  # LayerNormalization is a native op from 17 on; onnxruntime >= 1.14 runs it
CALIBRATION_TEXTS = 1024  # training texts whose activations set the smoothing scales and the outlier channels
HELD_OUT_TEXTS = 4096  # at most this many other texts measure int8's error for near-tie re-scoring (near_ties.py)
TOLERANCE = 1e-4  # largest probability difference between the fp32 graph and the torch model that export accepts
_PROBE = [  # two lengths, so both the tracing example and the check are padded
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period in 2007",
    "Shares fell",
    "The company said net sales would grow in 2009 , profit up",
]


def require_onnx() -> None:
    """onnx and onnxruntime are an optional extra; say how to get them rather than fail on an import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as e:
        raise FintuneError(
            f"ONNX export and inference need onnx and onnxruntime ({e.name} is not installed); "
            "install them with: pip install 'fintune[fast]'"
        ) from None


def export_onnx(run_dir: str | Path, out_dir: str | Path, allow_changed_data: bool = False) -> Path:
    """Write model.onnx, model.int8.onnx, the tokenizer and onnx_export.json of an encoder run into `out_dir`."""
    run_dir, out = Path(run_dir), Path(out_dir)
    check_target(out, partial_name(out))
    require_onnx()
    _refuse_causal(run_dir)
    predictor, method = load_run_for_export(run_dir)
    model = predictor.model

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()  # plain matmuls in the graph, and the weights int8 quantises
    model = model.float().eval()  # a bf16/fp16-loaded model would export half-precision weights
    tokenizer = predictor.tokenizer
    max_length = predictor.cfg.data.max_length
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    with partial_folder(out) as partial:
        _trace(model, tokenizer, names, max_length, partial / FP32_FILE)
        diff = _check_against_torch(model, tokenizer, names, max_length, partial / FP32_FILE)
        splits, why_not, changed = _run_data(run_dir, predictor.cfg, allow_changed_data)
        ready, preparation = None, {"applied": False, "why_not": why_not}
        if splits is not None:
            ready, preparation = _int8_ready_copy(model, predictor, list(splits.train["text"][:CALIBRATION_TEXTS]))
        int8_source, split = partial / FP32_FILE, 0
        if ready is not None:  # the int8 graph is quantised from the prepared model; fp32 stays as traced
            int8_source = partial / "int8_ready.onnx"
            split = preparation["outlier_split"]["channels_per_layer"]
            _trace(ready, tokenizer, names, max_length, int8_source)
        int8_file = INT8_FILE if splits is not None else UNCALIBRATED_INT8_FILE
        kept = _quantize(int8_source, partial / int8_file, model.config, split)
        if ready is not None:
            int8_source.unlink()
        tokenizer.save_pretrained(partial)
        info = _info(run_dir, predictor, method, names, max_length, diff)
        info["files"]["int8"] = int8_file
        info |= changed
        info["quantization"] |= {"kept_fp32": kept, "preparation": preparation, "calibrated": splits is not None}
        info["quantization"]["near_ties"] = _measure_near_ties(partial, info, tokenizer, splits)
        (partial / ONNX_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


def _refuse_causal(run_dir: Path) -> None:

    check_finished_run(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if metrics.get("train", {}).get("model_kind", "encoder") == "causal":
        raise FintuneError(
            f"'{run_dir}' is a causal LM run; ONNX export supports encoder (classifier) runs only for now. "
            "Use `fintune export` without --onnx for a merged transformers checkpoint"
        )


def _encode(tokenizer, texts: list[str], names: list[str], max_length: int, kind: str):
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors=kind)
    return {n: enc[n] for n in names}


def _trace(model, tokenizer, names: list[str], max_length: int, path: Path) -> None:
    """TorchScript-traced export (dynamo=False). torch 2.13's default dynamo exporter needs onnxscript, another
    dependency; tracing records exactly the ops the run's forward pass executes, mask hook included."""

    class LogitsOnly(torch.nn.Module):
        """(input_ids, attention_mask[, token_type_ids]) -> logits, positional so the ONNX inputs get our names."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors)), return_dict=True).logits

    example = _encode(tokenizer, _PROBE[:2], names, max_length, "pt")
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks; the probe check decides
        torch.onnx.export(
            LogitsOnly(model).eval(),  # export restores the wrapper's mode afterwards: a new module's is training
            tuple(example[n] for n in names),
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["logits"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _check_against_torch(model, tokenizer, names: list[str], max_length: int, path: Path) -> float:
    """Largest probability difference of the fp32 graph vs the torch model on a batch unlike the tracing example."""
    import onnxruntime as ort

    batch = _encode(tokenizer, _PROBE, names, max_length, "np")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = _softmax(session.run(["logits"], {n: batch[n].astype(np.int64) for n in names})[0])
    with torch.no_grad():
        want = torch.softmax(model(**{n: torch.from_numpy(batch[n]) for n in names}).logits.float(), -1).numpy()
    diff = float(np.abs(got - want).max())
    if not diff <= TOLERANCE:
        raise FintuneError(
            f"the ONNX graph of '{path.parent}' differs from the run's model by {diff:.2e} in probability "
            f"(allowed {TOLERANCE:g}); this model's architecture does not trace faithfully, use `fintune predict`"
        )
    return diff


def _run_data(run_dir: Path, cfg, allow_changed_data: bool):
    """(the run's labelled splits, "", {}) or, where they cannot be read here, (None, why, {}) after a one-line
    warning. Data that changed since the run stops the export (exit 2) unless allowed: then the note is third."""
    try:
        splits = load_splits(cfg.data, teacher=Predictor.load)
    except FintuneError as e:
        print(
            f"warning: int8 graph without calibration or near-tie re-scoring: the run's data is unreadable ({e})",
            file=sys.stderr,
        )
        return None, str(e), {}
    return splits, "", check_data(run_dir, splits.fingerprints(), allow_changed_data)


def _int8_ready_copy(
    model, predictor, texts: list[str], alpha: float | None = None, outlier_channels: int | None = None
) -> tuple[object, dict]:
    """A copy of `model` prepared for int8 and what was done, calibrated in one pass over `texts` (the first
    training texts of the run's data): activation smoothing of the linears that read a LayerNorm
    (export/smoothing.py) and the down-projections' outlier channels split off (export/outliers.py).
    `alpha` / `outlier_channels`: ALPHA / OUTLIER_CHANNELS unless given (benchmarks/int8_recipe.py compares
    several; 0 channels: no split)."""

    cfg = predictor.cfg
    alpha = ALPHA if alpha is None else alpha
    count = OUTLIER_CHANNELS if outlier_channels is None else outlier_channels
    ready = copy.deepcopy(model)

    def run_batches(m):
        predict_proba(m, predictor.tokenizer, texts, 32, cfg.data.max_length)

    downs = [down for _, down in feed_forward_pairs(ready)]
    peaks = record_input_peaks(ready, smoothing_targets(ready) + downs, run_batches)
    smoothed = smooth_for_int8(ready, peaks, alpha)
    split = split_outlier_channels(ready, peaks, count)
    return ready.eval(), {
        "applied": True,
        "calibration": f"first {len(texts)} training texts of {cfg.data.source}",
        "smoothing": {"alpha": alpha, "linear_layers": smoothed},
        "outlier_split": {"channels_per_layer": count if split else 0, "down_projections": split},
    }


def _measure_near_ties(folder: Path, info: dict, tokenizer, splits) -> dict:
    """The int8 margin within which OnnxPredictor re-scores a text in fp32 (inference/near_ties.py): a high quantile of
    the distortion of int8 against the fp32 graph on the run's `held_out_texts`."""
    # the predictor that will serve the graphs; deferred with onnxruntime, an optional dependency (fintune[fast])
    from fintune.inference.onnx_engine import OnnxPredictor, open_session

    if splits is None:
        return {"margin": None, "why_not": "the run's data is unreadable here"}
    texts = held_out_texts(splits)
    if not texts:
        return {"margin": None, "why_not": "no validation texts nor training texts beyond the calibration ones"}
    exact, approx = (
        OnnxPredictor(folder, info, tokenizer, open_session(folder / name, None)).predict_proba(texts)
        for name in (FP32_FILE, INT8_FILE)
    )
    errors, margin = distortion(exact, approx), near_tie_margin(exact, approx)
    return {
        "margin": margin,
        "quantile": QUANTILE,
        "measured_on": f"{len(texts)} validation and unused training texts of {splits.name}",
        "distortion_median_max": [float(np.median(errors)), float(errors.max())],
        "int8_labels_differing_there": int((exact.argmax(axis=1) != approx.argmax(axis=1)).sum()),
        "share_re_scored_there": float(np.mean(margins(approx) <= margin)),
    }


def held_out_texts(splits) -> list[str]:
    """Texts that neither calibrate the int8 preparation nor test the run: the validation split, then the training
    texts after the calibration ones, at most HELD_OUT_TEXTS."""
    return [*splits.validation["text"], *splits.train["text"][CALIBRATION_TEXTS:]][:HELD_OUT_TEXTS]


def int8_summary(folder: Path) -> str | None:
    """One line on how the int8 graph compares with fp32 on the held-out texts, or None where it was not measured."""
    near = json.loads((Path(folder) / ONNX_INFO).read_text(encoding="utf-8"))["quantization"]["near_ties"]
    if near.get("margin") is None:
        return None
    return (
        f"int8 vs fp32 on {near['measured_on']}: {near['int8_labels_differing_there']} labels differ; "
        f"texts whose top two probabilities are within {near['margin']:.3f} ({near['share_re_scored_there']:.1%} "
        "of those) are re-scored in fp32 when served"
    )


def _quantize(src: Path, dst: Path, config, outlier_channels: int = 0) -> list[str]:
    """Dynamic quantisation: int8 weights (one scale per output channel), activations quantised per batch at run
    time. Returns the MatMuls kept in fp32; the embedding lookups stay fp32 too (int8 saves memory there, not time).

    With the down-projections split (`outlier_channels` > 0, export/outliers.py) only their small outlier MatMuls
    stay fp32. Without (no calibration data) the whole down-projections do: their input, the GELU output, has a few
    channels far larger than the rest, and one int8 scale for the whole activation then rounds the others away
    (label agreement with torch on FPB train + validation, `make demo` model: 99.34 % kept vs 99.17 % quantised).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph, hidden = onnx.load(str(src)), getattr(config, "hidden_size", None)
    inputs = outlier_channels or getattr(config, "intermediate_size", None)  # the outlier parts, or the whole layers
    kept = _matmuls_with_weight(graph, (inputs, hidden))
    with _without_preprocessing_advice():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=kept,
        )
    return kept


@contextmanager
def _without_preprocessing_advice():
    """quantize_dynamic logs a warning to run onnxruntime's pre-processing (shape inference and graph optimisation)
    first. It is not run: the int8 graph is measured as quantised here (benchmarks/int8_recipe.py), and sessions
    apply the graph optimisations when they load it; the warning would only alarm whoever runs the export."""

    def drop(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def _matmuls_with_weight(graph_model, shape: tuple) -> list[str]:
    """MatMul nodes whose weight (an initializer, stored in x out) has `shape` (none if a size is unknown)."""
    if None in shape:
        return []
    weights = {w.name: tuple(w.dims) for w in graph_model.graph.initializer}
    return [
        node.name
        for node in graph_model.graph.node
        if node.op_type == "MatMul" and any(weights.get(name) == shape for name in node.input)
    ]


def _info(run_dir: Path, predictor, method: str, names: list[str], max_length: int, diff: float) -> dict:

    cfg = predictor.cfg
    libs = versions() | {name: metadata.version(name) for name in ("onnx", "onnxruntime")}
    return {
        "source_run": str(run_dir.resolve()),
        "base_model": cfg.model.path,
        "method": method,
        "kind": "encoder",
        "labels": predictor.labels,
        "max_length": max_length,
        "input_names": names,
        "files": {"fp32": FP32_FILE, "int8": INT8_FILE},
        "opset": OPSET,
        "fp32_max_prob_diff_vs_torch": diff,
        "quantization": {
            "method": "onnxruntime quantize_dynamic: int8 weights per channel, uint8 activations per batch",
            "quantized": "weight MatMuls except kept_fp32; embeddings and the classification head stay fp32",
        },
        "versions": libs,
        "git_commit": git_commit(),
    }
