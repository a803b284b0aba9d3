"""Micro-batching on its own: merging, splitting back, limits, failure isolation and draining at shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from fintune.serve.batcher import MicroBatcher, Overloaded
from tests.serve.conftest import FakePredictor


def run(coro):
    return asyncio.run(coro)


class SlowPredictor(FakePredictor):
    """Takes `delay` seconds per call, like a real model, so requests pile up behind a running batch."""

    def __init__(self, delay: float = 0.05):
        super().__init__()
        self.delay = delay
        self.threads: set[str] = set()

    def predict_proba(self, texts):
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        return super().predict_proba(texts)


def test_concurrent_requests_share_calls_and_get_their_own_rows():
    model = SlowPredictor()

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_batch=64, max_wait_ms=20)
        await batcher.start()
        texts = [[f"text {i}"] * (1 + i % 3) for i in range(40)]
        results = await asyncio.gather(*(batcher.submit(t) for t in texts))
        await batcher.stop()
        return texts, results

    texts, results = run(main())
    for t, probs in zip(texts, results):
        np.testing.assert_allclose(probs, FakePredictor().predict_proba(t), atol=1e-7)
    assert sum(model.calls) == sum(map(len, texts))
    assert len(model.calls) <= 3  # 80 texts in 40 requests: two batches of at most 64, not 40 calls
    assert max(model.calls) <= 64
    assert model.threads and all(name.startswith("fintune-predict") for name in model.threads)


def test_a_request_larger_than_max_batch_is_cut_into_pieces():
    model = FakePredictor()

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_batch=4, max_wait_ms=0)
        await batcher.start()
        probs = await batcher.submit([f"t{i}" for i in range(10)])
        await batcher.stop()
        return probs

    probs = run(main())
    assert probs.shape == (10, 3)
    assert model.calls == [4, 4, 2]


def test_a_failing_request_does_not_fail_its_batch_mates():
    model = SlowPredictor(delay=0.01)

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_wait_ms=50)
        await batcher.start()
        results = await asyncio.gather(
            batcher.submit(["good 1"]), batcher.submit(["BOOM"]), batcher.submit(["good 2"]), return_exceptions=True
        )
        after = await batcher.submit(["still working"])
        await batcher.stop()
        return results, after

    (good1, bad, good2), after = run(main())
    assert isinstance(bad, RuntimeError)
    assert good1.shape == good2.shape == after.shape == (1, 3)


def test_a_wrong_shape_from_the_model_is_an_error_not_a_mixup():
    async def main():
        batcher = MicroBatcher(lambda texts: np.zeros((len(texts), 2)), 3, max_wait_ms=0)
        await batcher.start()
        try:
            with pytest.raises(RuntimeError, match="shape"):
                await batcher.submit(["a"])
        finally:
            await batcher.stop()

    run(main())


def test_the_queue_is_bounded():
    model = SlowPredictor(delay=0.2)

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_batch=2, max_wait_ms=0, max_pending_texts=4)
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["a", "b", "c"]))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await batcher.submit(["d", "e"])  # 3 + 2 > 4
        second = await batcher.submit(["d"])  # 3 + 1 fits
        await first
        await batcher.stop()
        return batcher.pending, second

    pending, second = run(main())
    assert pending == 0 and second.shape == (1, 3)


def test_stop_answers_everything_queued_then_refuses_new_work():
    model = SlowPredictor(delay=0.03)

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_batch=2, max_wait_ms=0)
        await batcher.start()
        tasks = [asyncio.create_task(batcher.submit([f"t{i}"] * 2)) for i in range(6)]
        await asyncio.sleep(0)  # all six are queued behind the first batch
        await batcher.stop()
        assert all(t.done() for t in tasks)  # drained before stop returned
        with pytest.raises(Overloaded):
            await batcher.submit(["late"])
        return [t.result().shape for t in tasks]

    assert run(main()) == [(2, 3)] * 6
    assert model.calls == [2] * 6


def test_a_cancelled_request_is_skipped():
    model = SlowPredictor(delay=0.1)

    async def main():
        batcher = MicroBatcher(model.predict_proba, 3, max_batch=1, max_wait_ms=0)
        await batcher.start()
        busy = asyncio.create_task(batcher.submit(["busy"]))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(batcher.submit(["client went away"]))
        await asyncio.sleep(0.01)
        gone.cancel()
        await busy
        await batcher.stop()
        return batcher.pending

    assert run(main()) == 0
    assert model.calls == [1]
