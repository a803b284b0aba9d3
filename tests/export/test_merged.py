"""`fintune export`: a run's merged weights load with plain transformers and compute what the run's model computes."""

import json
from pathlib import Path

import pytest
import torch

from fintune.config import load_config
from fintune.errors import FintuneError
from fintune.export.merged import EXPORT_INFO, export_merged
from fintune.inference.predictor import Predictor
from tests.conftest import fintune, tiny_causal_overrides

ROOT = Path(__file__).resolve().parents[2]
ONE_EPOCH = ["train.epochs=1", "eval.generate=false"]  # a causal run only needs a trained adapter to export
QUICK = ["train.max_steps=3", "eval.baselines=[]"]  # an encoder run only needs to finish with a trained adapter


def _adapter_trained(model) -> bool:
    """LoRA's B matrices start at zero; a merge test on an untrained adapter would compare the base with itself."""
    return any(p.abs().sum() > 0 for name, p in model.named_parameters() if "lora_B" in name)


@pytest.fixture(scope="module")
def llama_lora_run(tiny_causal_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export-runs")
    res = fintune(
        "run",
        ROOT / "configs/llm/llama_lora_fpb.yaml",
        *tiny_causal_overrides(tiny_causal_dir("llama"), out, "llama"),
        *ONE_EPOCH,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return out / "llama"


def test_causal_export_loads_with_plain_transformers_and_matches_the_adapter(llama_lora_run, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export_merged(llama_lora_run, tmp_path / "merged")
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    assert not (tmp_path / "merged.partial").exists()
    info = json.loads((out / EXPORT_INFO).read_text())
    assert info["kind"] == "causal" and info["labels"] == ["negative", "neutral", "positive"]
    assert info["prompt"]["template"] and "{input}" in info["prompt"]["template"]

    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    run_model = Predictor.load(llama_lora_run, merge=False).model
    assert _adapter_trained(run_model)
    ids = AutoTokenizer.from_pretrained(out)(info["prompt"]["example"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = run_model(input_ids=ids.to(run_model.device)).logits.cpu()
        got = merged(input_ids=ids).logits
    assert (got - expected).abs().max() < 1e-4


def test_qlora_run_merges_into_the_unquantised_base(llama_lora_run, tmp_path):
    # A stand-in QLoRA run (bitsandbytes needs CUDA): the LoRA run relabelled; export must not quantise to load it.
    import shutil

    import yaml
    from transformers import AutoModelForCausalLM

    run_dir = shutil.copytree(llama_lora_run, tmp_path / "qlora")
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg["adapter"]["method"] = "qlora"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))

    out = export_merged(run_dir, tmp_path / "merged")
    info = json.loads((out / EXPORT_INFO).read_text())
    assert info["method"] == "qlora" and "unquantised base" in info["note"]
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    assert not getattr(merged.config, "quantization_config", None)
    run_model = Predictor.load(llama_lora_run, merge=False).model
    ids = torch.tensor([[1, 5, 6, 7]])
    with torch.no_grad():
        assert (
            merged(input_ids=ids).logits - run_model(input_ids=ids.to(run_model.device)).logits.cpu()
        ).abs().max() < 1e-4


def test_encoder_export_keeps_labels_and_predictions(tiny_overrides, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from fintune.recipes import run_recipe as run

    run_dir = run(load_config(ROOT / "configs/quickstart.yaml", [*tiny_overrides, *QUICK, "model.pooling=cls"]))
    out = export_merged(run_dir, tmp_path / "merged")

    predictor = Predictor.load(run_dir, merge=False)  # the adapter as trained, to compare the export with
    assert _adapter_trained(predictor.model)
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert model.config.id2label == dict(enumerate(predictor.labels))
    texts = ["profit rose", "sales fell sharply this quarter"]
    batch = AutoTokenizer.from_pretrained(out)(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        probs = model(**batch).logits.softmax(-1).numpy()
    assert abs(probs - predictor.predict_proba(texts)).max() < 1e-4


def test_mean_pooled_encoder_run_is_refused_not_exported_wrong(tiny_overrides, tmp_path):
    from fintune.recipes import run_recipe as run

    run_dir = run(load_config(ROOT / "configs/quickstart.yaml", [*tiny_overrides, *QUICK, "model.pooling=mean"]))
    with pytest.raises(FintuneError, match="model.pooling=mean"):
        export_merged(run_dir, tmp_path / "merged")
    assert not (tmp_path / "merged").exists() and not (tmp_path / "merged.partial").exists()


def test_non_empty_target_is_refused_by_name(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FintuneError, match=f"'{target}' already exists and is not empty"):
        export_merged(tmp_path / "any-run", target)
    assert (target / "keep.txt").read_text() == "mine"


def test_leftover_partial_folder_is_refused_not_deleted(tmp_path):
    (tmp_path / "out.partial").mkdir()
    (tmp_path / "out.partial" / "keep.txt").write_text("mine")
    with pytest.raises(FintuneError, match="out.partial' exists"):
        export_merged(tmp_path / "any-run", tmp_path / "out")
    assert (tmp_path / "out.partial" / "keep.txt").is_file()


def test_exporting_a_folder_that_is_not_a_run_exits_2_with_one_line(tmp_path):
    res = fintune("export", "--run", tmp_path, "--out", tmp_path / "out")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("fintune: error:")
    assert str(tmp_path) in res.stderr and not (tmp_path / "out").exists()
