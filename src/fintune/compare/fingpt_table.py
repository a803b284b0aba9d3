"""The FinGPT-style benchmark table of a sweep: one row per setting, columns dataset x (accuracy, macro F1, micro F1,
weighted F1), as FinGPT publishes its sentiment results, with a majority baseline as the last row: the training
set's most frequent label predicted everywhere (what a model that learnt only the label prior would score; on a
dataset where that label is rare, such as FPB's neutral on FiQA-SA, it scores below chance).

Each setting's first seed is evaluated on the test split of every listed dataset through `fintune eval`'s own code
(`benchmark_run`), so each result is also recorded under `evals` in that run's metrics.json; a second invocation
reads those records instead of predicting again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fintune.eval.benchmark_table import MAJORITY
from fintune.eval.run_eval import benchmark_run

COLUMNS = {
    "accuracy": "Acc",
    "f1_macro": "F1 macro",
    "f1_micro": "F1 micro",
    "f1_weighted": "F1 weighted",
    "mcc": "MCC",
}
PUBLISHED = {
    "FinGPT v3.3 Llama2-13B (published, not run here)": {"fpb": 0.882, "fiqa-sa": 0.874, "tfns": 0.903, "nwgi": 0.643},
    "FinGPT v3.2 Llama2-7B (published, not run here)": {"fpb": 0.850, "fiqa-sa": 0.860, "tfns": 0.894, "nwgi": 0.632},
    "FinGPT v3.1 ChatGLM2-6B (published, not run here)": {"fpb": 0.855, "fiqa-sa": 0.850, "tfns": 0.875, "nwgi": 0.642},
}
"""FinGPT's weighted F1 on the full test splits, one model trained on all four datasets, from its repository's
`fingpt/FinGPT_Sentiment_Analysis_v3/README.md` (the only metric it publishes there): shown for scale, never
as a result of this tool."""
PUBLISHED_DATASETS = {name for scores in PUBLISHED.values() for name in scores}


def fingpt_table(first_of_setting: dict[str, dict], datasets: list[str], folder: Path, say=print) -> pd.DataFrame:
    """Evaluate what is not evaluated yet, then write fingpt_table.md / .csv into `folder`."""
    rows, majority = [], {"setting": f"baseline: {MAJORITY}"}
    for setting, record in first_of_setting.items():
        blocks = _blocks(Path(record["run_info"]["run_dir"]), datasets, say)
        row = {"setting": setting}
        for name, block in blocks.items():
            row |= {f"{_short(name)} {COLUMNS[m]}": block[m] for m in COLUMNS}
            majority |= {f"{_short(name)} {COLUMNS[m]}": block["baselines"][MAJORITY][m] for m in COLUMNS}
        rows.append(row)
    published = [  # only where the table has one of FinGPT's datasets
        {"setting": setting, **{f"{d} {COLUMNS['f1_weighted']}": wf1 for d, wf1 in scores.items() if d in datasets}}
        for setting, scores in PUBLISHED.items()
        if set(scores) & set(datasets)
    ]
    frame = pd.DataFrame([*rows, majority, *published])
    frame.to_csv(folder / "fingpt_table.csv", index=False)
    (folder / "fingpt_table.md").write_text(_markdown(frame, datasets), encoding="utf-8")
    return frame


def _blocks(run_dir: Path, datasets: list[str], say) -> dict[str, dict]:

    def recorded() -> dict:
        return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")).get("evals", {})

    if any(f"{name}/test" not in recorded() for name in datasets):
        say(f"benchmark: {run_dir.name} on {', '.join(datasets)}")
        benchmark_run(run_dir, datasets, "test")
    evals = recorded()
    return {name: evals[f"{name}/test"] for name in datasets}


def _short(name: str) -> str:
    """A registered name as it is (fpb); a file by its stem, so a column header is not a whole path."""
    return Path(name).stem if ("/" in name or "." in name) else name


def _markdown(frame: pd.DataFrame, datasets: list[str]) -> str:
    datasets = [_short(d) for d in datasets]
    head = "| setting | " + " | ".join(f"{d} {c}" for d in datasets for c in COLUMNS.values()) + " |"
    lines = [head, "|---|" + "---:|" * (len(datasets) * len(COLUMNS))]
    for row in frame.to_dict("records"):
        cells = [row.get(f"{d} {c}") for d in datasets for c in COLUMNS.values()]
        lines.append(f"| {row['setting']} | " + " | ".join("-" if pd.isna(v) else f"{v:.4f}" for v in cells) + " |")
    note = (
        "\nTest splits; one row per setting (its first seed). The majority row predicts the training set's most "
        "frequent label on every dataset."
        + (
            " The published rows are FinGPT's weighted F1 on the full test splits of models trained on all four "
            "datasets, copied from its README for scale, not run here."
            if PUBLISHED_DATASETS & set(datasets)
            else ""
        )
        + "\n"
    )
    return "\n".join(lines) + "\n" + note
