"""Two processes under torchrun (gloo, CPU) train like one process with the same global batch.

Dropout is switched off (model and LoRA) and precision is fp32: with dropout each rank draws its own masks,
so the runs would agree in distribution only. What remains is float summation order (per-rank mean losses
recombined, gradients all-reduced), so the tolerance is 1e-4 relative on each step's loss, 1e-5 on weights.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fintune.train.distributed import Distributed

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "configs/quickstart.yaml")
KILLER = (Path(__file__).parent / "test_resume.py").read_text().split('KILLER = """')[1].split('"""')[0]
LOSS_RTOL, WEIGHT_ATOL = 1e-4, 1e-5
# batch 7 splits 4 + 3 (unequal shares), an epoch's last batch has 5, accumulation exercises DDP's no_sync
SAME_FUNCTION = [
    "adapter.dropout=0",
    "train.precision=fp32",
    "train.batch_size=7",
    "train.gradient_accumulation_steps=2",
    "train.save_steps=2",
]


def _fintune(*args, kill_at: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two ranks on two cores, beside whatever else runs
    cmd = [sys.executable, "-c", KILLER, str(kill_at), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


@pytest.fixture
def still_model(tiny_model_dir, tmp_path) -> Path:
    """The tiny BERT without dropout, so that one and two processes compute the same function."""
    folder = tmp_path / "still-bert"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _same_training(runs: Path, a: str, b: str) -> None:
    log_a = json.loads((runs / a / "train_log.json").read_text())
    log_b = json.loads((runs / b / "train_log.json").read_text())
    assert [row[:2] for row in log_a] == [row[:2] for row in log_b]  # same steps in the same epochs
    for (step, _, loss_a), (_, _, loss_b) in zip(log_a, log_b):
        assert loss_b == pytest.approx(loss_a, rel=LOSS_RTOL), f"step {step}"
    w_a = load_file(runs / a / "adapter" / "adapter_model.safetensors")
    w_b = load_file(runs / b / "adapter" / "adapter_model.safetensors")
    assert w_a.keys() == w_b.keys()
    for name in w_a:
        torch.testing.assert_close(w_b[name], w_a[name], rtol=0, atol=WEIGHT_ATOL, msg=name)


def test_two_processes_train_like_one_and_write_one_run(tiny_overrides, still_model, tmp_path):
    args = [*tiny_overrides, f"model.path={still_model}", *SAME_FUNCTION]
    one = _fintune("train", QUICKSTART, *args, "name=one")
    assert one.returncode == 0, one.stderr
    two = _fintune("train", QUICKSTART, *args, "name=two", "--nproc", "2")
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("run: ") == 1, two.stdout  # rank 0 speaks for the job
    assert two.stderr.count("epoch 1: train loss") == 1, two.stderr

    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["one", "two"]  # no .partial, no second folder
    _same_training(runs, "one", "two")
    a, b = (json.loads((runs / n / "metrics.json").read_text()) for n in ("one", "two"))
    assert b["validation"]["loss"] == pytest.approx(a["validation"]["loss"], rel=LOSS_RTOL)
    assert b["train"]["samples_per_s"] > 0 and b["train"]["steps"] == a["train"]["steps"]


@pytest.mark.slow
def test_a_run_checkpointed_by_one_process_resumes_in_two(tiny_overrides, still_model, tmp_path):
    args = [*tiny_overrides, f"model.path={still_model}", *SAME_FUNCTION]
    one = _fintune("train", QUICKSTART, *args, "name=one")
    assert one.returncode == 0, one.stderr
    # the checkpoint holds the unwrapped trainable state and the loop position in global batches
    killed = _fintune("train", QUICKSTART, *args, "name=moved", kill_at=13)  # in step 7 of 8
    assert killed.returncode == -signal.SIGKILL
    resumed = _fintune("train", QUICKSTART, *args, "name=moved", "--resume", "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 6" in resumed.stderr  # mid-epoch 2
    _same_training(tmp_path / "runs", "one", "moved")


@pytest.mark.slow
def test_a_bad_input_found_by_the_workers_ends_in_one_line_and_exit_2(tiny_overrides, tmp_path):
    bad = _fintune("train", QUICKSTART, *tiny_overrides, f"data.source={tmp_path / 'missing.csv'}", "--nproc", "2")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == f"fintune: error: file '{tmp_path / 'missing.csv'}' not found"
    assert bad.stderr.count("fintune: error:") == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "runs").exists()


def test_shards_weight_ranks_so_the_average_is_the_global_mean():
    batch = list(range(7))
    count = lambda idx: float(len(idx))  # noqa: E731
    shards = [Distributed(rank, 2, rank).shard(batch, count) for rank in range(2)]
    assert [idx for idx, _ in shards] == [[0, 2, 4, 6], [1, 3, 5]]
    # DDP divides the summed gradients by 2: factors 2 * 4/7 and 2 * 3/7 make it the mean over all 7
    assert [f for _, f in shards] == pytest.approx([8 / 7, 6 / 7])
    idle = Distributed(1, 2, 1).shard([5], count)
    assert idle == ([5], 0.0)  # a rank without examples still joins the backward, contributing nothing
    assert Distributed().shard(batch, count) == (batch, 1.0)
