"""The results table: the run and its baselines side by side, MCC next to accuracy."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

COLUMNS = [("accuracy", "accuracy"), ("f1_macro", "macro F1"), ("f1_weighted", "weighted F1"), ("mcc", "MCC")]
SUBSET_NOTE = "a subset run (data.max_train_samples / max_eval_samples): not comparable with published numbers"


def subset_block(data_cfg) -> dict:
    """`{"subset": SUBSET_NOTE}` for metrics.json's data block when the run kept only part of its data, else {}."""
    return {"subset": SUBSET_NOTE} if data_cfg.max_train_samples or data_cfg.max_eval_samples else {}


def result_rows(metrics: dict, run_label: str) -> list[tuple[str, dict]]:
    rows = [(run_label, metrics["test"])]
    if "test_generate" in metrics:  # causal LMs: label scoring above, FinGPT-style generation below
        gen = metrics["test_generate"]
        rows = [
            (f"{run_label}, label scoring", metrics["test"]),
            (f"{run_label}, generate-and-parse ({gen['n_unparsed']} of {gen['n_total']} unparsed)", gen),
        ]
    if "test_argmax" in metrics:  # a binary run with a validation-chosen cut: argmax below it, for contrast
        cut = metrics["threshold"]["cut"]
        rows = [
            (f"{run_label}, cut {cut:.3f} from validation", metrics["test"]),
            (f"{run_label}, argmax", metrics["test_argmax"]),
        ]
    rows += [(baseline_label(name, block), block) for name, block in metrics.get("baselines", {}).items()]
    return rows


def baseline_label(name: str, block: dict) -> str:
    """`baseline: majority (training class 'neutral')`: which class the majority baseline always says."""
    return f"baseline: {name}" + (f" (training class '{block['class']}')" if "class" in block else "")


def positive_class_line(metrics: dict) -> str | None:
    """Binary runs: precision / recall / F1 of the second label, and the threshold-free PR-AUC and ROC-AUC."""
    test = metrics["test"]
    if len(test["labels"]) != 2 or test.get("pr_auc") is None:
        return None
    positive = test["labels"][1]
    c = test["per_class"][positive]
    rate = c["support"] / test["n"]
    return (
        f"'{positive}' class: precision {c['precision']:.4f}, recall {c['recall']:.4f}, F1 {c['f1']:.4f}; "
        f"PR-AUC {test['pr_auc']:.4f} (chance: {rate:.4f}, the share of '{positive}'), ROC-AUC {test['roc_auc']:.4f}"
    )


def cell(block: dict, key: str) -> str:
    """The value, with its bootstrap 95 % interval when the block has one."""
    ci = block.get("ci95", {}).get(key)
    return f"{block[key]:.4f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def wide_console() -> Console:
    # Rich falls back to 80 columns when stdout is not a terminal (logs, CI): too narrow for intervals.
    return Console() if sys.stdout.isatty() else Console(width=120)


def print_results(metrics: dict, run_label: str, title: str, console: Console | None = None) -> None:
    print_rows(result_rows(metrics, run_label), title, console)


def print_rows(rows: list[tuple[str, dict]], title: str, console: Console | None = None) -> None:
    console = console or wide_console()
    table = Table(title=title, caption="in brackets: bootstrap 95 % interval")
    table.add_column("model")
    for _, header in COLUMNS:
        table.add_column(header, justify="right")
    for name, block in rows:
        table.add_row(name, *(cell(block, key) for key, _ in COLUMNS))
    console.print(table)


def side_by_side_rows(runs: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Rows of several finished runs (label, metrics) on one test split, then the first run's baselines once."""
    rows = []
    for label, metrics in runs:
        rows += [row for row in result_rows(metrics, label) if not row[0].startswith("baseline: ")]
    first = runs[0][1]
    return rows + [(baseline_label(name, block), block) for name, block in first.get("baselines", {}).items()]


BACKTEST_COLUMNS = [
    ("total_return", "total return"),
    ("annual_return", "annual return"),
    ("sharpe", "Sharpe"),
    ("max_drawdown", "max drawdown"),
    ("hit_rate", "hit rate"),
    ("turnover", "turnover"),
]


def print_backtest(block: dict, title: str, console: Console | None = None) -> None:
    """Strategies beside buy-and-hold over the same periods (an equal-weight portfolio over several assets)."""
    console = console or wide_console()
    what = f"{block['assets']} assets, equal weight" if "assets" in block else ", ".join(block.get("per_asset", {}))
    table = Table(title=f"{title} ({what}, {block['periods']} periods, {block['cost_bps']:g} bps costs)")
    table.add_column("strategy")
    for _, header in BACKTEST_COLUMNS:
        table.add_column(header, justify="right")
    for name in ("strategy_long_flat", "strategy_long_short", "buy_and_hold"):
        row = block[name]
        table.add_row(name.removeprefix("strategy_"), *(_fmt(row.get(key)) for key, _ in BACKTEST_COLUMNS))
    console.print(table)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def sentiment_index_line(block: dict) -> str:
    """How the sentiment index ranks forward returns, whatever its cut points (information coefficient)."""

    def ic(part: dict) -> str:
        return "n/a" if part["ic"] is None else f"{part['ic']:+.3f} (p={part['p_value']:.3f}, n={part['n']})"

    return (
        f"sentiment index of {block['sentiment_run']} ({block['n_posts_scored']:,} posts, {block['window']} window): "
        f"rank IC with the forward return (one per asset and entry): train {ic(block['ic_train'])}, "
        f"test {ic(block['ic_test'])}"
    )
