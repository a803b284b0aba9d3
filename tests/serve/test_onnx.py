"""ONNX export and OnnxPredictor on the tiny run: the fp32 graph computes the run's probabilities, int8 keeps its
labels, and bad input to `fintune export --onnx` ends with exit 2 and one line."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("onnx", reason="onnx is not installed (pip install 'fintune[fast]')")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'fintune[fast]')")

from fintune.data import load_splits  # noqa: E402
from fintune.errors import FintuneError  # noqa: E402
from fintune.export.onnx import FP32_FILE, INT8_FILE, ONNX_INFO, held_out_texts  # noqa: E402
from fintune.inference.near_ties import margins  # noqa: E402
from fintune.inference.onnx_engine import OnnxPredictor  # noqa: E402
from fintune.inference.predictor import Predictor  # noqa: E402
from fintune.serve.engines import load_predictor  # noqa: E402
from tests.conftest import TINY_CSV, fintune, one_line_error, tiny_run_overrides  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEXTS = pd.read_csv(TINY_CSV)["text"].tolist()


@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory) -> Path:
    """configs/quickstart.yaml on the tiny model and CSV (as `tiny_overrides`), trained in-process once, with the
    masked-mean pooling that the bundled MiniLM uses (the pooler that is easiest to get wrong in a graph)."""
    from rich.console import Console

    from fintune.config import load_config
    from fintune.recipes import run_recipe as run

    out = tmp_path_factory.mktemp("onnx-runs")
    overrides = [*tiny_run_overrides(tiny_model_dir, out), "model.pooling=mean", "eval.baselines=[]"]
    return run(load_config(ROOT / "configs/quickstart.yaml", overrides), console=Console(stderr=True, quiet=True))


@pytest.fixture(scope="module")
def onnx_dir(tiny_run, tmp_path_factory) -> Path:
    """Exported through the command line, as a user would."""
    out = tmp_path_factory.mktemp("onnx-export") / "tiny-onnx"
    res = fintune("export", "--run", tiny_run, "--out", out, "--onnx")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == f"exported: {out}"
    assert "pre-processing" not in res.stderr  # onnxruntime's advice to the quantiser's author, not to the user
    assert "int8 vs fp32 on " in res.stderr and "are re-scored in fp32 when served" in res.stderr  # one summary line
    return out


def test_export_writes_both_graphs_the_tokenizer_and_provenance(onnx_dir, tiny_run):
    for name in (FP32_FILE, INT8_FILE, ONNX_INFO, "tokenizer.json"):
        assert (onnx_dir / name).is_file(), name
    assert not onnx_dir.with_name(onnx_dir.name + ".partial").exists()
    info = json.loads((onnx_dir / ONNX_INFO).read_text())
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert info["max_length"] == 32 and info["kind"] == "encoder" and info["method"] == "lora"
    assert info["input_names"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert info["source_run"] == str(tiny_run.resolve())
    assert info["fp32_max_prob_diff_vs_torch"] <= 1e-4
    import onnx

    ops = {node.op_type for node in onnx.load(str(onnx_dir / INT8_FILE)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    preparation = info["quantization"]["preparation"]  # calibrated on the tiny run's own training CSV
    assert preparation["applied"] and preparation["smoothing"]["linear_layers"] == 2 * 4  # q, k, v, up per layer
    assert preparation["outlier_split"] == {"channels_per_layer": 4, "down_projections": 2}
    assert len(info["quantization"]["kept_fp32"]) == 2  # per layer, the down-projection's outlier part stays fp32
    near_ties = info["quantization"]["near_ties"]  # measured on the tiny run's validation texts, not its test ones
    assert near_ties["quantile"] == 0.999 and 0.0 <= near_ties["margin"] <= near_ties["distortion_median_max"][1]
    assert " validation and unused training texts of " in near_ties["measured_on"]
    # the recorded share is the held-out texts' share whose int8 top-two margin falls within the recorded margin
    cfg = Predictor.load(tiny_run).cfg
    held_out = held_out_texts(load_splits(cfg.data))
    int8 = OnnxPredictor.load(onnx_dir, precision="int8", rescore_near_ties=False).predict_proba(held_out)
    assert near_ties["share_re_scored_there"] == pytest.approx(np.mean(margins(int8) <= near_ties["margin"]))
    assert near_ties["measured_on"].startswith(f"{len(held_out)} ")


def test_fp32_graph_gives_the_torch_predictors_probabilities_in_input_order(onnx_dir, tiny_run):
    torch_probs = Predictor.load(tiny_run).predict_proba(TEXTS)
    assert np.ptp(torch_probs, axis=0).max() > 1e-2  # answers depend on the text, so the comparison means something
    onnx = OnnxPredictor.load(onnx_dir, precision="fp32", batch_size=7)  # many batches of different widths
    probs = onnx.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 3)
    assert np.abs(probs - torch_probs).max() < 1e-4
    assert onnx.labels == ["negative", "neutral", "positive"]
    first = onnx.predict(TEXTS[:2])
    assert [r["label"] for r in first] == [onnx.labels[i] for i in torch_probs[:2].argmax(axis=1)]
    assert sum(first[0]["probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert onnx.predict_proba([]).shape == (0, 3)


def test_int8_graph_keeps_the_labels(onnx_dir, tiny_run):
    torch_probs = Predictor.load(tiny_run).predict_proba(TEXTS)
    probs = OnnxPredictor.load(onnx_dir, rescore_near_ties=False).predict_proba(TEXTS)  # the int8 graph alone
    assert np.abs(probs - torch_probs).max() < 0.05
    top2 = np.sort(torch_probs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.02  # int8 rounding may flip a near-tie, and which ones depends on the CPU
    assert clear.mean() > 0.5
    assert (probs.argmax(axis=1) == torch_probs.argmax(axis=1))[clear].all()


def test_int8_near_ties_and_only_they_are_re_scored_with_the_fp32_graph(onnx_dir):
    int8 = OnnxPredictor.load(onnx_dir)  # int8 is the default, with re-scoring where the export measured a margin
    margin = json.loads((onnx_dir / ONNX_INFO).read_text())["quantization"]["near_ties"]["margin"]
    assert int8.exact is not None and int8.near_tie_margin == margin
    alone = OnnxPredictor.load(onnx_dir, rescore_near_ties=False).predict_proba(TEXTS)
    exact = OnnxPredictor.load(onnx_dir, precision="fp32").predict_proba(TEXTS)
    assert np.abs(alone - exact).max() > 1e-4  # the graphs differ, so which one answered can be told apart

    top2 = np.sort(alone, axis=1)[:, -2:]
    int8_margins = top2[:, 1] - top2[:, 0]
    int8.near_tie_margin = float(np.median(int8_margins))  # a margin that splits the tiny texts into both kinds
    near = int8_margins <= int8.near_tie_margin
    assert 0 < near.sum() < len(TEXTS)
    probs = int8.predict_proba(TEXTS)
    assert np.allclose(probs[near], exact[near], atol=1e-6) and np.allclose(probs[~near], alone[~near], atol=1e-6)
    assert int8.rescored == near.sum()
    int8.near_tie_margin = -1.0  # no text is that close: int8 alone
    assert np.allclose(int8.predict_proba(TEXTS), alone, atol=1e-6) and int8.rescored == near.sum()
    assert OnnxPredictor.load(onnx_dir, precision="fp32").exact is None


def test_load_predictor_picks_the_engine(onnx_dir, tiny_run, tmp_path):
    assert isinstance(load_predictor(tiny_run), Predictor)
    assert isinstance(load_predictor(onnx_dir, "onnx", precision="fp32"), OnnxPredictor)
    with pytest.raises(FintuneError, match="--onnx"):
        load_predictor(tiny_run, "onnx")  # a run without an export says how to make one
    with pytest.raises(FintuneError, match="engine must be one of torch, onnx"):
        load_predictor(tiny_run, "tensorrt")
    run_copy = tmp_path / "run"
    shutil.copytree(tiny_run, run_copy)
    shutil.copytree(onnx_dir, run_copy / "onnx")  # the run's own export is found from the run directory
    assert load_predictor(run_copy, "onnx").folder == run_copy / "onnx"


def test_predictor_does_not_import_onnxruntime():
    code = "import sys, fintune.inference.predictor; print('onnxruntime' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.stdout.strip() == "False", res.stderr


@pytest.mark.slow
def test_bad_exports_exit_2_with_one_line(tiny_run, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    one_line_error(fintune("export", "--run", tiny_run, "--out", taken, "--onnx"), "already exists and is not empty")
    assert (taken / "keep.txt").read_text() == "mine"

    causal = tmp_path / "causal-run"
    shutil.copytree(tiny_run, causal)
    metrics = json.loads((causal / "metrics.json").read_text())
    metrics["train"]["model_kind"] = "causal"  # the check reads the run's kind before loading any weights
    (causal / "metrics.json").write_text(json.dumps(metrics))
    res = fintune("export", "--run", causal, "--out", tmp_path / "c", "--onnx")
    one_line_error(res, "causal", "encoder (classifier) runs only")
    assert not (tmp_path / "c").exists()

    shim = tmp_path / "shim" / "onnxruntime"  # shadows the installed onnxruntime, as if it were not installed
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnxruntime'\", name='onnxruntime')\n"
    )
    path = os.pathsep.join(filter(None, [str(shim.parent), os.environ.get("PYTHONPATH")]))
    res = fintune("export", "--run", tiny_run, "--out", tmp_path / "m", "--onnx", env={"PYTHONPATH": path})
    one_line_error(res, "onnxruntime is not installed", "pip install 'fintune[fast]'")
    assert not (tmp_path / "m").exists()


def test_without_the_runs_data_int8_is_exported_unprepared_with_a_warning(tiny_run, tmp_path):
    run_copy = tmp_path / "run"
    shutil.copytree(tiny_run, run_copy)
    config = (run_copy / "config.yaml").read_text()
    assert str(TINY_CSV) in config
    moved = tmp_path / "elsewhere.csv"  # the training CSV is gone from where the run read it
    (run_copy / "config.yaml").write_text(config.replace(str(TINY_CSV), str(moved)))
    out = tmp_path / "export"
    res = fintune("export", "--run", run_copy, "--out", out, "--onnx")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "int8 graph without calibration" in res.stderr and str(moved) in res.stderr
    assert "int8 vs fp32 on " not in res.stderr  # nothing measured, nothing summarised
    quantization = json.loads((out / ONNX_INFO).read_text())["quantization"]
    assert quantization["preparation"]["applied"] is False
    assert len(quantization["kept_fp32"]) == 2  # then the whole down-projection of each layer stays fp32
    assert quantization["near_ties"]["margin"] is None  # nothing measured, so int8 answers alone
    predictor = OnnxPredictor.load(out)
    assert predictor.exact is None and predictor.near_tie_margin is None
    probs = predictor.predict_proba(TEXTS)
    assert np.abs(probs - Predictor.load(tiny_run).predict_proba(TEXTS)).max() < 0.05
