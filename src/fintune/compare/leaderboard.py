"""The leaderboard of a sweep, read only from its results/*.json: one row per setting (every axis but the seed),
mean +- std over seeds, the first seed's bootstrap interval, the task's baseline as a row (majority; naive_last
for forecasting), and a paired test of every row against the chosen best on the same test examples (scoring.py
says which metrics and test each task has). The best is chosen on the validation split, never on test;
`best.json` says why.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from fintune.compare.convergence import common_target, smoothed, time_to_target, time_to_val_target, val_target
from fintune.compare.scoring import Scoring

SEED = "train.seed"


def setting_of(record: dict) -> str:
    axes = {k: v for k, v in record["run_info"]["axes"].items() if k != SEED}
    # a base config as an axis is named by its file: the setting is that config
    return ", ".join(Path(v).stem if k == "base" else f"{k}={v}" for k, v in axes.items()) or "base"


def build_rows(
    records: list[dict],
    select_metric: str,
    scoring: Scoring,
    target_loss: float | None = None,
    tuned: tuple[str, ...] = (),
) -> list[dict]:
    """One row per setting, best validation first. With `tuned` axes (e.g. train.learning_rate), each setting's
    best value of those axes on validation is marked `tuned_choice`, and only those rows are timed to a common
    loss: a method is compared at its own best rate, not at a rate another method needs."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record["run_info"]["status"] == "finished":
            groups[setting_of(record)].append(record)
    rows = []
    for setting, runs in groups.items():
        tests = [r["metrics"]["test"] for r in runs]
        row = {"setting": setting, "seeds": len(runs), "runs": [r["run_info"]["run_dir"] for r in runs]}
        for m in scoring.metrics:
            values = np.array([np.nan if t.get(m) is None else t[m] for t in tests], dtype=float)
            known = values[~np.isnan(values)]  # None: not defined for a run (no direction called, nothing parsed)
            row[m] = float(known.mean()) if len(known) else None
            row[f"{m}_std"] = float(known.std(ddof=1)) if len(known) > 1 else None
            row[f"{m}_ci95"] = tests[0].get("ci95", {}).get(m)
        row["validation"] = float(np.mean([r["metrics"]["validation"][select_metric] for r in runs]))
        for key in ("pr_auc", "roc_auc"):
            row[key] = float(np.mean([t[key] for t in tests])) if all(t.get(key) is not None for t in tests) else None
        info = [r["train_info"] for r in runs]
        row["trainable_params"] = info[0].get("trainable_params")
        row["train_s"] = float(np.mean([i.get("runtime_s") or 0 for i in info]))
        row["wall_s"] = float(np.mean([i.get("wall_s") or 0 for i in info]))  # the whole run, evaluation included
        row["peak_rss_mb"] = float(np.max([i.get("peak_rss_mb") or 0 for i in info]))
        rows.append(row)
    rows.sort(key=lambda r: r["validation"], reverse=scoring.better_first(select_metric))
    if rows:
        _paired_tests(rows, scoring)
        _mark_tuned(rows, groups, tuned)
        _convergence([r for r in rows if r["tuned_choice"]], groups, target_loss)
    return rows


def _mark_tuned(rows: list[dict], groups: dict[str, list[dict]], tuned: tuple[str, ...]) -> None:
    """rows are sorted best first, so the first row of each family (the axes but the tuned ones) is its choice."""
    seen = set()
    for row in rows:
        axes = groups[row["setting"]][0]["run_info"]["axes"]
        family = json.dumps({k: v for k, v in axes.items() if k not in tuned and k != SEED}, sort_keys=True)
        row["tuned_choice"] = family not in seen
        seen.add(family)


def _paired_tests(rows: list[dict], scoring: Scoring) -> None:
    """The paired test of each row's first seed against the best row's first seed, on the test examples both have."""
    rows[0]["p_vs_best"] = None
    for row in rows[1:]:
        row["p_vs_best"] = scoring.paired_p(rows[0]["runs"][0], row["runs"][0])


def _convergence(rows: list[dict], groups: dict[str, list[dict]], target: float | None = None) -> None:
    """Steps and seconds of each row's first seed to the common training (and validation) loss of `rows`."""
    groups = {r["setting"]: groups[r["setting"]] for r in rows}
    curves = {s: smoothed(g[0]["train_info"]["losses"])[1] for s, g in groups.items()}
    target = target if target is not None else common_target(curves)
    for row in rows:
        first = groups[row["setting"]][0]["train_info"]
        timed = time_to_target(first["losses"], first.get("runtime_s") or 0.0, target) if target else {}
        row["target_loss"] = target
        row["steps_to_target"], row["seconds_to_target"] = timed.get("steps"), timed.get("seconds")
    # settings that trained (a zero-shot one has no curve) and measured a curve with eval_steps, not epoch ends only
    val_curves = {s: g[0]["train_info"].get("val_curve") or [] for s, g in groups.items()}
    val_curves = {s: c for s, c in val_curves.items() if c}
    if val_curves and all(len(c) > 1 for c in val_curves.values()):
        val = val_target(list(val_curves.values()))
        for row in (r for r in rows if r["setting"] in val_curves):
            timed = time_to_val_target(val_curves[row["setting"]], val)
            row["val_target_loss"] = val
            row["steps_to_val_target"], row["seconds_to_val_target"] = timed["steps"], timed["seconds"]


