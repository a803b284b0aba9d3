"""One loader for every inference engine, so a server picks torch or ONNX with a flag and uses the same interface.

Both engines offer `labels`, `predict_proba(texts)` and `predict(texts)`. `Predictor.load` stays free of ONNX:
onnxruntime is an optional extra, imported only when the ONNX engine is asked for.
"""

from __future__ import annotations

from pathlib import Path

from fintune.errors import FintuneError
from fintune.inference.onnx_engine import OnnxPredictor
from fintune.inference.predictor import Predictor

ENGINES = ("torch", "onnx")


def load_predictor(path: str | Path, engine: str = "torch", **options):
    """`torch`: `path` is a finished run directory (`Predictor`). `onnx`: `path` is a folder written by
    `fintune export --run RUN --out DIR --onnx`, or a run directory whose export is in RUN/onnx
    (`OnnxPredictor`; options: precision, threads, batch_size)."""
    if engine == "torch":
        if options:
            raise FintuneError(f"the torch engine takes no options (got {', '.join(options)})")

        return Predictor.load(path)
    if engine == "onnx":
        return OnnxPredictor.load(path, **options)
    raise FintuneError(f"engine must be one of {', '.join(ENGINES)}, not '{engine}'")
