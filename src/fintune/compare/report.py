"""Everything `fintune compare` writes into runs/<sweep>/: leaderboard.md / .csv / .html, best.json, plots."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fintune.compare.fingpt_table import fingpt_table
from fintune.compare.leaderboard import (
    METRICS,
    best_record,
    build_rows,
    cell,
    majority_row,
    markdown,
    peak_mib,
    setting_of,
    write_best,
    write_tables,
)
from fintune.compare.plots import confusion_matrices, loss_curves, metric_bars, tradeoff
from fintune.compare.sweep import Sweep
from fintune.errors import FintuneError
from fintune.report.html import img_tag, write_page


def write_outputs(sweep: Sweep, records: list[dict], say=print) -> Path:
    folder = sweep.folder
    failed = [r["run_info"]["name"] for r in records if r["run_info"]["status"] != "finished"]
    rows = build_rows(records, sweep.select_metric, sweep.target_loss)
    if not rows:
        raise FintuneError(f"sweep '{sweep.name}': no run finished ({len(failed)} failed); see {folder / 'results'}")
    majority = majority_row(records)
    write_tables(folder, rows, majority)
    best = best_record(rows, sweep.select_metric)
    write_best(folder, best)
    first = {}
    for record in records:
        if record["run_info"]["status"] == "finished":
            first.setdefault(setting_of(record), record)
    out = folder / "plots"
    plots = [
        metric_bars(rows, "f1_weighted", folder / "plots" / "f1_weighted.png"),
        metric_bars(rows, "mcc", folder / "plots" / "mcc.png"),
        loss_curves(first, rows[0].get("target_loss"), folder / "plots" / "loss_curves.png"),
        confusion_matrices(first, folder / "plots" / "confusion_matrices.png"),
        tradeoff(rows, "accuracy", "trainable_params", "trainable parameters", out / "acc_vs_params.png", log_x=True),
        tradeoff(rows, "accuracy", "train_s", "training seconds", out / "acc_vs_time.png"),
    ]
    fingpt = fingpt_table(first, sweep.benchmark, folder, say) if sweep.benchmark else None
    _html(folder, sweep, rows, majority, best, plots, failed, fingpt)
    say(markdown(rows, majority))
    if "verdict" in best:
        say(best["verdict"])
    if failed:
        say(f"{len(failed)} run(s) failed: {', '.join(failed)} (details in {folder / 'results'})")
    say(f"leaderboard: {folder / 'leaderboard.html'}; best: {folder / 'best.json'}")
    return folder


def _html(folder: Path, sweep: Sweep, rows, majority, best, plots, failed, fingpt) -> None:
    head = "".join(f"<th>{m}</th>" for m in METRICS)
    body = []
    for i, row in enumerate(rows):
        p = "-" if row.get("p_vs_best") is None else f"{row['p_vs_best']:.3g}"
        cells = "".join(f"<td>{_cell(row, m)}</td>" for m in METRICS)
        body.append(
            f'<tr class="{"run" if i == 0 else ""}"><td>{html.escape(row["setting"])}</td><td>{row["seeds"]}</td>'
            f"<td>{row['validation']:.4f}</td>{cells}<td>{p}</td><td>{row['trainable_params'] or 0:,}</td>"
            f"<td>{row['train_s']:.0f}</td><td>{peak_mib(row)}</td><td>{row.get('steps_to_target') or '-'}</td></tr>"
        )
    if majority:
        cells = "".join(f"<td>{majority[m]:.4f}</td>" for m in METRICS)
        body.append(f"<tr><td>baseline: majority</td><td></td><td></td>{cells}{'<td></td>' * 5}</tr>")
    table = (
        f"<table><tr><th>setting</th><th>seeds</th><th>validation {html.escape(sweep.select_metric)}</th>{head}"
        f"<th>p vs best</th><th>trainable</th><th>train s</th><th>peak MiB</th><th>steps to target loss</th></tr>"
        f"{''.join(body)}</table>"
    )
    parts = [
        f"<h1>{html.escape(sweep.name)}</h1>",
        f'<p class="note">{len(rows)} setting(s) from {html.escape(str(sweep.base))}; rows sorted by validation '
        f"{html.escape(sweep.select_metric)}. Test cells: mean ± std over seeds [first seed's bootstrap 95 % "
        "interval]; p vs best: exact McNemar test on the same test examples.</p>",
        table,
        f"<h2>Best</h2><pre>{html.escape(json.dumps(best, indent=2))}</pre>",
        *(
            ["<h2>FinGPT-style benchmark (test splits)</h2>", fingpt.to_html(index=False, float_format="%.4f")]
            if fingpt is not None
            else []
        ),
        *([f'<p class="note">failed: {html.escape(", ".join(failed))}</p>'] if failed else []),
        "<h2>Plots</h2>",
        *(img_tag(p) for p in plots),
    ]
    write_page(folder / "leaderboard.html", sweep.name, parts)


def _cell(row: dict, m: str) -> str:
    """'mean ± std' with the bootstrap interval on a second, quieter line (one long string wrapped in 4 lines)."""
    value, bracket, interval = cell(row, m).partition(" [")
    return html.escape(value) + (f'<br><span class="ci">[{html.escape(interval)}</span>' if bracket else "")
