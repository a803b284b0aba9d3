"""The sweep's answer in words: does the chosen setting beat the baselines by more than its own uncertainty?

A point estimate above a baseline is not a finding when the bootstrap interval reaches below it. So the chosen
setting (best on validation) is compared with every baseline on the same test split, in the metric the sweep
selects on when the test block has it (else the scoring's headline: weighted F1, or MASE for forecasts):
"beaten beyond the interval" (the baseline lies outside the interval, on the losing side), "beaten within the
interval", or "not beaten" (the baseline is as good or better).
"""

from __future__ import annotations

from fintune.compare.scoring import Scoring


def verdict_metric(select_metric: str, scoring: Scoring) -> str:
    return select_metric if select_metric in scoring.metrics else scoring.headline


def versus_baselines(best_row: dict, records: list[dict], select_metric: str, scoring: Scoring) -> dict:
    """{metric, value, ci95, baselines: {name: {value, relation}}, sentence} for the chosen setting's first seed."""
    metric = verdict_metric(select_metric, scoring)
    first = next(r for r in records if r["run_info"].get("run_dir") == best_row["runs"][0])
    test = first["metrics"]["test"]
    value, ci = test.get(metric), test.get("ci95", {}).get(metric)
    higher_better = metric not in scoring.lower_better
    out: dict = {"metric": metric, "value": value, "ci95": ci, "baselines": {}}
    for name, block in (first["metrics"].get("baselines") or {}).items():
        # a forecaster is compared on the days it parsed, where the baseline block records them
        other = ((block.get("on_model_days") or {}).get("all") or block).get(metric)
        if other is None or value is None:
            continue
        out["baselines"][name] = {"value": other, "relation": _relation(value, ci, other, higher_better)}
    out["sentence"] = _sentence(best_row["setting"], metric, value, ci, out["baselines"])
    return out


def _relation(value: float, ci: list | None, other: float, higher_better: bool) -> str:
    ahead = value > other if higher_better else value < other
    if not ahead:
        return "not beaten" if value != other else "tied"
    if ci is None:
        return "beaten (no interval)"
    beyond = ci[0] > other if higher_better else ci[1] < other
    return "beaten beyond the interval" if beyond else "beaten within the interval"


def _sentence(setting: str, metric: str, value, ci, baselines: dict) -> str:
    if value is None:
        return f"{setting}: no test {metric} to compare"
    interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    parts = [f"{name} {b['value']:.4f} {b['relation']}" for name, b in baselines.items()]
    clear = [name for name, b in baselines.items() if b["relation"] == "beaten beyond the interval"]
    if baselines and len(clear) == len(baselines):
        word = "beats every baseline beyond its interval"
    elif clear:
        word = f"beats {', '.join(clear)} beyond its interval, not the rest"
    else:
        word = "beats no baseline beyond its interval"
    return f"{setting} (chosen on validation) {word}: test {metric} {value:.4f}{interval}; " + "; ".join(parts)
