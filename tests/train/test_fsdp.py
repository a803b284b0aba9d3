"""FSDP2 under torchrun (gloo, CPU): a tiny Llama with an adapter trains sharded like one process unsharded.

As in test_distributed.py, dropout is off and precision fp32, so the runs compute the same function and differ
only in float summation order: 1e-4 relative on each step's loss, 1e-5 on the final weights.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from fintune.errors import FintuneError
from fintune.train.distributed import resolve_strategy
from tests.conftest import TINY_CSV, one_line_error, tiny_causal_overrides
from tests.train.test_distributed import KILLER, LOSS_RTOL, QUICKSTART, SAME_FUNCTION, WEIGHT_ATOL

ROOT = Path(__file__).resolve().parents[2]
LLM_CONFIG = str(ROOT / "configs/llm/smollm2_lora_fpb.yaml")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # two ranks on two cores, beside whatever else runs


def _run(*cmd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, cmd)], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600
    )


def _args(tiny_causal_dir, runs: Path, name: str, *extra) -> list[str]:
    return [
        *tiny_causal_overrides(tiny_causal_dir("llama"), runs, name),
        *SAME_FUNCTION,
        "eval.generate=false",
        "eval.baselines=[majority]",
        *extra,
    ]


def _one_process(command: str, tiny_causal_dir, runs: Path, name: str, *extra) -> list[str]:
    """The 1-process reference run; returns its arguments for the run compared with it."""
    args = _args(tiny_causal_dir, runs, name, *extra)
    res = _run("-m", "fintune", command, LLM_CONFIG, *args)
    assert res.returncode == 0, res.stderr
    return args


def _weights(run: Path) -> dict:
    folder = run / "adapter" if (run / "adapter").exists() else run / "model"
    return load_file(next(folder.glob("*.safetensors")))


def _same_training(a: Path, b: Path) -> None:
    log_a, log_b = (json.loads((r / "train_log.json").read_text()) for r in (a, b))
    assert [row[:2] for row in log_a] == [row[:2] for row in log_b]
    for (step, _, loss_a), (_, _, loss_b) in zip(log_a, log_b):
        assert loss_b == pytest.approx(loss_a, rel=LOSS_RTOL), f"step {step}"
    w_a, w_b = _weights(a), _weights(b)
    assert w_a.keys() == w_b.keys()
    for name in w_a:
        assert (w_a[name] - w_b[name]).abs().max().item() <= WEIGHT_ATOL, name


@pytest.mark.parametrize(
    "method",
    [
        "lora",
        pytest.param("lora_plus", marks=pytest.mark.slow),
        pytest.param("dora", marks=pytest.mark.slow),
        pytest.param("freeze", marks=pytest.mark.slow),
        pytest.param("full", marks=pytest.mark.slow),
    ],
)
def test_fsdp_in_two_processes_trains_like_one_process(tiny_causal_dir, tmp_path, method):
    runs = tmp_path / "runs"
    # LoRA+ trains B 16 times faster: at the tiny runs' 0.01 that is a rate at which rounding differences grow
    # past 1e-4 within 8 steps whatever computes them, so it gets a tenth of it
    rate = ["train.learning_rate=0.001"] if method == "lora_plus" else []
    layers = ["adapter.freeze_trainable_layers=1"] if method == "freeze" else []  # a causal LM has no head
    args = _one_process("train", tiny_causal_dir, runs, "one", f"adapter.method={method}", *rate, *layers)
    two = _run("-m", "fintune", "train", LLM_CONFIG, *args, "name=two", "train.strategy=fsdp", "--nproc", "2")
    assert two.returncode == 0, two.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["one", "two"]
    _same_training(runs / "one", runs / "two")
    a, b = (json.loads((runs / n / "metrics.json").read_text()) for n in ("one", "two"))
    assert b["validation"]["loss"] == pytest.approx(a["validation"]["loss"], rel=LOSS_RTOL)


@pytest.mark.slow
def test_fsdp_killed_in_two_processes_resumes_in_one(tiny_causal_dir, tmp_path):
    runs = tmp_path / "runs"
    args = _one_process("run", tiny_causal_dir, runs, "straight")

    # torchrun starts the killer itself in every worker, so the patched collate runs inside the ranks
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER.replace("EncodedTexts", "EncodedInstructions"))  # the causal LMs' batches
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(killer)]
    killed = _run(*torchrun, "13", "run", LLM_CONFIG, *args, "name=moved", "train.strategy=fsdp")
    assert killed.returncode != 0
    assert (runs / "moved.partial").is_dir() and not (runs / "moved").exists()

    resumed = _run("-m", "fintune", "run", LLM_CONFIG, *args, "name=moved", "train.strategy=fsdp", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 6" in resumed.stderr
    a, b = (json.loads((runs / n / "metrics.json").read_text()) for n in ("straight", "moved"))
    assert b["test"]["accuracy"] == a["test"]["accuracy"] and b["test"]["mcc"] == pytest.approx(a["test"]["mcc"])
    assert b["test"]["loss"] == pytest.approx(a["test"]["loss"], rel=LOSS_RTOL)
    _same_training(runs / "straight", runs / "moved")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_on_loopback_write_one_run_with_the_one_process_result(tiny_causal_dir, tmp_path):
    runs = tmp_path / "runs"
    args = _one_process("train", tiny_causal_dir, runs, "one")

    endpoint = f"127.0.0.1:{_free_port()}"
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--node-rank",
                str(rank),
                "--nproc-per-node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                endpoint,
                "-m",
                "fintune",
                "train",
                LLM_CONFIG,
                *args,
                "name=nodes",
                "train.strategy=fsdp",
            ],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], [err for _, err in outputs]
    assert sum(out.count("run: ") for out, _ in outputs) == 1  # rank 0 speaks for the job
    assert sorted(p.name for p in runs.iterdir()) == ["nodes", "one"]
    _same_training(runs / "one", runs / "nodes")


def test_fsdp_refuses_an_encoder_and_qlora_in_one_line(tiny_model_dir, tiny_causal_dir, tmp_path):
    overrides = [
        f"model.path={tiny_model_dir}",
        f"data.source={TINY_CSV}",
        f"output_dir={tmp_path}",
        "train.max_steps=1",
    ]
    res = _run("-m", "fintune", "train", QUICKSTART, *overrides, "train.strategy=fsdp", "--nproc", "2")
    one_line_error(res, "train.strategy 'fsdp' shards causal LMs", "use ddp")
    args = _args(tiny_causal_dir, tmp_path, "q", "adapter.method=qlora", "train.strategy=fsdp")
    res = _run("-m", "fintune", "train", LLM_CONFIG, *args, "--nproc", "2")
    one_line_error(res, "train.strategy 'fsdp' supports adapter.method", "not 'qlora'")


def test_strategy_is_plain_for_one_process_and_ddp_by_default():
    assert resolve_strategy("fsdp", 1) == "none"  # so a sharded run resumes in one process
    assert resolve_strategy("auto", 2) == "ddp" and resolve_strategy("fsdp", 2) == "fsdp"
    with pytest.raises(FintuneError, match="one process"):
        resolve_strategy("none", 2)
