"""A causal LM on price windows: validation loss on the answer rows, and greedy forecasts parsed back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fintune.data.prompts import ChatFormat, encode_answer
from fintune.data.window_prompts import assistant_message, user_message
from fintune.data.windows import WindowSplits, future_bars, past_bars, window_news
from fintune.inference.forecast_parse import ParsedForecast, parse_forecast
from fintune.inference.generation import generate_answers
from fintune.progress import progress_bar
from fintune.train.answer_loss import answer_loss as mean_answer_loss


def window_messages(
    splits: WindowSplits, windows: pd.DataFrame, max_headlines: int = 10
) -> tuple[list[str], list[str]]:
    """(user turns, assistant turns) of each window, in order."""
    prompts, answers = [], []
    for _, w in windows.iterrows():
        bars = splits.bars[w["ticker"]]
        past, future = past_bars(bars, w), future_bars(bars, w)
        headlines = window_news(splits.news, w["ticker"], past, max_headlines)
        prompts.append(user_message(w["ticker"], past, list(future.index), splits.fields, headlines))
        answers.append(assistant_message(future, splits.fields))
    return prompts, answers


@torch.inference_mode()
def answer_loss(model, data, batch_size: int) -> float:
    """Mean cross-entropy per answer token over an `EncodedInstructions` set (prompt tokens carry no loss)."""
    model.eval()
    total, tokens = 0.0, 0
    device = next(model.parameters()).device
    with progress_bar("validation loss", len(data), "windows") as advance:
        for start in range(0, len(data), batch_size):
            idx = list(range(start, min(start + batch_size, len(data))))
            batch = {k: v.to(device) for k, v in data.collate(idx).items()}
            n = int((batch["labels"][:, 1:] != -100).sum())  # the model shifts labels by one
            total += float(mean_answer_loss(model, batch)) * n
            tokens += n
            advance(len(idx))
    return total / max(tokens, 1)


def generate_forecasts(model, tokenizer, splits: WindowSplits, windows: pd.DataFrame, cfg, chat: ChatFormat | None):
    """(generated texts, parsed forecasts) for `windows`, generated per (past, future) pair so each pair gets a
    token budget that fits its answer: the longest true answer of the pair plus a quarter, plus 8."""
    prompts, answers = window_messages(splits, windows, cfg.data.windows.max_headlines)
    texts: list[str] = [""] * len(windows)
    positions = np.arange(len(windows))
    for (past, future), rows in windows.reset_index(drop=True).groupby(["past", "future"]).groups.items():
        idx = positions[rows]
        budget = max(len(encode_answer(tokenizer, answers[i])) for i in idx)
        out = generate_answers(
            model,
            tokenizer,
            [prompts[i] for i in idx],
            int(budget * 1.25) + 8,
            cfg.eval.batch_size,
            cfg.data.max_length,
            chat,
            progress=f"forecasts {past}->{future}",
        )
        for i, text in zip(idx, out):
            texts[i] = text
    parsed: list[ParsedForecast] = []
    for (_, w), text in zip(windows.iterrows(), texts):
        expected = list(future_bars(splits.bars[w["ticker"]], w).index)
        parsed.append(parse_forecast(text, expected, splits.fields))
    return texts, parsed


def predicted_closes(splits: WindowSplits, windows: pd.DataFrame, parsed: list[ParsedForecast]) -> list[np.ndarray]:
    """Each window's predicted closes on its future days, NaN where a day was not parsed."""
    out = []
    for (_, w), forecast in zip(windows.iterrows(), parsed):
        days = future_bars(splits.bars[w["ticker"]], w).index.tz_localize(None).normalize()
        rows = forecast.rows.copy()
        rows.index = pd.DatetimeIndex(rows.index).normalize()
        out.append(rows["close"].reindex(days).to_numpy(dtype=float))
    return out
