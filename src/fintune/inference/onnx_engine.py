"""Predictions from an ONNX export (`fintune export --run RUN --out DIR --onnx`) with onnxruntime on the CPU.

Same interface as `fintune.inference.predictor.Predictor` (labels, predict_proba, predict), without torch, peft or
the run directory: only the exported folder is needed, which keeps a server small and fast to start.

    predictor = OnnxPredictor.load("exports/fpb-onnx")           # int8, near ties in fp32; precision="fp32": all
    predictor.predict(["Operating profit rose to EUR 13.1 mn"])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fintune.errors import FintuneError
from fintune.inference.length_batches import length_batches
from fintune.inference.near_ties import near_ties

ONNX_INFO = "onnx_export.json"  # the name export/onnx.py writes; repeated so this module never imports torch


def export_folder(path: Path) -> Path:
    """`path` itself when it is an export, or a run directory's `onnx/` export, so `--run RUN` works for both."""
    for candidate in (path, path / "onnx"):
        if (candidate / ONNX_INFO).is_file():
            return candidate
    if (path / "metrics.json").is_file():
        raise FintuneError(
            f"run '{path}' has no ONNX export; write one with "
            f"`fintune export --run {path} --out {path / 'onnx'} --onnx`"
        )
    raise FintuneError(f"'{path}' is not an ONNX export (no {ONNX_INFO}) nor a run directory with an onnx/ export")


class OnnxPredictor:
    kind = "encoder"  # only encoder runs are exported to ONNX

    def __init__(self, folder: Path, info: dict, tokenizer, session, batch_size: int = 32, exact=None):
        """`exact`: an fp32 session that re-scores the near ties of an int8 `session` (inference/near_ties.py)."""
        self.folder, self.info, self.tokenizer, self.session = folder, info, tokenizer, session
        self.labels: list[str] = list(info["labels"])
        self.max_length: int = int(info["max_length"])
        self.batch_size = batch_size
        self._inputs = [i.name for i in session.get_inputs()]  # the graph decides what to feed, not the tokenizer
        self.exact = exact
        self.near_tie_margin: float | None = measured_margin(info) if exact is not None else None
        self.rescored = 0  # texts re-scored in fp32 so far; benchmarks report the share

    @classmethod
    def load(
        cls,
        folder: str | Path,
        precision: str = "int8",
        threads: int | None = None,
        batch_size: int = 32,
        rescore_near_ties: bool = True,
    ) -> OnnxPredictor:
        """`precision`: int8 (fast) or fp32 (the torch model's numbers); `threads`: onnxruntime's intra-op threads
        (default: onnxruntime's choice, one per physical core). With int8 and `rescore_near_ties`, texts whose int8
        label is within the export's measured error of another label are re-scored with the fp32 graph, which is
        then loaded too (exports from before fintune measured that error have none and serve int8 alone)."""
        folder = export_folder(Path(folder))
        info = json.loads((folder / ONNX_INFO).read_text(encoding="utf-8"))
        if precision not in info["files"]:
            raise FintuneError(f"precision must be one of {', '.join(info['files'])}, not '{precision}'")
        try:
            import onnxruntime  # noqa: F401
            from transformers import AutoTokenizer
        except ImportError as e:
            raise FintuneError(f"ONNX inference needs {e.name}; install it with: pip install 'fintune[fast]'") from None
        session = open_session(folder / info["files"][precision], threads)
        rescore = precision == "int8" and rescore_near_ties and measured_margin(info) is not None
        exact = open_session(folder / info["files"]["fp32"], threads) if rescore else None
        return cls(folder, info, AutoTokenizer.from_pretrained(folder), session, batch_size, exact)

    @property
    def int8_calibrated(self) -> bool | None:
        """Whether the int8 graph was prepared on the run's data (None: an export from before this was recorded)."""
        return self.info.get("quantization", {}).get("calibrated")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities of shape (len(texts), len(labels)), in `self.labels` order and the order of `texts`.

        Texts are tokenised once, then run in batches of similar token length, so a batch pads to little; near ties
        go through the fp32 graph a second time when it is loaded.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        enc = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        lengths = np.array([len(ids) for ids in enc["input_ids"]])
        out = self._probabilities(self.session, enc, lengths, np.arange(len(texts)))
        if self.exact is not None:
            rows = near_ties(out, self.near_tie_margin)
            if len(rows):
                out[rows] = self._probabilities(self.exact, enc, lengths, rows)
                self.rescored += len(rows)
        return out

    def _probabilities(self, session, enc, lengths: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`session`'s probabilities for the texts `rows` of the encoding, in that order."""
        out = np.zeros((len(rows), len(self.labels)), dtype=np.float32)
        for batch in length_batches(lengths[rows], self.batch_size):
            feed = self._pad(enc, rows[batch], int(lengths[rows[batch]].max()))
            out[batch] = _softmax(session.run(["logits"], feed)[0].astype(np.float32))
        return out

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, probs} per text, probabilities keyed by label (as `Predictor.predict`)."""
        return [
            {"label": self.labels[int(p.argmax())], "probs": {lab: float(v) for lab, v in zip(self.labels, p)}}
            for p in self.predict_proba(texts)
        ]

    def _pad(self, enc, idx: np.ndarray, width: int) -> dict[str, np.ndarray]:
        """int64 arrays of shape (len(idx), width), padded on the tokenizer's side with its pad id (mask 0)."""
        fill = {"input_ids": self.tokenizer.pad_token_id or 0, "attention_mask": 0, "token_type_ids": 0}
        left = self.tokenizer.padding_side == "left"
        feed = {}
        for name in self._inputs:
            array = np.full((len(idx), width), fill.get(name, 0), dtype=np.int64)
            for r, i in enumerate(idx):
                seq = enc[name][i] if name in enc else [0] * len(enc["input_ids"][i])  # single segment: type 0
                if left:
                    array[r, width - len(seq) :] = seq
                else:
                    array[r, : len(seq)] = seq
            feed[name] = array
        return feed


def measured_margin(info: dict) -> float | None:
    """The int8 margin that the export measured (onnx_export.json), or None."""
    return (info.get("quantization", {}).get("near_ties") or {}).get("margin")


def open_session(model_file: Path, threads: int | None):
    """A CPU session for one graph; `threads` None: onnxruntime's default."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep instead of spinning: beside a web server or other jobs, spinning threads take the CPU
    # from the very work they wait for (benchmarks/RESULTS.md, "CPU inference").
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
