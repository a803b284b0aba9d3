"""A run killed with SIGKILL mid-training and resumed ends exactly where an uninterrupted run ends."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "configs/quickstart.yaml")

# Runs the real CLI, but the process SIGKILLs itself when the training loop asks for its
# KILL_AT-th batch: a kill -9 at a known step, between two checkpoints, with no chance to clean up.
KILLER = """
import os, signal, sys
from fintune.train import batching
kill_at, calls = int(sys.argv[1]), [0]
original = batching.EncodedTexts.collate
def collate(self, idx):
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, idx)
batching.EncodedTexts.collate = collate
sys.argv = ["fintune"] + sys.argv[2:]
from fintune.cli import main
main()
"""


def _run(*args, kill_at=None):
    cmd = [sys.executable, "-c", KILLER, str(kill_at or 0), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_kill_9_then_resume_matches_uninterrupted_run(tiny_overrides, tmp_path):
    args = ["run", QUICKSTART, *tiny_overrides, "train.epochs=3", "train.save_steps=4", "train.batch_size=4"]
    full = _run(*args, "name=straight")
    assert full.returncode == 0, full.stderr

    killed = _run(*args, "name=killed", kill_at=23)  # 12 batches per epoch: killed in epoch 2, after step 20
    assert killed.returncode == -signal.SIGKILL
    runs = tmp_path / "runs"
    assert not (runs / "killed").exists() and (runs / "killed.partial").is_dir(), "a killed run must not look finished"

    resumed = _run(*args, "name=killed", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 20" in resumed.stderr

    a = json.loads((runs / "straight" / "metrics.json").read_text())
    b = json.loads((runs / "killed" / "metrics.json").read_text())
    assert a["test"] == b["test"] and a["validation"] == b["validation"]
    assert a["train"]["final_loss"] == b["train"]["final_loss"]
    assert a["train"]["evals"] == b["train"]["evals"]


@pytest.mark.slow
def test_resume_refuses_a_changed_config_or_a_missing_run(tiny_overrides, tmp_path):
    args = ["run", QUICKSTART, *tiny_overrides, "train.save_steps=2", "train.batch_size=4"]
    assert _run(*args, kill_at=7).returncode == -signal.SIGKILL
    changed = _run(*args, "train.learning_rate=0.5", "--resume")
    assert changed.returncode == 2 and "differs from the unfinished run's in train.learning_rate" in changed.stderr
    missing = _run(*args, "name=other", "--resume")
    assert missing.returncode == 2 and "no unfinished run 'other'" in missing.stderr
