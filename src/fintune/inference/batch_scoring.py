"""Score a large CSV with a Predictor: streamed in chunks (memory stays flat however long the file), every input
column kept, pred_label and prob_<label> added, a progress bar on stderr.

A bad row (an empty text, a line with the wrong number of fields) either stops the job with the row number
(`on_bad_row="stop"`, the default: nothing is written) or is left out and listed in `<output>.skipped.csv`
(`"skip"`). Row numbers count the header as row 1, as a spreadsheet shows them. The output appears only when
the whole file was read, so an interrupted job never leaves a file that looks complete.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from fintune.atomic import partial_file
from fintune.data.tables import empty_text, file_type, missing_column, missing_file, unreadable, unsupported_type
from fintune.errors import FintuneError
from fintune.progress import status_console

BAD_ROW_MODES = ("stop", "skip")


@dataclass
class ScoreReport:
    scored: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(row number, reason) of every row left out."""
    skipped_file: Path | None = None


def score_csv(
    predictor,
    src: Path,
    dst: Path,
    text_column: str = "text",
    chunk_rows: int = 2048,
    on_bad_row: str = "stop",
    progress: bool = True,
) -> ScoreReport:
    src, dst = Path(src), Path(dst)
    if on_bad_row not in BAD_ROW_MODES:
        raise FintuneError(f"--on-bad-row must be one of {BAD_ROW_MODES}, not '{on_bad_row}'")
    if file_type(src) != ".csv":  # read in chunks as CSV, so a large file never has to fit in memory
        raise unsupported_type(src, "use .csv (predict --input reads CSV, in chunks)")
    if not src.is_file():
        raise missing_file(src)
    report = ScoreReport()
    with partial_file(dst) as tmp, _progress_bar(src, progress) as (bar, task):
        malformed: list[int] = []
        for chunk, bad_lines in _chunks(src, chunk_rows, on_bad_row):
            report.skipped += bad_lines
            malformed += [row for row, _ in bad_lines]
            chunk.index = [_file_row(i, malformed) for i in chunk.index]
            _score_chunk(predictor, chunk, text_column, src, on_bad_row, report, tmp)
            bar.update(task, advance=len(chunk) + len(bad_lines))
        if report.scored == 0 and not tmp.exists():  # every row skipped: still a valid (header-only) output
            pd.DataFrame(columns=["pred_label"]).to_csv(tmp, index=False)
    if report.skipped:
        report.skipped_file = dst.with_name(dst.stem + ".skipped.csv")
        pd.DataFrame(report.skipped, columns=["row", "reason"]).to_csv(report.skipped_file, index=False)
    return report


def _score_chunk(predictor, chunk: pd.DataFrame, column: str, src: Path, on_bad_row: str, report, tmp) -> None:
    if column not in chunk.columns:
        raise missing_column(src, column, chunk.columns, "--text-column")
    texts = chunk[column].str.strip()
    empty = texts == ""
    if empty.any():
        rows = [int(i) for i in chunk.index[empty]]
        if on_bad_row == "stop":
            raise FintuneError(f"{empty_text(src, rows[0], column)} (--on-bad-row skip)")
        report.skipped += [(r, f"column '{column}' is empty") for r in rows]
        chunk, texts = chunk[~empty], texts[~empty]
    if not len(chunk):
        return
    probs = predictor.predict_proba(list(texts))
    chunk = chunk.reset_index(drop=True)
    chunk["pred_label"] = [predictor.labels[i] for i in probs.argmax(axis=1)]
    for j, label in enumerate(predictor.labels):
        chunk[f"prob_{label}"] = np.round(probs[:, j], 6)
    chunk.to_csv(tmp, mode="a" if report.scored else "w", header=not report.scored, index=False)
    report.scored += len(chunk)


def _file_row(i: int, malformed: list[int]) -> int:
    """The file row of parsed data row `i` (0-based): after the header (row 1) and any malformed rows before it."""
    row = i + 2
    for m in sorted(malformed):
        if m <= row:
            row += 1
    return row


def _chunks(src: Path, chunk_rows: int, on_bad_row: str):
    """(rows, [(row number, reason) of malformed lines]) per chunk; with "stop" a malformed line raises."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            reader = pd.read_csv(
                src,
                dtype=str,
                keep_default_na=False,
                chunksize=chunk_rows,
                encoding="utf-8",
                on_bad_lines="error" if on_bad_row == "stop" else "warn",
            )
            for chunk in reader:
                bad = [(int(n), reason) for w in caught for n, reason in _malformed(str(w.message))]
                caught.clear()
                yield chunk, bad
    except pd.errors.ParserError as e:
        raise FintuneError(f"{unreadable(src, e)} (--on-bad-row skip)") from None
    except (UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise unreadable(src, e) from None


def _malformed(message: str) -> list[tuple[str, str]]:
    """pandas warns 'Skipping line 7: expected 2 fields, saw 3' once per malformed line (line = row number)."""
    return re.findall(r"Skipping line (\d+): (.*)", message)


class _progress_bar:
    """On a terminal, a rows bar whose total is the file's line count (one cheap pass; approximate when quoted
    fields hold newlines)."""

    def __init__(self, src: Path, enabled: bool):
        self.src, self.enabled = src, enabled

    def __enter__(self):
        total = _count_lines(self.src) - 1 if self.enabled else None
        console = status_console()
        self.bar = Progress(
            TextColumn("[bold]score"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not (self.enabled and console.is_terminal),  # a log file gets the summary line, not redraws
        )
        self.bar.__enter__()
        return self.bar, self.bar.add_task("score", total=total)

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n
