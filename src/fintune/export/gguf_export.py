"""`fintune export --gguf`: a causal run as one GGUF file for llama.cpp, Ollama and LM Studio, checked on reload.

The adapter is merged into the base (QLoRA: into the unquantised base, as `fintune export` does), the weights are
laid out as llama.cpp's converter lays them out (export/gguf_layout.py), the tokenizer goes in as metadata
(export/gguf_tokenizer.py), and the file is read back and compared with the merged model on 32 validation prompts
(export/gguf_check.py) before the folder gets its final name: a file that fails the check is never left looking
finished. Beside it: an Ollama Modelfile with the run's exact prompt, and gguf_export.json with the check.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time
from pathlib import Path

import gguf
import pandas as pd

from fintune.atomic import partial_folder, partial_name
from fintune.data.registry import load_splits
from fintune.errors import FintuneError
from fintune.export.gguf_check import check_gguf
from fintune.export.gguf_layout import GGUF_TYPES, architecture, encode_tensor, gguf_tensors, write_hyperparameters
from fintune.export.gguf_tokenizer import write_tokenizer
from fintune.export.merged import check_target, load_run_for_export
from fintune.export.modelfile import modelfile
from fintune.inference.predictor import Predictor, merge_adapter
from fintune.inference.run_files import run_model_kind
from fintune.models.gguf import source_gguf
from fintune.progress import phase, status_console

GGUF_INFO = "gguf_export.json"
CHECK_PROMPTS = 32


def export_gguf(run_dir: str | Path, out_dir: str | Path, gguf_type: str = "f16") -> Path:
    """Write `<run>.<gguf_type>.gguf`, Modelfile and gguf_export.json into `out_dir` (new or empty)."""
    run_dir, out = Path(run_dir), Path(out_dir)
    if gguf_type not in GGUF_TYPES:
        raise FintuneError(f"--gguf-type must be one of {', '.join(GGUF_TYPES)}, not '{gguf_type}'")
    check_target(out, partial_name(out))
    if run_model_kind(run_dir) != "causal":  # from its files, before seconds of loading weights
        raise FintuneError(
            f"'{run_dir}' is an encoder (classifier) run; GGUF holds causal LMs. Use --onnx for encoder runs"
        )
    console = status_console()
    with phase(f"export: loading the run '{run_dir.name}' and merging its adapter", console):
        loaded, method = load_run_for_export(run_dir)
        model = merge_adapter(loaded.model).float().eval()
    arch = architecture(model.config)
    reference = Predictor(run_dir, loaded.cfg, loaded.labels, loaded.tokenizer, model, "causal")
    with phase("export: reading the texts to check the file on", console):
        texts, checked_on = _check_texts(run_dir, loaded.cfg)

    with partial_folder(out) as partial:
        path = partial / f"{run_dir.name}.{gguf_type}.gguf"
        t0 = time.perf_counter()
        source = source_gguf(loaded.cfg.model.path, loaded.cfg.model.gguf_file)
        with phase(f"export: writing {path.name} ({gguf_type})", console):
            tokenizer_origin = write_gguf(path, model, loaded.tokenizer, source, run_dir.name, gguf_type)
        write_s = time.perf_counter() - t0
        with phase(f"export: reading it back and comparing with the merged model on {len(texts)} prompts", console):
            check = check_gguf(path, reference, texts, gguf_type)
        if not check["passed"]:
            raise FintuneError(f"GGUF check failed, nothing written to '{out}': {check['why']}")
        (partial / "Modelfile").write_text(
            modelfile(path.name, loaded.cfg, loaded.tokenizer, loaded.labels, run_dir.name), encoding="utf-8"
        )
        info = {
            "source_run": str(run_dir.resolve()),
            "base_model": loaded.cfg.model.path,
            "method": method,
            "labels": loaded.labels,
            "file": path.name,
            "gguf_type": gguf_type,
            "architecture": gguf.MODEL_ARCH_NAMES[arch.arch],
            "bytes": path.stat().st_size,
            "tokenizer": tokenizer_origin,
            "write_s": round(write_s, 1),
            "check": {"on": checked_on, **check, "check_s": round(time.perf_counter() - t0 - write_s, 1)},
            "versions": {"gguf": _version("gguf"), "transformers": _version("transformers")},
        }
        (partial / GGUF_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    _say(check_line(check, checked_on))
    return out


def check_line(check: dict, checked_on: str) -> str:
    """What the reload check found, in one line: what a user needs before trusting the file elsewhere."""
    n = check["prompts"]
    return (
        f"check passed on {n} {checked_on} prompts: tokens equal on {n - check['tokenization_mismatches']}/{n}, "
        f"labels equal on {n - check['labels_differing']}/{n}, largest logit difference "
        f"{check['max_abs_logit_diff']:.3g}"
    )


def write_gguf(path: Path, model, tokenizer, source: Path | None, name: str, gguf_type: str) -> str:
    """Write `model` (a plain, merged causal LM) and `tokenizer` as one GGUF file; returns where the tokenizer
    metadata came from. `source`: the GGUF file the base model was read from, if any."""
    arch = architecture(model.config)
    file_type, matrix_type = GGUF_TYPES[gguf_type]
    writer = gguf.GGUFWriter(path, gguf.MODEL_ARCH_NAMES[arch.arch])
    write_hyperparameters(writer, model.config, arch, name)
    writer.add_file_type(file_type)
    if matrix_type not in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    rows = model.get_input_embeddings().weight.shape[0]
    origin = write_tokenizer(writer, tokenizer, source, rows)
    for name, array in gguf_tensors(model, arch):
        data, raw_dtype = encode_tensor(name, array, matrix_type)
        writer.add_tensor(name, data, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return origin


def _check_texts(run_dir: Path, cfg) -> tuple[list[str], str]:
    """The first CHECK_PROMPTS validation texts; where the run's data is not readable here, its test predictions'."""
    try:
        splits = load_splits(cfg.data, teacher=Predictor.load)
        frame, where = (splits.validation, "validation") if len(splits.validation) else (splits.test, "test")
    except FintuneError as e:
        _say(f"note: the run's data cannot be read here, so the check uses its test predictions instead ({e})")
        predictions = run_dir / "predictions.csv"
        if not predictions.is_file():
            raise FintuneError(
                f"GGUF check: the data of '{run_dir}' is unreadable here and it has no predictions.csv"
            ) from None
        frame, where = pd.read_csv(predictions), "test (from predictions.csv; the run's data is unreadable here)"
    if "text" not in frame or not len(frame):
        raise FintuneError(f"GGUF check: no texts to check on in the {where} split of '{run_dir}'")
    return [str(t) for t in frame["text"][:CHECK_PROMPTS]], where


def _version(package: str) -> str:
    return importlib.metadata.version(package)


def _say(message: str) -> None:
    print(f"fintune: {message}", file=sys.stderr, flush=True)
