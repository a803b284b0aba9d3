"""Predictor.load folds the adapter into the base weights for speed, without changing what the run predicts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fintune.config import load_config
from fintune.inference.predictor import Predictor
from tests.conftest import TINY_CSV

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", ["lora", "dora"])
def test_merged_adapter_predicts_what_the_trained_adapter_predicts(tiny_overrides, method):
    from peft import PeftModel

    from fintune.recipes import run_recipe as run

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


def test_bf16_is_refused_without_native_bf16_and_keeps_the_labels_with_it(tiny_overrides, monkeypatch):
    import fintune.inference.predictor as predictor_module
    import fintune.models.precision as precision
    from fintune.errors import FintuneError
    from fintune.recipes import run_recipe as run

    overrides = [*tiny_overrides, "model.pooling=mean", "eval.baselines=[]"]  # as tests/serve/test_onnx.py
    run_dir = run(load_config(ROOT / "configs/quickstart.yaml", overrides))
    with pytest.raises(FintuneError, match="one of fp32, bf16"):
        Predictor.load(run_dir, precision="fp16")
    fp32 = Predictor.load(run_dir)
    texts = pd.read_csv(TINY_CSV)["text"].tolist()  # what the tiny model learned: answers are not all near-ties
    want = fp32.predict_proba(texts)
    if not precision.bf16_available(next(fp32.model.parameters()).device):
        with pytest.raises(FintuneError, match="needs native bf16"):
            Predictor.load(run_dir, precision="bf16")
        pytest.skip("this CPU has no native bf16: only the refusal was tested")
    monkeypatch.setattr(predictor_module, "bf16_available", lambda device: False)  # the name predictor.py calls
    with pytest.raises(FintuneError, match="needs native bf16"):
        Predictor.load(run_dir, precision="bf16")
    monkeypatch.undo()
    bf16 = Predictor.load(run_dir, precision="bf16")
    got = bf16.predict_proba(texts)
    assert bf16.predict(texts[:1])[0]["label"] in bf16.labels
    assert np.abs(got - want).max() < 0.05 and 0 < np.abs(got - want).max()  # bf16 rounding, not the fp32 path
    clear = np.diff(np.sort(want, axis=1)[:, -2:], axis=1)[:, 0] > 0.02  # a near-tie may flip
    assert clear.mean() > 0.5 and (got.argmax(axis=1) == want.argmax(axis=1))[clear].all()
