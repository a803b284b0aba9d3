"""The knobs of `fintune serve`, in one place so the app, the batcher and the CLI agree on them."""

from __future__ import annotations

from dataclasses import dataclass

from fintune.errors import FintuneError

ENGINE_PRECISIONS = {"torch": ("fp32", "bf16"), "onnx": ("int8", "fp32")}
"""Per engine, the precisions it serves; the first is its default (the same as
fintune.inference.predictor.PRECISIONS for torch, the graphs of an ONNX export for onnx)."""


@dataclass(frozen=True)
class ServeSettings:
    api_key: str | None = None
    """When set, every path but /healthz needs the header `X-API-Key: <key>`."""
    max_texts: int = 256
    """Texts per request; more -> 422. Bounds one request's share of the model and of memory."""
    max_chars: int = 10_000
    """Characters per text; longer -> 422. Models truncate at max_length tokens anyway, so longer
    texts only cost tokenizer time and memory."""
    max_batch: int = 64
    """Texts per model call: concurrent requests are merged up to this many; a larger request is cut into pieces."""
    max_wait_ms: float = 2.0
    """How long a batch waits for more requests once the first one arrived. Trades a little latency
    at low load for larger batches under load."""
    max_pending_texts: int | None = None
    """Texts queued or running at once (default 16 full requests); beyond it requests get 503 at once
    instead of piling up without bound while clients time out."""
    engine: str = "torch"
    precision: str | None = None
    """torch: fp32 (default, the run's numbers) or bf16 (needs native bf16); onnx: int8 (default) or fp32."""
    threads: int | None = None
    """Intra-op threads of the model. Default: torch's choice less one core for the HTTP loop (at least 1);
    onnxruntime's own choice for the ONNX engine."""

    def __post_init__(self):
        if self.max_pending_texts is None:
            object.__setattr__(self, "max_pending_texts", 16 * self.max_texts)
        for name in ("max_texts", "max_chars", "max_batch", "max_pending_texts"):
            if getattr(self, name) < 1:
                raise FintuneError(f"serve setting {name} must be at least 1, not {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise FintuneError(f"serve setting threads must be at least 1, not {self.threads}")
        if self.max_wait_ms < 0:
            raise FintuneError(f"serve setting max_wait_ms must be >= 0, not {self.max_wait_ms}")
        if self.max_pending_texts < self.max_texts:
            raise FintuneError("serve setting max_pending_texts must be at least max_texts (one full request)")
        if self.engine not in ENGINE_PRECISIONS:
            raise FintuneError(f"--engine must be torch or onnx, not '{self.engine}'")
        allowed = ENGINE_PRECISIONS[self.engine]
        if self.precision is None:
            object.__setattr__(self, "precision", allowed[0])
        elif self.precision not in allowed:
            raise FintuneError(
                f"--precision for --engine {self.engine} must be one of {', '.join(allowed)}, not '{self.precision}'"
            )
        if self.api_key is not None and not self.api_key.strip():
            # an empty key would look like protection and be none; unset it instead
            raise FintuneError("the API key (--api-key or FINTUNE_API_KEY) is empty; give a key or unset it")

    @property
    def max_body_bytes(self) -> int:
        """Request body cap (-> 413) that no valid classify request reaches: a character is at most
        12 bytes of JSON (an escaped surrogate pair), plus quotes and commas per text and the envelope."""
        return self.max_texts * (self.max_chars * 12 + 8) + 4096
