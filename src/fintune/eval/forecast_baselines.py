"""Forecasts without a language model, on the very windows the LLM gets: what it has to beat.

- `naive_last`: every future close is the last known close (a random walk's best guess).
- `naive_drift`: the window's average daily move, from its first open to its last close, continued.
- `lstm`: a small LSTM per (past, future) pair, trained on the training windows (early stopping on
  validation), reading each past day as log prices relative to the last close and log volume relative to
  the window's mean, writing the log returns of the next closes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from fintune.data.windows import future_bars, past_bars


def days_frame(
    bars: dict[str, pd.DataFrame], windows: pd.DataFrame, predicted: np.ndarray | list, scales: dict[str, float]
) -> pd.DataFrame:
    """The long form scored by `forecast_metrics`: one row per (window, future day); `predicted[i]` holds
    window i's future closes (NaN where a day has no prediction); `scales` MASE's scale per ticker."""
    rows = []
    for (_, w), closes in zip(windows.iterrows(), predicted):
        past, future = past_bars(bars[w["ticker"]], w), future_bars(bars[w["ticker"]], w)
        last = float(past["close"].iloc[-1])
        for h, (date, actual) in enumerate(future["close"].items(), start=1):
            scale = scales[w["ticker"]]
            rows.append(
                (w["id"], w["ticker"], w["past"], w["future"], h, date, last, float(actual), closes[h - 1], scale)
            )
    columns = ["id", "ticker", "past", "future", "h", "date", "last_close", "actual_close", "pred_close", "scale"]
    return pd.DataFrame(rows, columns=columns)


def naive_last(bars, train, validation, test) -> np.ndarray | list:
    return [np.full(w["future"], past_bars(bars[w["ticker"]], w)["close"].iloc[-1]) for _, w in test.iterrows()]


def naive_drift(bars, train, validation, test) -> list:
    out = []
    for _, w in test.iterrows():
        past = past_bars(bars[w["ticker"]], w)
        last = past["close"].iloc[-1]
        daily = np.log(last / past["open"].iloc[0]) / len(past)
        out.append(last * np.exp(daily * np.arange(1, w["future"] + 1)))
    return out


def window_features(bars: pd.DataFrame, window: pd.Series) -> np.ndarray:
    """(past days, 5): log open/high/low/close over the last close, log volume over the window's mean."""
    past = past_bars(bars, window)
    last = past["close"].iloc[-1]
    prices = np.log(past[["open", "high", "low", "close"]].to_numpy() / last)
    volume = np.log(past["volume"].to_numpy() / past["volume"].mean())[:, None]
    return np.hstack([prices, volume]).astype(np.float32)


def window_targets(bars: pd.DataFrame, window: pd.Series) -> np.ndarray:
    last = past_bars(bars, window)["close"].iloc[-1]
    return np.log(future_bars(bars, window)["close"].to_numpy() / last).astype(np.float32)


class _Net(nn.Module):
    def __init__(self, future: int, hidden: int = 32):
        super().__init__()
        self.lstm = nn.LSTM(5, hidden, batch_first=True)
        self.head = nn.Linear(hidden, future)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def lstm(bars, train, validation, test, seed: int = 0, max_epochs: int = 60, patience: int = 6) -> list:
    """One LSTM per (past, future) pair; the epoch with the lowest validation error is kept."""
    out: dict[int, np.ndarray] = {}
    for (past, future), test_part in test.groupby(["past", "future"], sort=True):
        fit_part = train[(train["past"] == past) & (train["future"] == future)]
        val_part = validation[(validation["past"] == past) & (validation["future"] == future)]
        net = _fit(bars, fit_part, val_part, future, seed, max_epochs, patience)
        x = _stack(window_features, bars, test_part)
        with torch.no_grad():
            returns = net(x).numpy() * net.scale
        last = np.array([past_bars(bars[w["ticker"]], w)["close"].iloc[-1] for _, w in test_part.iterrows()])
        for i, row in enumerate(test_part.index):
            out[row] = last[i] * np.exp(returns[i])
    return [out[i] for i in test.index]


def _fit(bars, train, validation, future, seed, max_epochs, patience) -> _Net:
    torch.manual_seed(seed)
    x, y = _stack(window_features, bars, train), _stack(window_targets, bars, train)
    vx, vy = _stack(window_features, bars, validation), _stack(window_targets, bars, validation)
    scale = float(y.std()) or 1.0  # targets of a few tenths of a percent train badly unscaled
    net, generator = _Net(future), torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    best, best_state, waited = float("inf"), None, 0
    for _ in range(max_epochs):
        net.train()
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.mse_loss(net(x[batch]), y[batch] / scale).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            loss = float(nn.functional.mse_loss(net(vx), vy / scale))
        if loss < best:
            best, best_state, waited = loss, {k: v.clone() for k, v in net.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= patience:
                break
    net.load_state_dict(best_state)
    net.scale = scale
    return net


def _stack(fn, bars, windows: pd.DataFrame) -> torch.Tensor:
    return torch.from_numpy(np.stack([fn(bars[w["ticker"]], w) for _, w in windows.iterrows()]))


FORECAST_BASELINES = {"naive_last": naive_last, "naive_drift": naive_drift, "lstm": lstm}
