"""Optional experiment tracking: a tiny run logs its loss, validation and test metrics to TensorBoard / MLflow."""

import json
import sys
from pathlib import Path

import pytest

from fintune.config import load_config
from fintune.errors import FintuneError
from fintune.recipes import run_recipe as run
from fintune.train.tracking import Tracker, check_tracking, open_tracker

QUICKSTART = Path(__file__).resolve().parents[2] / "configs/quickstart.yaml"


def _tiny_run(tiny_overrides, *extra) -> tuple[Path, dict, list]:
    final = run(load_config(QUICKSTART, [*tiny_overrides, "eval.baselines=[majority]", *extra]))
    metrics = json.loads((final / "metrics.json").read_text())
    losses = json.loads((final / "train_log.json").read_text())
    return final, metrics, losses


def test_tensorboard_event_files_hold_the_loss_validation_and_test_scalars(tiny_overrides):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    final, metrics, losses = _tiny_run(tiny_overrides, "tracking.tensorboard=true")
    events = EventAccumulator(str(final / "tensorboard"))
    events.Reload()
    train_loss = events.Scalars("train/loss")
    assert [e.step for e in train_loss] == [step for step, _, _ in losses]
    assert [e.value for e in train_loss] == pytest.approx([loss for _, _, loss in losses], abs=1e-5)
    assert len(events.Scalars("validation/f1_weighted")) == 2  # one per epoch
    assert events.Scalars("test/accuracy")[0].value == pytest.approx(metrics["test"]["accuracy"])
    assert "baseline_majority/f1_weighted" in events.Tags()["scalars"]
    assert "config/text_summary" in events.Tags()["tensors"]  # the resolved config, as text


def test_mlflow_sqlite_store_has_the_run_with_params_and_metrics(tiny_overrides, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # MLflow must not litter the working directory (no ./mlruns)
    final, metrics, losses = _tiny_run(tiny_overrides, "tracking.mlflow=true", "tracking.experiment=tiny-exp")
    db = tmp_path / "runs" / "mlflow.db"  # the default: next to the runs, in output_dir
    assert db.is_file() and not (tmp_path / "mlruns").exists()
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    [logged] = client.search_runs([client.get_experiment_by_name("tiny-exp").experiment_id])
    assert logged.info.run_name == "tiny" and logged.info.status == "FINISHED"
    assert logged.data.params["train.epochs"] == "2" and logged.data.params["adapter.method"] == "lora"
    assert logged.data.tags["fintune.run_dir"] == str(final)
    history = client.get_metric_history(logged.info.run_id, "train/loss")
    assert sorted(m.step for m in history) == [step for step, _, _ in losses]
    assert len(client.get_metric_history(logged.info.run_id, "validation/loss")) == 2
    assert logged.data.metrics["test/f1_weighted"] == pytest.approx(metrics["test"]["f1_weighted"])


def test_a_missing_tracking_package_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # makes `import mlflow` raise ImportError
    cfg = load_config(QUICKSTART, ["tracking.mlflow=true"])
    expected = r"tracking.mlflow needs the mlflow package: pip install 'fintune\[tracking\]'"
    with pytest.raises(FintuneError, match=expected):
        check_tracking(cfg.tracking)


def test_tracking_off_is_a_no_op():
    tracker = Tracker()
    tracker.log_metrics("train", {"loss": 1.0}, 1)
    tracker.log_summary({"test": {"accuracy": 1.0}}, 1)
    tracker.close()
    assert tracker.backends == []


def test_resume_continues_the_same_mlflow_run(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    cfg = load_config(QUICKSTART, [f"output_dir={tmp_path}", "name=resumed", "tracking.mlflow=true"])
    folder = tmp_path / "resumed.partial"
    crashed = open_tracker(cfg, folder)
    crashed.log_metrics("train", {"loss": 2.0}, 1)
    crashed.backends[0]._flush()
    crashed.backends = []  # as if the process had died here: nothing more is sent, the run stays RUNNING
    resumed = open_tracker(cfg, folder, resume=True)
    resumed.log_metrics("train", {"loss": 1.0}, 2)
    resumed.close()
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    [logged] = client.search_runs([client.get_experiment_by_name("fintune").experiment_id])
    assert logged.info.status == "FINISHED"
    assert [(m.step, m.value) for m in client.get_metric_history(logged.info.run_id, "train/loss")] == [
        (1, 2.0),
        (2, 1.0),
    ]


def test_resume_accepts_changed_tracking_keys(tmp_path):
    from fintune.train.rundir import RunDir

    first = load_config(QUICKSTART, [f"output_dir={tmp_path}", "name=r"])
    RunDir(first).open(resume=False)
    RunDir(load_config(QUICKSTART, [f"output_dir={tmp_path}", "name=r", "tracking.tensorboard=true"])).check(True)
    with pytest.raises(FintuneError, match="train.seed"):
        RunDir(load_config(QUICKSTART, [f"output_dir={tmp_path}", "name=r", "train.seed=7"])).check(True)