def best_record(rows: list[dict], select_metric: str, scoring: Scoring) -> dict:
    best = rows[0]
    out = {
        "setting": best["setting"],
        "run": best["runs"][0],
        "chosen_by": f"validation {select_metric} (mean over {best['seeds']} seed(s)); the test split chose nothing",
        "validation": best["validation"],
        "test": {m: best[m] for m in scoring.metrics},
        "test_ci95": {m: best[f"{m}_ci95"] for m in scoring.metrics},
    }
    if len(rows) > 1:
        runner = rows[1]
        p = runner["p_vs_best"]
        out["runner_up"] = {"setting": runner["setting"], "validation": runner["validation"], "p_test_mcnemar": p}
        out["distinguishable"] = p is not None and p < 0.05
        out["verdict"] = (
            f"{best['setting']} leads on validation; on test it differs from {runner['setting']} "
            + ("significantly" if out["distinguishable"] else "not significantly")
            + (f" ({scoring.paired_test}, p={p:.3g})" if p is not None else "")
        )
    return out


def baseline_row(records: list[dict], scoring: Scoring) -> dict | None:
    """The task's baseline (majority; naive_last for forecasting) on the same test split, as a row."""
    for record in records:
        block = record.get("metrics", {}).get("baselines", {}).get(scoring.baseline)
        if block:
            return {"setting": f"baseline: {scoring.baseline}", **{m: block.get(m) for m in scoring.metrics}}
    return None


def subset_note(records: list[dict]) -> str:
    """A sentence when some finished runs kept only part of their data ('' when none did): their numbers are not
    comparable with published ones, and a leaderboard of them must say so where its numbers are."""
    finished = [r for r in records if r["run_info"]["status"] == "finished"]
    subsets = [r for r in finished if "subset" in r.get("data_info", {})]
    if not subsets:
        return ""
    return f"{len(subsets)} of {len(finished)} run(s) are {subsets[0]['data_info']['subset']}"


def write_tables(folder: Path, rows: list[dict], majority: dict | None, scoring: Scoring, verdict: str = "") -> None:
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "runs"} for r in rows])
    if majority:
        frame = pd.concat([frame, pd.DataFrame([majority])], ignore_index=True)
    frame.to_csv(folder / "leaderboard.csv", index=False)
    (folder / "leaderboard.md").write_text(markdown(rows, majority, scoring, verdict), encoding="utf-8")


def cell(row: dict, m: str) -> str:
    if row.get(m) is None:
        return "-"
    text = f"{row[m]:.4f}"
    if row.get(f"{m}_std") is not None:
        text += f" ± {row[f'{m}_std']:.4f}"
    ci = row.get(f"{m}_ci95")
    return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def peak_mib(row: dict) -> str:
    """The largest peak resident memory of the setting's runs; '-' where no run recorded one."""
    return f"{row['peak_rss_mb']:,.0f}" if row.get("peak_rss_mb") else "-"


def markdown(rows: list[dict], majority: dict | None, scoring: Scoring, verdict: str = "") -> str:
    """The leaderboard table, its notes and timing tables, and `verdict` (the chosen setting vs the baselines)."""
    metrics = scoring.metrics
    head = (
        "| setting | seeds | validation | "
        + " | ".join(metrics)
        + " | p vs best | trainable | train s | wall s | peak MiB |"
    )
    lines = [head, "|" + "---|" * (len(metrics) + 8)]
    for row in rows:
        p = "-" if row.get("p_vs_best") is None else f"{row['p_vs_best']:.3g}"
        cells = " | ".join(cell(row, m) for m in metrics)
        lines.append(
            f"| {row['setting']} | {row['seeds']} | {row['validation']:.4f} | {cells} | {p} | "
            f"{row['trainable_params'] or 0:,} | {row['train_s']:.0f} | {row['wall_s']:.0f} | {peak_mib(row)} |"
        )
    if majority:
        lines.append(
            f"| {majority['setting']} | | | " + " | ".join(cell(majority, m) for m in metrics) + " | | | | | |"
        )
    notes = [
        "",
        "Rows sorted by the validation metric (the test split chose nothing). Test metrics: mean ± std over seeds,",
        f"in brackets the first seed's bootstrap 95 % interval. p vs best: {scoring.paired_test} of the first seeds'",
        "test predictions against the best row's.",
    ]
    tuned = [r for r in rows if r.get("tuned_choice")]
    if len(tuned) < len(rows):
        notes += ["", "Chosen on validation for each setting (timed below): " + "; ".join(r["setting"] for r in tuned)]
    timed = [r for r in rows if r.get("target_loss") is not None]
    if timed:
        notes += ["", f"Training loss to {timed[0]['target_loss']:.4f} (smoothed over 20 steps):", ""]
        notes += ["| setting | steps | seconds |", "|---|---|---|"]
        notes += [
            f"| {r['setting']} | {r['steps_to_target'] or '-'} | {r['seconds_to_target'] or '-'} |" for r in timed
        ]
    val = [r for r in rows if r.get("val_target_loss") is not None]
    if val:
        notes += ["", f"Validation loss to {val[0]['val_target_loss']:.4f} (the highest of the runs' best):", ""]
        notes += ["| setting | steps | training seconds |", "|---|---|---|"]
        notes += [
            f"| {r['setting']} | {r['steps_to_val_target'] or '-'} | {r['seconds_to_val_target'] or '-'} |" for r in val
        ]
    notes += ["", verdict] if verdict else []
    return "\n".join(lines + notes) + "\n"


def write_best(folder: Path, best: dict) -> None:
    (folder / "best.json").write_text(json.dumps(best, indent=2), encoding="utf-8")
