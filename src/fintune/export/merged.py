"""A finished run as one plain transformers checkpoint: adapters merged into the weights, plus the tokenizer.

`AutoModelForCausalLM.from_pretrained(DIR)` (causal runs) or `AutoModelForSequenceClassification.from_pretrained(DIR)`
(encoder runs) then loads it without fintune or peft. `fintune_export.json` beside the weights records where it
came from, its labels and, for causal runs, the prompt: a causal model only gives the run's answers when asked
exactly the way it was trained.

Two cases are not a plain copy of the run's model, and are handled so that nothing is silently different:

- Mean pooling (the bundled all-MiniLM-L6-v2 selects it): fintune swaps BERT's [CLS] pooler for a masked token
  mean (`pooling.py`). A plain `AutoModelForSequenceClassification` always builds the [CLS] pooler, which such a
  run never trained (and did not save), so the export would load without complaint and then predict something
  else. A README note is easy to miss, so such runs are refused; use them through `fintune predict --run`, or
  train with `model.pooling=cls` for an exportable classifier.
- QLoRA: merging into 4-bit weights re-rounds them, and a 4-bit checkpoint needs bitsandbytes and a GPU to load.
  The adapter is merged into the unquantised base instead (as QLoRA merges are usually done), so the export differs
  from the run's model by the base weights' quantisation error; `fintune_export.json` says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from peft import PeftModel

from fintune.atomic import check_creatable_folder, partial_folder, partial_name
from fintune.config import validate_config
from fintune.data.prompts import PromptTemplate
from fintune.errors import FintuneError
from fintune.inference.predictor import Predictor
from fintune.inference.run_files import check_finished_run
from fintune.models.artifacts import load_trained
from fintune.models.pooling import MeanPooler

EXPORT_INFO = "fintune_export.json"


def export_merged(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the run's merged weights (safetensors), tokenizer and fintune_export.json into `out_dir`."""
    run_dir, out = Path(run_dir), Path(out_dir)
    check_target(out, partial_name(out))
    predictor, method = load_run_for_export(run_dir)
    model = predictor.model

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    if predictor.kind == "encoder":
        _check_plain_pooling(model, run_dir)
        model.config.id2label = dict(enumerate(predictor.labels))
        model.config.label2id = {label: i for i, label in enumerate(predictor.labels)}

    with partial_folder(out) as partial:
        model.save_pretrained(partial, safe_serialization=True)
        predictor.tokenizer.save_pretrained(partial)
        info = _export_info(run_dir, predictor, method)
        (partial / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


def check_target(out: Path, partial: Path) -> None:
    if not out.name:
        raise FintuneError(f"export target '{out}' has no folder name; give a new folder")
    if out.exists() and not out.is_dir():
        raise FintuneError(f"export target '{out}' is a file; give a new folder")
    check_creatable_folder(out, "export target")
    if out.is_dir() and any(out.iterdir()):
        raise FintuneError(f"export target '{out}' already exists and is not empty; give a new folder")
    if partial.exists():  # only a killed export leaves one; it may also be someone's folder, so it is not deleted
        raise FintuneError(f"'{partial}' exists (an interrupted export?); remove it or give another --out")


def load_run_for_export(run_dir: Path):
    """(Predictor, the run's adapter method); a QLoRA adapter is loaded over its unquantised base, to merge into."""

    check_finished_run(run_dir)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    method = (saved.get("adapter") or {}).get("method", "lora")
    if method != "qlora":
        return Predictor.load(run_dir), method

    saved["adapter"]["method"] = "lora"  # same adapter, full-precision base
    cfg = validate_config(saved, str(run_dir))
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    labels, kind = metrics["data"]["labels"], metrics["train"].get("model_kind", "encoder")
    tokenizer, model = load_trained(run_dir, cfg, labels, kind)
    return Predictor(run_dir, cfg, labels, tokenizer, model, kind), method


def _check_plain_pooling(model, run_dir: Path) -> None:

    base = getattr(model, model.base_model_prefix, None)
    if isinstance(getattr(base, "pooler", None), MeanPooler):
        raise FintuneError(
            f"'{run_dir}' classifies the mean of the token states (model.pooling=mean); plain transformers "
            "always uses the [CLS] pooler and would predict differently. Use `fintune predict --run` "
            "with this run, or train with model.pooling=cls to export it"
        )


def _export_info(run_dir: Path, predictor, method: str) -> dict:
    cfg, labels = predictor.cfg, predictor.labels
    info = {
        "source_run": str(run_dir.resolve()),
        "base_model": cfg.model.path,
        "method": method,
        "kind": predictor.kind,
        "labels": labels,
        "load_with": "AutoModelForCausalLM" if predictor.kind == "causal" else "AutoModelForSequenceClassification",
        "trust_remote_code": cfg.model.trust_remote_code,
    }
    if method == "qlora":
        info["note"] = (
            "the QLoRA adapter was merged into the unquantised base weights, so this model differs from the run's "
            "4-bit model by the base weights' quantisation error"
        )
    if predictor.kind == "causal":
        info["prompt"] = _prompt_info(cfg, predictor.tokenizer, labels)
    return info


def _prompt_info(cfg, tokenizer, labels: list[str]) -> dict:
    """Enough to rebuild the exact prompt the model was trained and evaluated on."""

    template = PromptTemplate.from_config(cfg.prompt, tokenizer)
    instruction = cfg.prompt.instruction.format(choices="/".join(labels))
    if template.chat:
        system = "" if template.chat.system is None else f"{{'role': 'system', 'content': {template.chat.system!r}}}, "
        how = (
            "user turn = instruction + '\\n' + text, through tokenizer.apply_chat_template("
            f"[{system}{{'role': 'user', 'content': turn}}], add_generation_prompt=True)"
        )
    else:
        how = (
            "prompt = template.format(instruction=instruction, input=text), tokenized with add_special_tokens=True "
            "(the tokenizer's BOS if it adds one; no EOS)"
        )
    return {
        "instruction": instruction,
        "template": None if template.chat else cfg.prompt.template,
        "chat_template": bool(template.chat),
        "system": template.chat.system if template.chat else None,
        "how": how,
        "example": template.render("Operating profit rose to EUR 13.1 mn", labels),
        "answer": "one label, then EOS; fintune picks the label whose tokens (+ EOS) are most likely after the prompt",
        "max_length": cfg.data.max_length,
        "max_length_note": "longer prompts were shortened in the middle, keeping their last tokens (the answer cue)",
    }
