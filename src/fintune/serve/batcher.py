"""Micro-batching: concurrent requests share one `predict_proba` call.

A transformer forward pass over 32 short texts costs little more than over one, so under load the
server answers many requests for the price of one call. The first request of a batch waits at most
`max_wait_ms` for company; the model runs in one dedicated worker thread, so the event loop keeps
accepting and parsing requests meanwhile, and the next batch forms while this one computes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("fintune.serve")


class Overloaded(Exception):
    """Too many texts waiting, or the server is shutting down: the client should retry later (503)."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future


_STOP = object()


class MicroBatcher:
    def __init__(
        self,
        predict_proba: Callable[[list[str]], np.ndarray],
        n_labels: int,
        max_batch: int = 64,
        max_wait_ms: float = 2.0,
        max_pending_texts: int = 4096,
    ):
        self._predict = predict_proba
        self.n_labels, self.max_batch, self.max_pending = n_labels, max_batch, max_pending_texts
        self.max_wait = max_wait_ms / 1000
        self.pending = 0
        """Texts queued or being computed; the bound that keeps memory and waiting time finite."""
        self.calls = 0
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._carry: _Job | None = None  # a job that did not fit into the previous batch
        self._closing = False
        # one thread: the model is not made faster by running two batches at once on the same cores
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fintune-predict")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="fintune-batcher")

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Probabilities for `texts`, shape (len(texts), n_labels), computed together with whatever else is waiting."""
        if self._closing or self._queue is None:
            raise Overloaded("the server is shutting down")
        if self.pending + len(texts) > self.max_pending:
            raise Overloaded(f"{self.pending} texts are already waiting; retry shortly")
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        self.pending += len(job.texts)
        self._queue.put_nowait(job)
        return await job.future

    async def stop(self) -> None:
        """Refuse new work, finish every queued job, then end the worker thread (graceful shutdown)."""
        if self._worker is None:
            return
        self._closing = True
        self._queue.put_nowait(_STOP)  # behind every queued job, so those are all answered first
        await self._worker
        self._worker = None
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._carry or await self._queue.get()
            self._carry = None
            if first is _STOP:
                break
            jobs, stopping = await self._collect(first)
            try:
                await self._execute(jobs)
            except Exception:  # never let the worker die: every later request would hang
                log.exception("batch failed outside the model call")
                _fail(jobs, RuntimeError("internal error while batching"))
            finally:
                self.pending -= sum(len(j.texts) for j in jobs)
        if self._carry is not None:  # _STOP was taken while a job was carried over
            await self._execute([self._carry])
            self.pending -= len(self._carry.texts)
            self._carry = None

    async def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """`first` plus the jobs that arrive within max_wait, up to max_batch texts; True when _STOP was seen."""
        loop = asyncio.get_running_loop()
        jobs, size = [first], len(first.texts)
        deadline = loop.time() + self.max_wait
        while size < self.max_batch:
            try:  # what is already queued joins at once; then wait out the window
                nxt = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), left)
                except asyncio.TimeoutError:  # not the builtin before Python 3.11
                    break
            if nxt is _STOP:
                return jobs, True
            if size + len(nxt.texts) > self.max_batch:
                self._carry = nxt
                break
            jobs.append(nxt)
            size += len(nxt.texts)
        return jobs, False

    async def _execute(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if not j.future.done()]  # a client that disconnected cancelled its future
        if not live:
            return
        loop = asyncio.get_running_loop()
        texts = [t for j in live for t in j.texts]
        try:
            probs = await loop.run_in_executor(self._executor, self._compute, texts)
        except Exception as e:
            if len(live) == 1:
                _fail(live, e)
                return
            # one bad request must not fail the others that happened to share its batch: retry each alone
            for job in live:
                await self._execute([job])
            return
        start = 0
        for job in live:
            end = start + len(job.texts)
            if not job.future.done():
                job.future.set_result(probs[start:end])
            start = end

    def _compute(self, texts: list[str]) -> np.ndarray:
        """Runs in the worker thread; cuts an oversized request into max_batch pieces to bound peak memory."""
        self.calls += 1
        parts = [self._predict(texts[i : i + self.max_batch]) for i in range(0, len(texts), self.max_batch)]
        probs = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]) if parts else np.zeros((0, 0))
        if probs.shape != (len(texts), self.n_labels):
            raise RuntimeError(f"predictor returned shape {probs.shape} for {len(texts)} texts x {self.n_labels}")
        return probs


def _fail(jobs: list[_Job], error: BaseException) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(error)
