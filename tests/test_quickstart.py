"""The main job, `fintune run configs/quickstart.yaml`, on a slice: the bundled MiniLM, a few steps.

With FINTUNE_DATA_DIR set it reads the real FPB; without it, the tiny fixture stands in so the
bundled model's path through the whole workflow is always exercised.
"""

import json
import os
import re
from pathlib import Path

from fintune.config import load_config
from fintune.inference.predictor import Predictor
from fintune.recipes import run_recipe as run
from tests.conftest import TINY_CSV

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_on_a_slice_with_the_bundled_model(tmp_path, capfd):
    data = [] if os.environ.get("FINTUNE_DATA_DIR") else [f"data.source={TINY_CSV}"]
    cfg = load_config(
        ROOT / "configs/quickstart.yaml",
        [
            f"output_dir={tmp_path}",
            "data.max_train_samples=96",
            "data.max_eval_samples=64",
            "train.max_steps=4",
            "train.batch_size=16",
            *data,
        ],
    )
    assert cfg.model.path == "minilm" and cfg.adapter.method == "lora"
    run_dir = run(cfg)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 4
    said = capfd.readouterr().err.replace("\n", " ")  # the console wraps long lines at spaces
    assert re.search(r"stopped at step 4 of epoch \d \(max_steps\)", said)  # 4 steps end inside an epoch
    assert metrics["test"]["n"] == 64 if not data else metrics["test"]["n"] > 0
    assert metrics["meta"]["versions"]["transformers"]
    predictor = Predictor.load(run_dir)
    probs = predictor.predict_proba(["Operating profit rose to EUR 13.1 mn from EUR 8.7 mn"])
    assert probs.shape == (1, 3) and abs(probs.sum() - 1) < 1e-5
    # The saved adapter reproduces the predictions the run wrote.
    import pandas as pd

    written = pd.read_csv(run_dir / "predictions.csv")
    again = predictor.predict_proba(list(written["text"]))
    assert (
        again.argmax(axis=1) == written[["prob_negative", "prob_neutral", "prob_positive"]].values.argmax(axis=1)
    ).all()
