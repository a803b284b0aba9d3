"""Plots written to `plots/*.png` and inlined into the report."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd
from sklearn.metrics import precision_recall_curve


def confusion_matrix_plot(cm: list[list[int]], labels: list[str], path: Path, title: str) -> Path:
    """Counts with row-normalised shading, so a small class's recall is as visible as a big one's."""
    cm_arr = np.array(cm)
    share = cm_arr / np.maximum(cm_arr.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.1 * len(labels) + 2))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{cm_arr[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.6 else "black",
                fontsize=9,
            )
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def loss_plot(losses: list, evals: list[dict], path: Path, title: str) -> Path:
    """Training loss per step (smoothed) and validation loss per epoch on one axis."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if losses:
        steps = np.array([s for s, _, _ in losses])
        values = np.array([v for _, _, v in losses])
        ax.plot(steps, values, color="#bbb", lw=0.8, label="train loss (step)")
        k = max(1, len(values) // 25)
        if k > 1:
            smooth = np.convolve(values, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1 :], smooth, color="#1f77b4", lw=1.8, label=f"train loss ({k}-step mean)")
    if evals:
        ax.plot(
            [e["step"] for e in evals],
            [e["loss"] for e in evals],
            "o-",
            color="#d62728",
            label="validation loss (epoch)",
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if losses or evals:
        ax.legend()
    else:  # a zero-shot run trains nothing
        ax.text(0.5, 0.5, "nothing trained (zero-shot)", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sentiment_index_plot(daily, prices: dict, boundaries: dict, path: Path, title: str) -> Path:
    """Per asset: the daily sentiment index (bars) over the close price (line), split boundaries dashed."""

    assets = list(daily["asset"].unique())[:6]  # more panels than that stop being readable
    fig, axes = plt.subplots(len(assets), 1, figsize=(9, 2.8 * len(assets)), squeeze=False, sharex=True)
    for ax, asset in zip(axes[:, 0], assets):
        rows = daily[daily["asset"] == asset]
        colors = np.where(rows["sentiment"] >= 0, "tab:green", "tab:red")
        ax.bar(rows["date"], rows["sentiment"], width=0.8, color=colors, alpha=0.6)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_ylabel(f"{asset} sentiment")
        if asset in prices:
            bars = prices[asset]
            shown = bars.loc[rows["date"].min() : rows["date"].max()]  # bars are indexed by UTC timestamp
            price_ax = ax.twinx()
            price_ax.plot(shown.index, shown["close"], color="black", lw=1)
            price_ax.set_ylabel("close")
        for name, day in boundaries.items():
            ax.axvline(pd.Timestamp(day, tz="UTC"), color="tab:blue", ls="--", lw=0.8)
            ax.annotate(name, (pd.Timestamp(day, tz="UTC"), ax.get_ylim()[1]), fontsize=8, va="top")
    axes[0, 0].set_title(title + " (mean p(positive) - p(negative) per day)")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pr_curve_plot(is_positive, p_positive, cut: float | None, path: Path, title: str) -> Path:
    """Precision against recall over every cut; the chance line is the positive share, the dot the chosen cut."""

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if is_positive.any():
        precision, recall, cuts = precision_recall_curve(is_positive, p_positive)
        ax.plot(recall, precision, color="tab:blue", lw=1.5, label="model")
        if cut is not None:
            at = min(int(np.searchsorted(cuts, cut)), len(cuts) - 1)
            ax.plot(recall[at], precision[at], "o", color="tab:red", label=f"cut {cut:.3f} (from validation)")
    ax.axhline(float(np.mean(is_positive)), color="grey", ls="--", lw=1, label="chance (positive share)")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
