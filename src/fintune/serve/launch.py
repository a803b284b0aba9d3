"""`fintune serve`: check the server packages, take the port, load the model, run uvicorn until Ctrl-C or SIGTERM.

The port is bound before the model loads, so a busy port fails in a second, not after the load; uvicorn
then serves on that socket. Its graceful shutdown stops accepting, lets in-flight requests finish, and
runs the app's shutdown, which drains the batcher.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import os
import socket
from pathlib import Path

import torch
import yaml

from fintune.config import validate_config
from fintune.errors import FintuneError
from fintune.inference.forecaster import Forecaster
from fintune.inference.predictor import Predictor
from fintune.inference.run_files import check_finished_run
from fintune.serve.app import create_app
from fintune.serve.settings import ServeSettings

log = logging.getLogger("fintune.serve")
ENGINES = ("torch", "onnx")
GRACE_S = 30  # in-flight requests get this long after a stop signal before uvicorn cancels them


def require_server_packages() -> None:
    for module in ("fastapi", "uvicorn"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            raise FintuneError(
                f"`fintune serve` needs {module}; install it with: pip install 'fintune[serve]'"
            ) from None


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, _ = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, OverflowError):
        raise FintuneError(f"--host '{host}' is not an address or name this machine can listen on") from None
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets that do, and without it every keep-alive
    # response waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart right after a stop (TIME_WAIT)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise FintuneError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port or --host") from None
    return sock


def load_model(run_dir: Path, engine: str, threads: int | None = None, precision: str | None = None):
    """(predictor, None) for a classification run, (None, forecaster) for a forecasting run. `precision`: None for
    the engine's default (ServeSettings.precision)."""
    if engine not in ENGINES:
        raise FintuneError(f"--engine must be one of {', '.join(ENGINES)}, not '{engine}'")
    if engine == "onnx":
        return _onnx_predictor(run_dir, threads, precision), None

    torch.set_num_threads(threads or default_threads(torch.get_num_threads()))
    check_finished_run(run_dir)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    if validate_config(saved, str(run_dir / "config.yaml")).task == "forecast":
        if precision not in (None, "fp32"):
            raise FintuneError(f"'{run_dir}' is a forecasting run; it is served in fp32 only, not {precision}")
        return None, Forecaster.load(run_dir)
    return Predictor.load(run_dir, precision=precision or "fp32"), None


def default_threads(engine_default: int) -> int:
    """The engine's choice (one per physical core), less one core left to the HTTP event loop.

    Intra-op threads spin while they wait for each other; when they outnumber the free cores, each call
    waits for descheduled threads; on a shared 2-core machine that made single texts many times slower
    (measured in benchmarks/RESULTS.md).
    """
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use, not the machine's
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(engine_default, cores - 1))


def _onnx_predictor(path: Path, threads: int | None, precision: str | None):
    try:
        from fintune.serve.engines import load_predictor

        options = {"threads": threads} if threads else {}
        return load_predictor(path, "onnx", **options, **({"precision": precision} if precision else {}))
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("fintune"):
            raise FintuneError(
                f"--engine onnx is not available in this installation ({e.name} is missing); use --engine torch"
            ) from None
        raise FintuneError(f"--engine onnx needs {e.name}; install it with: pip install 'fintune[fast]'") from None


def serve(run_dir: Path, host: str, port: int, settings: ServeSettings) -> None:
    require_server_packages()
    import uvicorn

    run_dir = Path(run_dir)
    sock = bind(host, port)
    try:
        predictor, forecaster = load_model(run_dir, settings.engine, settings.threads, settings.precision)
        app = create_app(predictor, settings, forecaster=forecaster, name=run_dir.name)
        if not settings.api_key and not _is_loopback(host):
            log.warning("listening on %s without an API key: anyone who can reach it can use the model", host)
        bound_port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
        shown = f"[{host}]" if ":" in host else host
        kind = "forecaster" if forecaster is not None else getattr(predictor, "kind", "encoder")
        if settings.engine == "torch":
            import torch

            kind += f", torch {settings.precision}, {torch.get_num_threads()} thread(s)"
        else:
            kind += f", {settings.engine} {settings.precision}"
        print(
            f"fintune: serving '{run_dir.name}' ({kind}) on http://{shown}:{bound_port} "
            f"(docs: /docs; API key {'required' if settings.api_key else 'off'}); Ctrl-C stops",
            flush=True,
        )
        config = uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=GRACE_S)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown; that is a clean stop
            pass
        print("fintune: server stopped", flush=True)
    finally:
        sock.close()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
