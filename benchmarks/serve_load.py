"""Throughput and latency of `fintune serve` on loopback: micro-batching vs one model call per request.

Baseline: the same server with `--max-batch` equal to the texts per request, so no two requests share a
model call (what a plain "call the model in the handler" server does). Both run the same run directory,
one after the other, with the same requests: test sentences of the run (predictions.csv), sent by
`--concurrency` asyncio clients over keep-alive connections. The client shares the machine's cores with
the server, as a sidecar or a local load balancer would.

    .venv/bin/python benchmarks/serve_load.py runs/bench-fpb-1ep --requests 300 --texts-per-request 1,16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def start_server(run_dir: Path, log: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "fintune", "serve", "--run", str(run_dir), "--port", "0", *extra]
    env = {k: v for k, v in os.environ.items() if k != "FINTUNE_API_KEY"}
    with open(log, "w") as out:  # a file, not a pipe: the access log would fill a pipe and stall the server
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", log.read_text())
        if match:
            try:
                if httpx.get(match.group(1) + "/healthz", timeout=2).status_code == 200:
                    return proc, match.group(1)
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("server did not start within 300 s")


async def load(url: str, bodies: list[dict], concurrency: int) -> tuple[float, np.ndarray, int]:
    """Send every body once, `concurrency` at a time; (seconds, latencies in ms, count of non-200 answers)."""
    latencies, failed, queue = [], 0, list(reversed(bodies))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker():
            nonlocal failed
            while queue:
                body = queue.pop()
                t0 = time.perf_counter()
                res = await client.post("/v1/classify", json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                failed += res.status_code != 200

        for body in bodies[: 2 * concurrency]:  # open the connections and warm the model first
            await client.post("/v1/classify", json=body)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, np.array(latencies), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="A finished classification run.")
    parser.add_argument("--requests", type=int, default=300, help="Requests per measurement.")
    parser.add_argument("--concurrency", default="1,8,32", help="Comma list of concurrent clients.")
    parser.add_argument("--texts-per-request", default="1", help="Comma list, e.g. 1,16.")
    parser.add_argument("--max-batch", type=int, default=64, help="The micro-batching server's --max-batch.")
    parser.add_argument("--threads", type=int, default=None, help="Passed to fintune serve --threads.")
    args = parser.parse_args()
    texts = pd.read_csv(args.run_dir / "predictions.csv")["text"].astype(str).tolist()
    levels = [int(c) for c in args.concurrency.split(",")]
    sizes = [int(n) for n in args.texts_per_request.split(",")]
    extra = ["--threads", str(args.threads)] if args.threads else []
    servers = [(f"baseline: one call per request (--max-batch {n})", n, [n]) for n in sizes]
    servers.append((f"micro-batching (--max-batch {args.max_batch})", args.max_batch, sizes))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, max_batch, per_request in servers:
            proc, url = start_server(args.run_dir, Path(tmp) / "serve.log", [*extra, "--max-batch", str(max_batch)])
            try:
                for n in per_request:
                    bodies = [
                        {"texts": [texts[(i * n + j) % len(texts)] for j in range(n)]} for i in range(args.requests)
                    ]
                    for concurrency in levels:
                        seconds, ms, failed = asyncio.run(load(url, bodies, concurrency))
                        rows.append((label, concurrency, n, len(ms), seconds, ms, failed))
                        print(f"{label}, c={concurrency}, n={n}: {len(ms) / seconds:.1f} req/s", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    print("| server | concurrency | texts/request | requests | requests/s | texts/s | p50 ms | p99 ms | non-200 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, concurrency, n, count, seconds, ms, failed in sorted(rows, key=lambda r: (r[2], r[1], r[0])):
        print(
            f"| {label} | {concurrency} | {n} | {count} | {count / seconds:.1f} | {count * n / seconds:.1f} "
            f"| {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | {failed} |"
        )


if __name__ == "__main__":
    main()
