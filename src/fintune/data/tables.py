"""Reading user tables (CSV / TSV / JSONL) with errors that name the file, column and row."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

from fintune.errors import FintuneError

READERS = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".json": None}


def read_table(path: Path) -> pd.DataFrame:
    """Read a whole CSV/TSV/JSONL file as strings; non-UTF-8 bytes are an error with the line number."""
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    base = suffix.removesuffix(".gz")
    if base not in READERS:
        raise FintuneError(f"data file '{path}': unsupported type '{suffix}' (use .csv, .tsv or .jsonl)")
    if not path.is_file():
        raise FintuneError(f"data file '{path}' not found")
    raw = path.read_bytes()
    if suffix.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FintuneError(f"data file '{path}' is not UTF-8 (line {line}); re-save it as UTF-8") from None
    try:
        if base in (".jsonl", ".json"):
            frame = pd.read_json(io.StringIO(text), lines=base == ".jsonl", dtype=False)
        else:
            frame = pd.read_csv(io.StringIO(text), sep=READERS[base], dtype=str, keep_default_na=False)
    except ValueError as e:
        raise FintuneError(f"data file '{path}' could not be parsed: {str(e).splitlines()[0]}") from None
    return frame


def require_columns(frame: pd.DataFrame, path: Path, columns: dict[str, str]) -> None:
    """`columns` maps a config key (data.text_column) to the column it names."""
    for key, column in columns.items():
        if column not in frame.columns:
            have = ", ".join(map(str, frame.columns))
            raise FintuneError(f"data file '{path}' has no column '{column}' (columns: {have}); set {key}")


def check_texts(texts: pd.Series, path: Path, column: str) -> pd.Series:
    """Texts as stripped strings; an empty one is an error naming its line (header = line 1)."""
    texts = texts.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    empty = texts.index[texts == ""]
    if len(empty):
        row = int(empty[0])
        raise FintuneError(
            f"data file '{path}', row {row + 2}: column '{column}' is empty "
            f"({len(empty)} empty row(s) in all); remove them or fix the file"
        )
    return texts
