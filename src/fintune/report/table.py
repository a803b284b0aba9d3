"""The results table: the run and its baselines side by side, MCC next to accuracy."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

COLUMNS = [("accuracy", "accuracy"), ("f1_macro", "macro F1"), ("f1_weighted", "weighted F1"), ("mcc", "MCC")]


def result_rows(metrics: dict, run_label: str) -> list[tuple[str, dict]]:
    rows = [(run_label, metrics["test"])]
    if "test_generate" in metrics:  # causal LMs: label scoring above, FinGPT-style generation below
        gen = metrics["test_generate"]
        rows = [
            (f"{run_label}, label scoring", metrics["test"]),
            (f"{run_label}, generate-and-parse ({gen['n_unparsed']} of {gen['n_total']} unparsed)", gen),
        ]
    rows += [(f"baseline: {name}", block) for name, block in metrics.get("baselines", {}).items()]
    return rows


def print_results(metrics: dict, run_label: str, title: str, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=title)
    table.add_column("model")
    for _, header in COLUMNS:
        table.add_column(header, justify="right")
    for name, block in result_rows(metrics, run_label):
        table.add_row(name, *(f"{block[key]:.4f}" for key, _ in COLUMNS))
    console.print(table)
