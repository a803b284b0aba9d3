"""`fintune serve` refuses bad setups with exit code 2 and one line, before any model is loaded.

(The command serving for real is tests/serve/test_acceptance.py.)
"""

from __future__ import annotations

import socket
import sys

import pytest
from typer.testing import CliRunner

from fintune.cli import app


def serve(*args, env=None):
    return CliRunner().invoke(app, ["serve", *map(str, args)], env=env)


def one_line_error(res, *fragments):
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fintune: error: "), res.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_run(tmp_path):
    one_line_error(serve("--run", tmp_path / "nope", "--port", 0), "not found")


def test_unknown_engine(tmp_path):
    one_line_error(serve("--run", tmp_path, "--engine", "tensorrt"), "--engine", "torch or onnx")


@pytest.mark.parametrize(
    ("engine", "precision", "allowed"), [("torch", "int8", "fp32, bf16"), ("onnx", "bf16", "int8, fp32")]
)
def test_a_precision_the_engine_does_not_serve(tmp_path, engine, precision, allowed):
    res = serve("--run", tmp_path, "--engine", engine, "--precision", precision)
    one_line_error(res, f"--engine {engine}", allowed)


def test_each_engine_has_its_default_precision():
    from fintune.serve.settings import ServeSettings

    assert ServeSettings().precision == "fp32" and ServeSettings(engine="onnx").precision == "int8"


def test_empty_api_key_from_the_environment(tmp_path):
    one_line_error(serve("--run", tmp_path, env={"FINTUNE_API_KEY": ""}), "FINTUNE_API_KEY", "empty")


def test_busy_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(serve("--run", tmp_path, "--port", port), f"127.0.0.1:{port}", "--port")


def test_missing_fastapi_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi -> ModuleNotFoundError
    one_line_error(serve("--run", tmp_path), "fastapi", "fintune[serve]")


def test_onnx_engine_unavailable_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fintune.serve.engines", None)
    one_line_error(serve("--run", tmp_path, "--port", 0, "--engine", "onnx"), "--engine onnx", "--engine torch")


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_a_folder_that_is_no_run_is_refused(tmp_path, engine):
    res = serve("--run", tmp_path, "--port", 0, "--engine", engine)
    one_line_error(res, str(tmp_path))


def test_the_listening_socket_is_tcp_so_responses_are_not_delayed():
    from fintune.serve.launch import bind

    with bind("127.0.0.1", 0) as sock:  # asyncio sets TCP_NODELAY only where proto says TCP (else ~40 ms stalls)
        assert sock.proto == socket.IPPROTO_TCP


@pytest.mark.parametrize("cores, engine_default, expected", [(2, 2, 1), (1, 1, 1), (16, 8, 8), (16, 16, 15)])
def test_default_threads_leave_a_core_to_the_http_loop(monkeypatch, cores, engine_default, expected):
    import os

    from fintune.serve.launch import default_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_threads(engine_default) == expected
