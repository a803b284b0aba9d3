"""The sweep's pictures: loss curves overlaid, confusion matrices side by side, test metric bars with CIs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fintune.compare.convergence import smoothed  # noqa: E402


def loss_curves(
    records_by_setting: dict[str, dict], target: float | None, path: Path, val_target: float | None = None
) -> Path:
    """Training loss (solid, smoothed) and, where measured, validation loss (dashed markers) per setting, with the
    common targets the convergence tables time (grey: training, dotted: validation)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for setting, record in records_by_setting.items():
        steps, curve = smoothed(record["train_info"]["losses"])
        if not len(curve):
            continue
        (line,) = ax.plot(steps, curve, lw=1.4, label=setting, marker="o" if len(curve) < 3 else None)
        val = record["train_info"].get("val_curve") or []
        if val:
            ax.plot([s for s, _, _ in val], [v for _, _, v in val], "o--", ms=3, lw=1, color=line.get_color())
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:.3f}")
    if val_target is not None:
        ax.axhline(val_target, color="grey", ls=":", lw=1.2, label=f"validation target {val_target:.3f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (training: 20-step mean; dashed: validation)")
    ax.set_title("loss curves, first seed of each setting")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


MATRICES_PER_ROW = 4  # ten settings in one row left each matrix a thumbnail with its title run into the next


def confusion_matrices(records_by_setting: dict[str, dict], path: Path) -> Path:
    """Each setting's test confusion matrix, in rows of at most four, titled with the setting's axes one per line."""
    n = len(records_by_setting)
    cols = min(n, MATRICES_PER_ROW)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 4.0 * rows), squeeze=False)
    for ax, (setting, record) in zip(axes.flat, records_by_setting.items()):
        test = record["metrics"]["test"]
        cm, labels = np.array(test["confusion_matrix"]), test["labels"]
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_title(setting.replace(", ", "\n"), fontsize=8)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    for row in axes:
        row[0].set_ylabel("true")
    return _save(fig, path)


def metric_bars(rows: list[dict], metric: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(rows) + 2), 4))
    values = [r[metric] for r in rows]
    cis = [r.get(f"{metric}_ci95") or [v, v] for r, v in zip(rows, values)]
    # clipped: the bar is the mean over seeds, the interval the first seed's, which need not contain the mean
    err = np.clip([[v - lo for v, (lo, _) in zip(values, cis)], [hi - v for v, (_, hi) in zip(values, cis)]], 0, None)
    ax.bar(range(len(rows)), values, yerr=err, capsize=4, color="tab:blue", alpha=0.8)
    ax.set_xticks(range(len(rows)), [r["setting"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"test {metric} (whiskers: bootstrap 95 % interval of the first seed)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def tradeoff(rows: list[dict], metric: str, x_key: str, x_label: str, path: Path, log_x: bool = False) -> Path:
    """Test metric against a cost (trainable parameters, training seconds): what each point of accuracy costs."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for row in rows:
        x, y = row.get(x_key) or 0, row[metric]
        lo, hi = row.get(f"{metric}_ci95") or (y, y)
        yerr = [[max(y - lo, 0.0)], [max(hi - y, 0.0)]]  # mean over seeds vs the first seed's interval
        ax.errorbar([x], [y], yerr=yerr, fmt="o", capsize=3, label=row["setting"])
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"test {metric} vs {x_label} (whiskers: bootstrap 95 %)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
