"""A user's own CSV / JSONL file as a classification source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fintune.config import DataConfig
from fintune.data import instruction_io
from fintune.data.tables import check_texts, read_table, require_columns
from fintune.errors import FintuneError


def load_file(path: Path, cfg: DataConfig, labels: list[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Rows as `id, text, label`; labels mapped by `data.label_map` and checked against `labels`.

    Alpaca / ShareGPT instruction files (`fintune data export`, LLaMA-Factory) are read as
    text = input (or instruction) and label = output.
    """
    if path.suffix == ".json" and path.is_file():
        fmt = instruction_io.detect_format(path)
        load = instruction_io.load_alpaca if fmt == "alpaca" else instruction_io.load_sharegpt
        frame = instruction_io.examples_to_frame(load(path), None, source=str(path))
        cfg = cfg.model_copy(update={"text_column": "text", "label_column": "label"})
    else:
        frame = read_table(path)
    require_columns(frame, path, {"data.text_column": cfg.text_column, "data.label_column": cfg.label_column})
    texts = check_texts(frame[cfg.text_column], path, cfg.text_column)
    raw = frame[cfg.label_column].map(_label_str)
    mapped = raw.map(lambda v: (cfg.label_map or {}).get(v, v))
    missing = mapped.index[mapped == ""]
    if len(missing):
        raise FintuneError(f"file '{path}', row {int(missing[0]) + 2}: column '{cfg.label_column}' is empty")
    if labels is None:
        labels = sorted(mapped.unique())
        _refuse_stray_labels(path, mapped, raw, cfg.label_column)
    unknown = mapped.index[~mapped.isin(labels)]
    if len(unknown):
        row = int(unknown[0])
        raise FintuneError(
            f"file '{path}', row {row + 2}: unknown label {raw[row]!r} in column '{cfg.label_column}' "
            f"(expected one of {labels}); set data.labels or data.label_map"
        )
    if len(labels) < 2:
        raise FintuneError(f"file '{path}': column '{cfg.label_column}' has fewer than two labels")
    ids = frame["id"].astype(str) if "id" in frame.columns else pd.Series(frame.index.astype(str))
    return pd.DataFrame({"id": ids, "text": texts, "label": mapped}).reset_index(drop=True), labels


MIN_INFERRED_CLASS = 3
"""A label read from the data needs this many rows to be taken as a class: fewer cannot appear in the training,
validation and test splits all at once, so it is far likelier a typo or a stray value than a class."""


def _refuse_stray_labels(path: Path, mapped: pd.Series, raw: pd.Series, column: str) -> None:
    counts = mapped.value_counts()
    if len(counts) < 3:  # two labels are a binary task however unbalanced; one label is refused below
        return
    rare = counts[counts < MIN_INFERRED_CLASS]
    if rare.empty:
        return
    label = str(rare.index[0])
    rows = [int(i) + 2 for i in mapped.index[mapped == label]]
    where = ", ".join(str(r) for r in rows)
    others = ", ".join(f"{lab} ({n:,})" for lab, n in counts.items() if lab != label)
    raise FintuneError(
        f"file '{path}', row {where}: label {raw[rows[0] - 2]!r} in column '{column}' occurs only {len(rows)} time(s) "
        f"beside {others}; fix the row, map it with data.label_map, or list every class in data.labels"
    )


def _label_str(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
