"""Reading user tables (CSV / TSV / JSONL) with errors that name the file, column and row."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import pandas as pd

from fintune.errors import FintuneError

READERS = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".json": None}


def read_table(path: Path) -> pd.DataFrame:
    """Read a whole CSV/TSV/JSONL file as strings; non-UTF-8 bytes are an error with the line number."""
    path = Path(path)
    suffix = file_type(path)
    base = suffix.removesuffix(".gz")
    if base not in READERS:
        raise unsupported_type(path, "use .csv, .tsv or .jsonl, optionally .gz")
    if not path.is_file():
        raise missing_file(path)
    raw = path.read_bytes()
    if suffix.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
        if base in (".jsonl", ".json"):
            return pd.read_json(io.StringIO(text), lines=base == ".jsonl", dtype=False)
        return pd.read_csv(io.StringIO(text), sep=READERS[base], dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError) as e:
        raise unreadable(path, e, raw) from None


def unreadable(path: Path, error: Exception, raw: bytes | None = None) -> FintuneError:
    """The one message for a user file that cannot be read, whichever command reads it (`fintune run`, `data show`,
    `eval --data`, `predict --input`): empty, not UTF-8 (with the line), or a line with the wrong number of fields."""
    if isinstance(error, UnicodeDecodeError):
        return FintuneError(f"file '{path}' is not UTF-8 (line {_first_non_utf8_line(path, raw)}); re-save it as UTF-8")
    if isinstance(error, pd.errors.EmptyDataError):
        return FintuneError(f"file '{path}' is empty")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if fields:
        expected, line, saw = fields.groups()
        return FintuneError(f"file '{path}', line {line}: expected {expected} fields, saw {saw}")
    return FintuneError(f"file '{path}' could not be parsed: {str(error).strip().splitlines()[0]}")


def file_type(path: Path) -> str:
    """The suffix that decides the reader: `.csv`, or `.csv.gz` for a compressed one."""
    return "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix


def unsupported_type(path: Path, accepted: str) -> FintuneError:
    return FintuneError(f"file '{path}': unsupported type '{file_type(path)}'; {accepted}")


def missing_file(path: Path) -> FintuneError:
    return FintuneError(f"file '{path}' not found")


def missing_column(path: Path, column: str, columns, setting: str) -> FintuneError:
    """`setting`: how this command names the column (data.text_column, --text-column), after the shared message."""
    have = ", ".join(map(str, columns))
    return FintuneError(f"file '{path}' has no column '{column}' (columns: {have}); set {setting}")


def empty_text(path: Path, row: int, column: str) -> FintuneError:
    """A row whose text is empty (rows counted as a spreadsheet shows them: the header is row 1)."""
    return FintuneError(f"file '{path}', row {row}: column '{column}' is empty")


def _first_non_utf8_line(path: Path, raw: bytes | None) -> int:
    lines = (raw if raw is not None else Path(path).read_bytes()).split(b"\n")
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return len(lines)


def require_columns(frame: pd.DataFrame, path: Path, columns: dict[str, str]) -> None:
    """`columns` maps a config key (data.text_column) to the column it names."""
    for key, column in columns.items():
        if column not in frame.columns:
            raise missing_column(path, column, frame.columns, key)


def check_texts(texts: pd.Series, path: Path, column: str) -> pd.Series:
    """Texts as stripped strings; an empty one is an error naming its row (header = row 1)."""
    texts = texts.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    empty = texts.index[texts == ""]
    if len(empty):
        error = empty_text(path, int(empty[0]) + 2, column)
        raise FintuneError(f"{error} ({len(empty)} empty row(s) in all); remove them or fix the file")
    return texts
