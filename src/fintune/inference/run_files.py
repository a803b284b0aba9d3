"""What a run directory's own files say, read without torch: finished or not, damaged or not, which kind of
model. Commands check a run with these before the seconds (an LLM: tens of seconds) of loading its weights."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from fintune.errors import FintuneError


def check_finished_run(run_dir: Path) -> None:
    run_dir = Path(run_dir)
    partial = run_dir if run_dir.name.endswith(".partial") else run_dir.with_name(run_dir.name + ".partial")
    if partial.is_dir() and not (run_dir / "metrics.json").is_file():
        raise FintuneError(f"'{run_dir}' is an unfinished run; continue it with `fintune run CONFIG --resume`")
    if not run_dir.exists():
        raise FintuneError(f"run directory '{run_dir}' not found")
    if not run_dir.is_dir():
        raise FintuneError(f"'{run_dir}' is a file, not a run directory")
    for needed in ("config.yaml", "metrics.json"):
        if not (run_dir / needed).is_file():
            raise FintuneError(f"'{run_dir}' is not a finished run (no {needed})")
    saved = _run_mapping(run_dir / "config.yaml", yaml.safe_load)
    _run_mapping(run_dir / "metrics.json", json.loads)
    zero_shot = (saved.get("adapter") or {}).get("method") == "none"  # its weights are the base model's
    if not ((run_dir / "adapter").is_dir() or (run_dir / "model").is_dir() or zero_shot):
        raise FintuneError(f"'{run_dir}' is not a finished run (no adapter/ or model/ weights)")


def _run_mapping(path: Path, parse) -> dict:
    """A run's own config.yaml or metrics.json, parsed; a damaged one (hand-edited, cut off by a full disk) is named
    with its line instead of surfacing as a parser traceback in whichever command reads it first."""
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (ValueError, yaml.YAMLError) as e:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        mark = getattr(e, "problem_mark", None)
        line = getattr(e, "lineno", None) or (mark.line + 1 if mark is not None else None)
        where = f", line {line}" if line else ""
        raise FintuneError(
            f"run file '{path}'{where} cannot be read ({type(e).__name__}); the run is damaged"
        ) from None
    if not isinstance(data, dict):
        raise FintuneError(f"run file '{path}' is not a mapping of keys to values; the run is damaged")
    return data


def check_chat_run(run_dir: Path) -> None:
    """Refuse a run chat cannot talk to from its files alone, before minutes of loading its weights."""
    run_dir = Path(run_dir)
    check_finished_run(run_dir)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    if saved.get("task") == "forecast":
        raise FintuneError(f"run '{run_dir}' forecasts prices; use `fintune forecast --run` for it")
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if metrics.get("train", {}).get("model_kind", "encoder") != "causal":  # runs from before causal LMs: encoders
        raise FintuneError(
            f"run '{run_dir}' is an encoder classifier; `fintune chat` talks to causal LM runs "
            "(use `fintune predict` for this one)"
        )
