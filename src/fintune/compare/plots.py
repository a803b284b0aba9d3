"""The sweep's pictures: loss curves overlaid, confusion matrices side by side, test metric bars with CIs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fintune.compare.convergence import smoothed  # noqa: E402


def loss_curves(records_by_setting: dict[str, dict], target: float | None, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for setting, record in records_by_setting.items():
        steps, curve = smoothed(record["train_info"]["losses"])
        if len(curve):
            ax.plot(steps, curve, lw=1.4, label=setting)
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:.3f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (20-step mean)")
    ax.set_title("training loss, first seed of each setting")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def confusion_matrices(records_by_setting: dict[str, dict], path: Path) -> Path:
    n = len(records_by_setting)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False)
    for ax, (setting, record) in zip(axes[0], records_by_setting.items()):
        test = record["metrics"]["test"]
        cm, labels = np.array(test["confusion_matrix"]), test["labels"]
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_title(setting, fontsize=9)
    axes[0][0].set_ylabel("true")
    return _save(fig, path)


def metric_bars(rows: list[dict], metric: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(rows) + 2), 4))
    values = [r[metric] for r in rows]
    cis = [r.get(f"{metric}_ci95") or [v, v] for r, v in zip(rows, values)]
    err = np.array([[v - lo for v, (lo, _) in zip(values, cis)], [hi - v for v, (_, hi) in zip(values, cis)]])
    ax.bar(range(len(rows)), values, yerr=err, capsize=4, color="tab:blue", alpha=0.8)
    ax.set_xticks(range(len(rows)), [r["setting"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"test {metric} (whiskers: bootstrap 95 % interval of the first seed)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
