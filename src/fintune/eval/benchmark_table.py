"""The FinGPT-style benchmark table: one row per dataset, its majority baseline right under it.

Pure functions (metric blocks -> DataFrame -> markdown) plus the console view; writing the
files belongs to `run_eval.benchmark_run`.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from fintune.report.table import COLUMNS

METRICS = ["n", "accuracy", "f1_macro", "f1_micro", "f1_weighted", "mcc"]
HEADERS = {"n": "n", **dict(COLUMNS), "f1_micro": "micro F1"}
MAJORITY = "majority"


def benchmark_frame(results: list[tuple[str, dict]], run_label: str) -> pd.DataFrame:
    """Columns `dataset, model, n, accuracy, f1_macro, f1_micro, f1_weighted, mcc`, in `results` order.

    `results` are (evals key, block) pairs as `fintune eval` records them; the baseline row sits
    directly under its dataset because datasets differ in class balance (FPB is ~59% neutral), so
    an accuracy is only readable beside the majority class of the same rows.
    """
    rows = []
    for key, block in results:
        rows.append({"dataset": key, "model": run_label, **{m: block[m] for m in METRICS}})
        majority = block["baselines"][MAJORITY]
        rows.append({"dataset": key, "model": MAJORITY, **{m: majority[m] for m in METRICS}})
    return pd.DataFrame(rows, columns=["dataset", "model", *METRICS])


def _cell(column: str, value) -> str:
    if column == "n":
        return str(int(value))
    if column in METRICS:
        return f"{value:.4f}"
    return str(value).replace("|", "\\|")  # a path with a pipe must not split the markdown row


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub markdown table, numbers right-aligned to 4 decimals (no `tabulate` dependency)."""
    columns = list(frame.columns)
    lines = [
        "| " + " | ".join(HEADERS.get(c, c) for c in columns) + " |",
        "|" + "|".join("---:" if c in METRICS else "---" for c in columns) + "|",
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(c, v) for c, v in zip(columns, row)) + " |")
    return "\n".join(lines) + "\n"


def print_benchmark(frame: pd.DataFrame, title: str, console: Console | None = None) -> None:
    """The table on the console in the style of `report.table.print_results`, baselines dimmed.

    The run's name and the split go in `title`; leaving them out of the rows keeps the numbers
    readable in an 80-column terminal.
    """
    console = console or Console()
    table = Table(title=title)
    table.add_column("dataset", overflow="fold")  # a long path wraps rather than losing its file name
    for metric in METRICS:
        table.add_column(HEADERS[metric], justify="right")
    for row in frame.to_dict("records"):
        baseline = row["model"] == MAJORITY
        name = f"  {MAJORITY}" if baseline else row["dataset"].rsplit("/", 1)[0]
        cells = [_cell(m, row[m]) for m in METRICS]
        # the rule after each baseline row groups a dataset with its baseline
        table.add_row(name, *cells, style="dim" if baseline else None, end_section=baseline)
    console.print(table)
