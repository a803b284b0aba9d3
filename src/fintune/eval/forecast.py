"""The error metrics of predicted closes (forecasts are read back from text by inference/forecast_parse.py).

Scores are on the close, over every predicted day: MAE, RMSE, MAPE (%), MASE, and directional accuracy of the
first and last predicted day against the last known close, beside `up_share`, the share of those days that
really went up (what 'always up' would score). A forecast of no change has no direction, so its
directional accuracy is undefined (None), not zero.

MASE (Hyndman & Koehler, 2006) divides each day's absolute error by its ticker's in-sample scale: the mean absolute
one-day change of the close over the training period, i.e. the error of repeating yesterday's close there. It is
comparable across tickers; naive_last scores about 1 one day ahead when the test period moves as much per day as
the training period (more where prices, and so daily moves, have grown since) and more for later days. A model is
better than naive_last where its MASE is below naive_last's on the same days.

Every block carries `ci95`: percentile intervals of MAE, RMSE, MAPE and MASE from resampling blocks of test
windows: calendar blocks as long as the horizon (a week per 5 predicted days, by each window's first predicted day),
so windows that share predicted days mostly fall in one block. Days of one window share its start and overlapping
windows share days, so resampling days one by one would claim more evidence than there is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def forecast_metrics(days: pd.DataFrame) -> dict:
    """Scores of a long frame with one row per (window, predicted day): `id, h, future, last_close,
    actual_close, pred_close` (pred_close NaN where the day was not parsed) and, for MASE, `scale`."""
    known = days[days["pred_close"].notna()]
    err = known["pred_close"] - known["actual_close"]
    out = {
        "mae": _round(err.abs().mean()),
        "rmse": _round(np.sqrt((err**2).mean())),
        "mape": _round((err.abs() / known["actual_close"]).mean() * 100),
        "mase": _round((err.abs() / known["scale"]).mean()) if "scale" in known else None,
        "directional_accuracy": _direction(known[known["h"] == 1]),
        "directional_accuracy_last": _direction(known[known["h"] == known["future"]]),
        # the base rate of direction: 'always up' scores this, so directional accuracy must beat it
        "up_share": _up_share(days[days["h"] == 1]),
        "up_share_last": _up_share(days[days["h"] == days["future"]]),
        "parsed_share": _round(len(known) / max(1, len(days))),
        "n": int(len(known)),
        "n_windows": int(days["id"].nunique()),
        "mae_by_day": {int(h): _round(g.abs().mean()) for h, g in err.groupby(known["h"])},
        "ci95": forecast_intervals(days),
    }
    return out


def forecast_intervals(days: pd.DataFrame, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """{metric: [low, high]} for MAE, RMSE, MAPE and MASE over the parsed days, resampling blocks of windows
    (each window alone, when `days` has no dates) with replacement; all resamples at once from per-block sums."""
    known = days[days["pred_close"].notna()]
    if known.empty:
        return {}
    groups = _blocks(days).reindex(known["id"]).to_numpy()
    err = (known["pred_close"] - known["actual_close"]).abs()
    scale = known["scale"] if "scale" in known else np.nan
    parts = pd.DataFrame({"abs": err, "sq": err**2, "ape": err / known["actual_close"] * 100, "ase": err / scale})
    parts["n"] = 1
    per_block = parts.groupby(groups).sum().to_numpy()
    draws = np.random.default_rng(seed).integers(0, len(per_block), size=(n_resamples, len(per_block)))
    sums = per_block[draws].sum(axis=1)  # (resamples, columns)
    n = sums[:, 4]
    values = {"mae": sums[:, 0] / n, "rmse": np.sqrt(sums[:, 1] / n), "mape": sums[:, 2] / n, "mase": sums[:, 3] / n}
    tail = (1 - level) / 2 * 100
    return {
        m: [_round(np.percentile(v, tail)), _round(np.percentile(v, 100 - tail))]
        for m, v in values.items()
        if np.isfinite(v).all()
    }


def _blocks(days: pd.DataFrame) -> pd.Series:
    """Window id -> its block: calendar blocks of one week per 5 predicted days of the longest horizon."""
    ids = days["id"].drop_duplicates()
    if "date" not in days:
        return pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    first_day = pd.to_datetime(days[days["h"] == 1].set_index("id")["date"], utc=True)
    block_days = 7 * int(np.ceil(days["future"].max() / 5))
    return (first_day - pd.Timestamp("1970-01-05", tz="UTC")).dt.days // block_days  # blocks start on Mondays


def naive_scales(bars: dict[str, pd.DataFrame], before) -> dict[str, float]:
    """MASE's scale per ticker: the mean absolute one-day change of the close on the bars before `before`."""
    cut = pd.Timestamp(before, tz="UTC")
    return {ticker: float(b.loc[b.index < cut, "close"].diff().abs().mean()) for ticker, b in bars.items()}


def forecast_metrics_by_window(days: pd.DataFrame) -> dict:
    """The metrics per (past, future) pair, keyed like '5->5', plus `all`."""
    out = {"all": forecast_metrics(days)}
    for (past, future), group in days.groupby(["past", "future"], sort=True):
        out[f"{past}->{future}"] = forecast_metrics(group)
    return out


def _direction(days: pd.DataFrame) -> float | None:
    predicted = np.sign(days["pred_close"] - days["last_close"])
    if days.empty or (predicted == 0).all():
        return None  # a no-change forecast calls no direction
    actual = np.sign(days["actual_close"] - days["last_close"])
    return _round((predicted == actual).mean())


def _up_share(days: pd.DataFrame) -> float | None:
    return _round((days["actual_close"] > days["last_close"]).mean()) if len(days) else None


def _round(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)
