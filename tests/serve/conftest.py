"""A fake predictor for the HTTP tests: instant, deterministic, and strict about what reaches it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

LABELS = ["negative", "neutral", "positive"]


class FakePredictor:
    """Probabilities from a checksum of each text, so every text has its own answer and a mix-up shows.

    It fails the test run (500) on anything the schema should have stopped, and raises on purpose for
    texts containing BOOM.
    """

    labels = LABELS
    kind = "encoder"
    run_dir = None

    def __init__(self):
        self.calls: list[int] = []

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        assert isinstance(texts, list) and texts, texts
        assert all(isinstance(t, str) and t for t in texts), texts
        if any("BOOM" in t for t in texts):
            raise RuntimeError("the model broke")
        self.calls.append(len(texts))
        seeds = np.array([zlib.crc32(t.encode("utf-8")) for t in texts], dtype=np.float64)
        logits = np.stack([np.sin(seeds), np.cos(seeds), np.sin(seeds / 7)], axis=1)
        z = np.exp(logits)
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, texts: list[str]) -> list[dict]:
        return [
            {"label": LABELS[int(p.argmax())], "probs": dict(zip(LABELS, map(float, p)))}
            for p in self.predict_proba(texts)
        ]


@pytest.fixture
def fake_predictor() -> FakePredictor:
    return FakePredictor()
