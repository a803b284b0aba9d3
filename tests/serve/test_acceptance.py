"""Acceptance: the real `fintune serve` on a tiny finished run answers 1,000 concurrent requests exactly as
`Predictor.predict` does, without a single 5xx, and a Ctrl-C lets the requests in flight finish.

Latency and memory are printed (run with -s to see them), never asserted: this machine is shared.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from tests.conftest import TINY_CSV, tiny_run_overrides

ROOT = Path(__file__).resolve().parents[2]
KEY = "acceptance-key"
N_REQUESTS, CONCURRENCY = 1000, 16


@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory) -> Path:
    """configs/quickstart.yaml as a seconds-long run on the tiny model (the overrides of `tiny_overrides`)."""
    from fintune.config import load_config
    from fintune.recipes import run_recipe as run

    out = tmp_path_factory.mktemp("serve-runs")
    run(load_config(ROOT / "configs/quickstart.yaml", tiny_run_overrides(tiny_model_dir, out)))
    return out / "tiny"


def start_server(run_dir: Path, log_dir: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`fintune serve --port 0` in a subprocess; returns it and its base URL once it answers /healthz."""
    stdout = open(log_dir / "serve.out", "w")  # files, not pipes: a full pipe would block the server's logging
    stderr = open(log_dir / "serve.err", "w")
    env = {**os.environ, "FINTUNE_API_KEY": KEY}
    cmd = [sys.executable, "-m", "fintune", "serve", "--run", str(run_dir), "--port", "0", *args]
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {(log_dir / 'serve.err').read_text()}")
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", (log_dir / "serve.out").read_text())
        if match:
            try:
                if httpx.get(match.group(1) + "/healthz", timeout=1).status_code == 200:
                    return proc, match.group(1)
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start within 120 s")


def text_pool(n: int) -> list[str]:
    lines = [line.rsplit(",", 1)[0] for line in TINY_CSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [f"{lines[i % len(lines)]} {i}" for i in range(n)]


def test_real_server_matches_predictor_under_concurrency(tiny_run, tmp_path):
    from fintune.inference.predictor import Predictor

    pool = text_pool(400)
    rng = np.random.default_rng(0)
    # mostly one text per request, some with 2-5, so merged batches hold uneven requests
    requests = [list(rng.choice(pool, size=1 if i % 10 else int(rng.integers(2, 6)))) for i in range(N_REQUESTS)]
    expected = dict(zip(pool, Predictor.load(tiny_run).predict(pool)))

    # one model thread: on a shared 2-core machine, idle-spinning intra-op threads make every call slower
    proc, url = start_server(tiny_run, tmp_path, "--threads", "1")
    server = psutil.Process(proc.pid)
    try:
        headers = {"X-API-Key": KEY}
        client = httpx.Client(base_url=url, headers=headers, timeout=60, limits=httpx.Limits(max_connections=32))
        assert client.post("/v1/classify", json={"texts": ["warm up"]}).status_code == 200
        assert httpx.post(url + "/v1/classify", json={"texts": ["no key"]}).status_code == 401
        rss_before = server.memory_info().rss

        def call(texts):
            t0 = time.perf_counter()
            res = client.post("/v1/classify", json={"texts": texts})
            return texts, res.status_code, res.json(), time.perf_counter() - t0

        t0 = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as threads:
            results = list(threads.map(call, requests))
        wall = time.perf_counter() - t0
        rss_after = server.memory_info().rss

        statuses = [status for _, status, _, _ in results]
        n_5xx = sum(status >= 500 for status in statuses)
        latencies = np.array([seconds for *_, seconds in results]) * 1000
        print(
            f"\nserve acceptance: {N_REQUESTS} requests at concurrency {CONCURRENCY} in {wall:.1f} s "
            f"({N_REQUESTS / wall:.0f} req/s); latency p50 {np.percentile(latencies, 50):.1f} ms, "
            f"p99 {np.percentile(latencies, 99):.1f} ms; server RSS {rss_before / 2**20:.0f} MiB before, "
            f"{rss_after / 2**20:.0f} MiB after; 5xx: {n_5xx}"
        )
        assert n_5xx == 0
        assert statuses == [200] * N_REQUESTS
        for texts, _, body, _ in results:
            assert body["model"] == "tiny"
            assert len(body["predictions"]) == len(texts)
            for text, got in zip(texts, body["predictions"]):
                want = expected[text]
                assert got["label"] == want["label"], text
                np.testing.assert_allclose(
                    [got["probs"][k] for k in want["probs"]], list(want["probs"].values()), atol=1e-6
                )

        # Ctrl-C with requests in flight: they are answered, then the server exits cleanly
        def heavy(i):
            res = client.post("/v1/classify", json={"texts": pool[i * 32 : i * 32 + 64]})
            return res.status_code, time.perf_counter()

        with ThreadPoolExecutor(8) as threads:
            inflight = [threads.submit(heavy, i) for i in range(8)]
            time.sleep(0.05)
            stopped_at = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            done = [f.result() for f in inflight]
        assert [status for status, _ in done] == [200] * 8
        print(f"answered after Ctrl-C: {sum(t > stopped_at for _, t in done)} of 8 in-flight requests")
        assert proc.wait(timeout=60) == 0
        assert "server stopped" in (tmp_path / "serve.out").read_text()
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
