"""A self-contained HTML report: tables, plots inlined as base64, the resolved config."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from fintune.atomic import final_name
from fintune.report.table import (
    BACKTEST_COLUMNS,
    COLUMNS,
    cell,
    positive_class_line,
    result_rows,
    sentiment_index_line,
)

# A table wider than the page scrolls inside itself (display:block) instead of widening the whole page;
# numbers never wrap mid-value, headers may.
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}p{max-width:60em}
table{border-collapse:collapse;margin:1em 0;display:block;overflow-x:auto;max-width:100%}
td,th{border:1px solid #ccc;padding:4px 6px;text-align:right;font-size:92%}td{white-space:nowrap}
td:first-child,th:first-child{text-align:left}tr.run{font-weight:bold;background:#eef5ff}
pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%;vertical-align:top}
.note,.ci{color:#666}.ci{font-size:85%;font-weight:normal}
"""


def img_tag(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _metric_table(metrics: dict, run_label: str) -> str:
    head = "".join(f"<th>{h}</th>" for _, h in COLUMNS)
    rows = []
    for i, (name, block) in enumerate(result_rows(metrics, run_label)):
        cells = "".join(f"<td>{cell(block, k)}</td>" for k, _ in COLUMNS)
        rows.append(f'<tr class="{"run" if i == 0 else ""}"><td>{html.escape(name)}</td>{cells}</tr>')
    return f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"


def _backtest_tables(block: dict) -> str:
    head = "".join(f"<th>{h}</th>" for _, h in BACKTEST_COLUMNS)
    rows = "".join(
        f"<tr><td>{name.removeprefix('strategy_')}</td>"
        + "".join(
            f"<td>{'-' if block[name].get(k) is None else format(block[name][k], '.4f')}</td>"
            for k, _ in BACKTEST_COLUMNS
        )
        + "</tr>"
        for name in ("strategy_long_flat", "strategy_long_short", "buy_and_hold")
    )
    what = f"{block['assets']} assets, equal weight" if "assets" in block else ", ".join(block.get("per_asset", {}))
    note = f"{html.escape(what)}: {block['periods']} periods, {block['cost_bps']:g} bps per unit of turnover"
    return f'<p class="note">{note}</p><table><tr><th>strategy</th>{head}</tr>{rows}</table>'


def _per_class_table(block: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{c['precision']:.4f}</td><td>{c['recall']:.4f}</td>"
        f"<td>{c['f1']:.4f}</td><td>{c['support']}</td></tr>"
        for label, c in block["per_class"].items()
    )
    return f"<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>"


def write_report(run_dir: Path, metrics: dict, config_yaml: str, run_label: str) -> Path:
    plots = sorted((run_dir / "plots").glob("*.png"))
    train = metrics["train"]
    data = metrics.get("data", {})
    parts = [
        f"<h1>{html.escape(run_name(run_dir))}</h1>",
        *([f'<p class="note"><b>{html.escape(data["subset"])}</b></p>'] if "subset" in data else []),
        f'<p class="note">{html.escape(run_label)} on <b>{html.escape(str(data.get("source", "")))}</b>: '
        f"{data.get('n_train', '?')} train / {data.get('n_validation', '?')} validation / "
        f"{data.get('n_test', '?')} test examples. Best epoch {train.get('best_epoch')} chosen on validation "
        f"{html.escape(str(train.get('select_metric')))}; the test split was not used for any choice.</p>",
        "<h2>Test results beside baselines</h2>",
        _metric_table(metrics, run_label),
        *([f'<p class="note">{html.escape(positive_class_line(metrics))}</p>'] if positive_class_line(metrics) else []),
        *(
            [f'<p class="note">{html.escape(sentiment_index_line(metrics["baselines"]["sentiment_index"]))}</p>']
            if "sentiment_index" in metrics.get("baselines", {})
            else []
        ),
        *(
            ["<h2>Backtest over the test period</h2>", _backtest_tables(metrics["backtest"])]
            if "backtest" in metrics
            else []
        ),
        "<h2>Per class (test)</h2>",
        _per_class_table(metrics["test"]),
        "<h2>Plots</h2>",
        *(img_tag(p) for p in plots),
        "<h2>Training</h2>",
        f"<pre>{html.escape(json.dumps({k: v for k, v in train.items() if k != 'evals'}, indent=2))}</pre>",
        "<h2>Data</h2>",
        f"<pre>{html.escape(json.dumps(data, indent=2))}</pre>",
        "<h2>Resolved config</h2>",
        f"<pre>{html.escape(config_yaml)}</pre>",
        "<h2>Environment</h2>",
        f"<pre>{html.escape(json.dumps(metrics.get('meta', {}), indent=2))}</pre>",
    ]
    return write_page(run_dir / "report.html", run_name(run_dir), parts)


def run_name(folder: Path) -> str:
    """The run's name: a report is written inside `<name>.partial`, which becomes `<name>` when the run finishes."""
    return final_name(folder).name


def write_page(path: Path, title: str, parts: list[str]) -> Path:
    """A self-contained page: the parts (HTML strings) under one title, in the reports' style."""
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
