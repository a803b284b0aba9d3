"""Everything `fintune compare` writes into runs/<sweep>/: leaderboard.md / .csv / .html, best.json, plots."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fintune.compare.backtests import backtest_table
from fintune.compare.fingpt_table import fingpt_table
from fintune.compare.leaderboard import (
    baseline_row,
    best_record,
    build_rows,
    cell,
    markdown,
    peak_mib,
    setting_of,
    subset_note,
    write_best,
    write_tables,
)
from fintune.compare.plots import confusion_matrices, loss_curves, metric_bars, tradeoff
from fintune.compare.scoring import Scoring
from fintune.compare.sweep import Sweep
from fintune.compare.verdict import versus_baselines
from fintune.errors import FintuneError
from fintune.report.html import img_tag, write_page


def write_outputs(sweep: Sweep, records: list[dict], say=print) -> Path:
    folder = sweep.folder
    failed = [r["run_info"]["name"] for r in records if r["run_info"]["status"] != "finished"]
    scoring = sweep.scoring
    rows = build_rows(records, sweep.select_metric, scoring, sweep.target_loss, sweep.tune)
    if not rows:
        raise FintuneError(f"sweep '{sweep.name}': no run finished ({len(failed)} failed); see {folder / 'results'}")
    majority = baseline_row(records, scoring)
    best = best_record(rows, sweep.select_metric, scoring)
    best["vs_baselines"] = versus_baselines(rows[0], records, sweep.select_metric, scoring)
    subset = subset_note(records)
    if subset:
        best["subset"] = subset
    verdict = " ".join(filter(None, [subset and f"Subset: {subset}.", best["vs_baselines"]["sentence"]]))
    write_tables(folder, rows, majority, scoring, verdict)
    write_best(folder, best)
    first = {}
    for record in records:
        if record["run_info"]["status"] == "finished":
            first.setdefault(setting_of(record), record)
    out = folder / "plots"
    main, second = scoring.metrics[2], scoring.metrics[3]  # f1_weighted and mcc; mape and directional accuracy
    drawn = [r for r in rows if r.get(main) is not None]
    first_metric = scoring.metrics[0]  # accuracy; mae
    costed = [r for r in rows if r.get(first_metric) is not None]

    def cost_of(cost: str) -> Path:
        return out / f"{'acc' if first_metric == 'accuracy' else first_metric}_vs_{cost}.png"

    plots = [
        metric_bars(drawn, main, out / f"{main}.png"),
        metric_bars([r for r in rows if r.get(second) is not None], second, out / f"{second}.png"),
        loss_curves(
            {r["setting"]: first[r["setting"]] for r in rows if r["tuned_choice"]},
            next((r["target_loss"] for r in rows if r["tuned_choice"]), None),
            out / "loss_curves.png",
            next((r["val_target_loss"] for r in rows if r.get("val_target_loss") is not None), None),
        ),
        *([confusion_matrices(first, out / "confusion_matrices.png")] if scoring.plots_confusion else []),
        tradeoff(costed, first_metric, "trainable_params", "trainable parameters", cost_of("params"), log_x=True),
        tradeoff(costed, first_metric, "train_s", "training seconds", cost_of("time")),
    ]
    fingpt = fingpt_table(first, sweep.benchmark, folder, say) if sweep.benchmark else None
    backtests = backtest_table(first, folder)
    _html(folder, sweep, scoring, rows, majority, best, plots, failed, fingpt, backtests)
    say(markdown(rows, majority, scoring, verdict))
    if "verdict" in best:
        say(best["verdict"])
    if failed:
        say(f"{len(failed)} run(s) failed: {', '.join(failed)} (details in {folder / 'results'})")
    say(f"leaderboard: {folder / 'leaderboard.html'}; best: {folder / 'best.json'}")
    return folder


def _html(folder: Path, sweep: Sweep, scoring: Scoring, rows, majority, best, plots, failed, fingpt, backtests) -> None:
    verdict = best["vs_baselines"]["sentence"]
    metrics = scoring.metrics
    head = "".join(f"<th>{m}</th>" for m in metrics)
    body = []
    for i, row in enumerate(rows):
        p = "-" if row.get("p_vs_best") is None else f"{row['p_vs_best']:.3g}"
        cells = "".join(f"<td>{_cell(row, m)}</td>" for m in metrics)
        body.append(
            f'<tr class="{"run" if i == 0 else ""}"><td>{html.escape(row["setting"])}</td><td>{row["seeds"]}</td>'
            f"<td>{row['validation']:.4f}</td>{cells}<td>{p}</td><td>{row['trainable_params'] or 0:,}</td>"
            f"<td>{row['train_s']:.0f}</td><td>{row['wall_s']:.0f}</td><td>{peak_mib(row)}</td>"
            f"<td>{row.get('steps_to_target') or '-'}</td></tr>"
        )
    if majority:
        cells = "".join(f"<td>{cell(majority, m)}</td>" for m in metrics)
        body.append(f"<tr><td>{html.escape(majority['setting'])}</td><td></td><td></td>{cells}{'<td></td>' * 6}</tr>")
    table = (
        f"<table><tr><th>setting</th><th>seeds</th><th>validation {html.escape(sweep.select_metric)}</th>{head}"
        "<th>p vs best</th><th>trainable</th><th>train s</th><th>wall s</th><th>peak MiB</th>"
        "<th>steps to target loss</th></tr>"
        f"{''.join(body)}</table>"
    )
    parts = [
        f"<h1>{html.escape(sweep.name)}</h1>",
        f'<p class="note">{len(rows)} setting(s) from {html.escape(_bases(sweep))}; rows sorted by validation '
        f"{html.escape(sweep.select_metric)}. Test cells: mean ± std over seeds [first seed's bootstrap 95 % "
        f"interval]; p vs best: {html.escape(scoring.paired_test)} on the same test examples.</p>",
        *([f'<p class="note"><b>Subset: {html.escape(best["subset"])}.</b></p>'] if "subset" in best else []),
        table,
        f"<p><b>{html.escape(verdict)}</b></p>",
        f"<h2>Best</h2><pre>{html.escape(json.dumps(best, indent=2))}</pre>",
        *(
            ["<h2>FinGPT-style benchmark (test splits)</h2>", fingpt.to_html(index=False, float_format="%.4f")]
            if fingpt is not None
            else []
        ),
        *(
            ["<h2>Backtests (test period)</h2>", backtests.to_html(index=False, float_format="%.4f", na_rep="-")]
            if backtests is not None
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


def _bases(sweep: Sweep) -> str:
    configs = sweep.axes.get("base")
    return f"{len(configs)} configs (axis base)" if configs else str(sweep.base)
