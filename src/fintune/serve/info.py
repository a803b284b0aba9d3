"""What GET /v1/model says about the served model: read once at start, from the run directory when there is one."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from fintune.serve.settings import ServeSettings

VERSIONED = ("fintune", "torch", "transformers", "onnxruntime")


def source_run(model) -> Path | None:
    """The run directory behind a predictor or forecaster: its own, or for an ONNX export the run it came from."""
    run_dir = getattr(model, "run_dir", None)
    if run_dir is None:
        source = (getattr(model, "info", None) or {}).get("source_run")
        run_dir = Path(source) if source else getattr(model, "folder", None)
    return Path(run_dir) if run_dir is not None else None


def model_info(model, kind: str, settings: ServeSettings, name: str | None = None) -> dict:
    run_dir = source_run(model)
    return {
        "model": name or (run_dir.name if run_dir else "unnamed"),
        "kind": kind,
        "engine": settings.engine,
        "precision": settings.precision,
        "near_tie_margin": getattr(model, "near_tie_margin", None),
        "int8_calibrated": getattr(model, "int8_calibrated", None) if settings.precision == "int8" else None,
        "labels": list(getattr(model, "labels", None) or []),
        "test_metrics": _test_metrics(run_dir),
        "versions": _versions(),
        "limits": {"max_texts": settings.max_texts, "max_chars": settings.max_chars, "max_batch": settings.max_batch},
    }


def _test_metrics(run_dir: Path | None) -> dict | None:
    path = run_dir / "metrics.json" if run_dir else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("test")
    except (OSError, ValueError):  # the model still serves; only its description is incomplete
        return None


def _versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
