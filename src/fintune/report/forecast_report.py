"""Forecast results: the model beside naive_last, naive_drift and the LSTM, per (past, future) pair,
with the verdict on naive stated in words; the same tables in report.html with the K-line charts."""

from __future__ import annotations

import html
import json
from pathlib import Path

from rich.table import Table

from fintune.report.html import img_tag, run_name, write_page
from fintune.report.table import wide_console

COLUMNS = [
    ("mae", "MAE"),
    ("rmse", "RMSE"),
    ("mape", "MAPE %"),
    ("mase", "MASE"),
    ("directional_accuracy", "dir. acc. day 1"),
    ("directional_accuracy_last", "dir. acc. last day"),
    ("up_share", "up share day 1"),
    ("parsed_share", "parsed"),
    ("n", "days"),
]


def rows(metrics: dict, run_label: str, key: str) -> list[tuple[str, dict]]:
    """(name, block) for the model and every baseline, for `key` = 'all' or a pair like '5->5'."""
    out = [(run_label, metrics["test"]["by_window"].get(key))]
    out += [(f"baseline: {name}", block["by_window"].get(key)) for name, block in metrics["baselines"].items()]
    return [(name, block) for name, block in out if block]


def verdict(metrics: dict, key: str = "all") -> str:
    """Whether the model's close MAE beats naive_last's on the same days, and by more than the model's interval
    (blocks of windows as long as the horizon resampled), in words; no claim without the numbers."""
    block = metrics["test"]["by_window"][key]
    model = block["mae"]
    naive_block = metrics["baselines"].get("naive_last", {})
    # on the days the model parsed (runs from before on_model_days was recorded: over all days)
    same_days = naive_block.get("on_model_days", naive_block.get("by_window", {})).get(key, {})
    naive = same_days.get("mae")
    if model is None:
        return f"{key}: no parseable forecast, so no comparison with naive"
    if naive is None:
        return f"{key}: MAE {model:.4f} (no naive_last baseline configured)"
    ci = block.get("ci95", {}).get("mae")
    if model >= naive:
        word = "does not beat naive_last"
    elif ci is None:
        word = "beats naive_last (no interval)"
    else:
        word = f"beats naive_last {'beyond' if ci[1] < naive else 'within'} its interval"
    interval = f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
    days = f"on the {block['n']} days it parsed"
    return f"{key}: the model {word} on close MAE ({model:.4f}{interval} vs {naive:.4f}, {days})"


def keys(metrics: dict) -> list[str]:
    return list(metrics["test"]["by_window"])


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:d}" if isinstance(value, int) else f"{value:.4f}"


def print_forecast(metrics: dict, run_label: str, title: str) -> None:
    console = wide_console()
    for key in keys(metrics):
        table = Table(title=f"{title}, windows {key}" if key != "all" else f"{title}, every test window")
        table.add_column("model")
        for _, header in COLUMNS:
            table.add_column(header, justify="right")
        for name, block in rows(metrics, run_label, key):
            table.add_row(name, *(_fmt(block.get(k)) for k, _ in COLUMNS))
        console.print(table)
        console.print(verdict(metrics, key))


def write_forecast_report(run_dir: Path, metrics: dict, config_yaml: str, run_label: str) -> Path:
    head = "".join(f"<th>{h}</th>" for _, h in COLUMNS)
    data = metrics["data"]
    parts = [f"<h1>{html.escape(run_name(run_dir))}</h1>"]
    if "subset" in data:
        parts.append(f'<p class="note"><b>{html.escape(data["subset"])}</b></p>')
    parts.append(
        f'<p class="note">{html.escape(run_label)}: {data["n_train"]} train / {data["n_validation"]} validation / '
        f"{data['n_test']} test windows, split by time in whole windows ({data['dropped_across_boundaries']} "
        "straddling a boundary dropped). Errors are on the close; direction is against the last known close.</p>"
    )
    for key in keys(metrics):
        body = "".join(
            f'<tr class="{"run" if i == 0 else ""}"><td>{html.escape(name)}</td>'
            + "".join(f"<td>{_fmt(block.get(k))}</td>" for k, _ in COLUMNS)
            + "</tr>"
            for i, (name, block) in enumerate(rows(metrics, run_label, key))
        )
        parts += [
            f"<h2>Test windows: {html.escape(key)}</h2>",
            f"<table><tr><th>model</th>{head}</tr>{body}</table>",
            f'<p class="note">{html.escape(verdict(metrics, key))}</p>',
        ]
    parts += ["<h2>Per ticker (close MAE)</h2>", _per_ticker(metrics)]
    parts += ["<h2>Charts</h2>", *(img_tag(p) for p in sorted((run_dir / "plots").glob("*.png")))]
    parts += [
        "<h2>Training</h2>",
        f"<pre>{html.escape(json.dumps({k: v for k, v in metrics['train'].items() if k != 'evals'}, indent=2))}</pre>",
        "<h2>Resolved config</h2>",
        f"<pre>{html.escape(config_yaml)}</pre>",
        "<h2>Environment</h2>",
        f"<pre>{html.escape(json.dumps(metrics.get('meta', {}), indent=2))}</pre>",
    ]
    return write_page(run_dir / "report.html", run_name(run_dir), parts)


def _per_ticker(metrics: dict) -> str:
    names = ["model", *metrics["baselines"]]
    blocks = [metrics["test"], *metrics["baselines"].values()]
    tickers = list(metrics["test"]["mae_by_ticker"])
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr><td>{html.escape(t)}</td>" + "".join(f"<td>{_fmt(b['mae_by_ticker'].get(t))}</td>" for b in blocks)
        for t in tickers
    )
    return f"<table><tr><th>ticker</th>{head}</tr>{body}</table>"
