"""Train < validation < test by time, for anything that pairs text with later prices.

Random splits would let a model learn next week's price from a post that sits in training while its
neighbour sits in test. Here every example belongs to the period its text was published in, training
examples whose label window reaches into a later split are purged, and an embargo leaves a gap of at least
the label horizon before each boundary. `check_time_split` is the guard a run always passes through.
"""

from __future__ import annotations

import pandas as pd

from fintune.errors import FintuneError


def split_by_time(
    frame: pd.DataFrame,
    validation_start: pd.Timestamp,
    test_start: pd.Timestamp,
    embargo: pd.Timedelta,
    test_end: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(train, validation, test, stats) from a frame with `timestamp` and `exit_time` (end of the label window)."""
    if not validation_start < test_start:
        raise FintuneError(f"data.validation_start ({validation_start}) must be before data.test_start ({test_start})")
    ts, exit_ = frame["timestamp"], frame["exit_time"]
    in_train = ts < validation_start
    in_val = (ts >= validation_start) & (ts < test_start)
    in_test = ts >= test_start if test_end is None else (ts >= test_start) & (ts < test_end)
    # Purge: a label window that ends inside the next split would leak that split's prices into training.
    train_ok = in_train & (ts < validation_start - embargo) & (exit_ <= validation_start)
    val_ok = in_val & (ts < test_start - embargo) & (exit_ <= test_start)
    train, val, test = frame[train_ok], frame[val_ok], frame[in_test]
    stats = {
        "n_train": len(train),
        "n_validation": len(val),
        "n_test": len(test),
        "purged_train": int((in_train & ~train_ok).sum()),
        "purged_validation": int((in_val & ~val_ok).sum()),
        "embargo": str(embargo),
        "periods": {
            "train": _span(train),
            "validation": _span(val),
            "test": _span(test),
        },
    }
    for name, part in (("train", train), ("validation", val), ("test", test)):
        if part.empty:
            raise FintuneError(
                f"the {name} period has no examples (data.validation_start {validation_start.date()}, "
                f"data.test_start {test_start.date()}, data covers {_span(frame)})"
            )
    check_time_split(train, val, test)
    return train.reset_index(drop=True), val.reset_index(drop=True), test.reset_index(drop=True), stats


def check_time_split(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame) -> None:
    """Fail if any earlier split's label window ends after a later split's first text was published."""
    for early_name, early, late_name, late in (
        ("training", train, "validation", validation),
        ("training", train, "test", test),
        ("validation", validation, "test", test),
    ):
        if early.empty or late.empty:
            continue
        late_start = late["timestamp"].min()
        leaking = early[early["exit_time"] > late_start]
        if len(leaking):
            row = leaking.iloc[0]
            raise FintuneError(
                f"look-ahead: {early_name} example {row.get('id')} ({row['timestamp']}) is labelled by prices up "
                f"to {row['exit_time']}, after the {late_name} period starts ({late_start}); "
                f"{len(leaking)} such examples. Raise data.embargo or move the split dates"
            )


def _span(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "nothing"
    return f"{frame['timestamp'].min():%Y-%m-%d %H:%M} .. {frame['timestamp'].max():%Y-%m-%d %H:%M}"


def limit_samples(train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, cfg, stats: dict):
    """data.max_train_samples keeps the most recent training examples (closest in time to what is predicted);
    data.max_eval_samples the first validation and test ones. `stats` (split_by_time's) is updated to count and
    date what was kept, so a subset run's data block says what it trained on; `n_<split>_in_period` keeps the
    count before the cut."""
    if cfg.max_train_samples:
        train = train.iloc[-cfg.max_train_samples :].reset_index(drop=True)
    if cfg.max_eval_samples:
        validation, test = validation.iloc[: cfg.max_eval_samples], test.iloc[: cfg.max_eval_samples]
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        if len(part) < stats[f"n_{name}"]:
            stats[f"n_{name}_in_period"] = stats[f"n_{name}"]
            stats[f"n_{name}"] = len(part)
            stats["periods"][name] = _span(part)
    return train, validation, test
