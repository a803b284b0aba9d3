"""Predictor.load folds the adapter into the base weights for speed, without changing what the run predicts."""

from pathlib import Path

import numpy as np
import pytest

from fintune.config import load_config
from fintune.predict import Predictor

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", ["lora", "dora"])
def test_merged_adapter_predicts_what_the_trained_adapter_predicts(tiny_overrides, method):
    from peft import PeftModel

    from fintune.train.workflow import run

    overrides = [*tiny_overrides, f"adapter.method={method}", "train.max_steps=4", "eval.baselines=[]"]
    run_dir = run(load_config(ROOT / "configs/quickstart.yaml", overrides))
    as_trained = Predictor.load(run_dir, merge=False)
    merged = Predictor.load(run_dir)
    assert isinstance(as_trained.model, PeftModel) and not isinstance(merged.model, PeftModel)
    assert not any("lora_" in name for name, _ in merged.model.named_parameters())

    texts = ["profit rose", "sales fell sharply this quarter", "the board met", "net loss widened to EUR 2 mn"] * 9
    want, got = as_trained.predict_proba(texts), merged.predict_proba(texts)
    assert want.shape == got.shape == (len(texts), len(merged.labels))
    np.testing.assert_allclose(got, want, atol=1e-5)
    # the adapter must have moved the model, or this compares the base with itself
    base = Predictor.load(run_dir, merge=False)
    with base.model.disable_adapter():
        assert np.abs(base.predict_proba(texts) - want).max() > 1e-4
