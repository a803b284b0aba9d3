"""What a run directory's own files say, read without torch: finished or not, damaged or not, which kind of
model. Commands check a run with these before the seconds (an LLM: tens of seconds) of loading its weights."""

from __future__ import annotations

import json
import struct
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
    for folder in (run_dir / "adapter", run_dir / "model"):
        if folder.is_dir():
            check_weights_folder(folder)


def check_weights_folder(folder: Path) -> None:
    """A weights folder holds safetensors files whose headers read and whose tensors all fit in the file: a deleted
    or truncated file is named here, not met as a hub-id or deserializer traceback after seconds of loading."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FintuneError(f"'{folder}' has no .safetensors weights; the run is damaged (rerun it)")
    if folder.name == "adapter" and not (folder / "adapter_config.json").is_file():
        raise FintuneError(f"'{folder}' has no adapter_config.json; the run is damaged (rerun it)")
    for path in files:
        _check_safetensors(path)


def _check_safetensors(path: Path) -> None:
    """The format: 8 bytes of header length (little-endian), a JSON header giving each tensor's byte range, then the
    data. Reading the header is enough to find a cut-off file without loading a tensor."""
    size = path.stat().st_size
    damaged = f"weights file '{path}' is damaged"
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FintuneError(f"{damaged} ({size} bytes, not even a header); rerun the run")
        (length,) = struct.unpack("<Q", head)
        if length > size - 8:
            raise FintuneError(f"{damaged} (cut off: header of {length} bytes in a {size}-byte file); rerun the run")
        try:
            header = json.loads(f.read(length))
        except ValueError:
            raise FintuneError(f"{damaged} (its header is not JSON); rerun the run") from None
    try:
        ends = [int(entry["data_offsets"][1]) for key, entry in header.items() if key != "__metadata__"]
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        raise FintuneError(f"{damaged} (its header lists no tensor byte ranges); rerun the run") from None
    needed = 8 + length + max(ends, default=0)
    if needed > size:
        raise FintuneError(f"{damaged} (cut off: {size} of {needed} bytes); rerun the run")


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
    if run_model_kind(run_dir) != "causal":
        raise FintuneError(
            f"run '{run_dir}' is an encoder classifier; `fintune chat` talks to causal LM runs "
            "(use `fintune predict` for this one)"
        )


def run_model_kind(run_dir: Path) -> str:
    """'encoder' or 'causal', from a finished run's metrics.json (runs from before causal LMs are encoders)."""
    check_finished_run(run_dir)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
    return metrics.get("train", {}).get("model_kind", "encoder")
