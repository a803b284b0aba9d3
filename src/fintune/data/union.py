"""`data.source: [fpb, fiqa-sa, tfns, nwgi]`: one training set from several datasets, FinGPT-style.

Each dataset keeps its own published (or carved) test split, so results stay comparable per dataset; every row
carries a `dataset` column saying where it came from. What the union adds over one dataset is leakage across
datasets: the same headline can sit in FPB's test split and in TFNS's training split. So training and validation
texts are checked against the test texts of *every* listed dataset, not only their own, and the copies dropped
are counted (`dropped_across_datasets`).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from fintune.config import DataConfig
from fintune.data.dataset import LabeledSplits
from fintune.data.splits import drop_keys, eval_subset, normalise
from fintune.errors import FintuneError

DATASET_COLUMN = "dataset"


def union_splits(cfg: DataConfig, load_one: Callable[[str], LabeledSplits]) -> LabeledSplits:
    """The splits of every name in `cfg.source`, each loaded uncapped by `load_one`, joined and cross-deduplicated.

    `data.max_eval_samples` caps each dataset's validation and test (N drawn with split_seed, as for one dataset), so
    every dataset stays in the evaluation; `data.max_train_samples` caps the shuffled union of the training splits.
    """
    parts = [load_one(name) for name in cfg.source]
    labels = _shared_labels(parts)
    test = pd.concat([eval_subset(_tagged(p.test, p.name), cfg) for p in parts], ignore_index=True)
    test_keys = set(test["text"].map(normalise))
    validations, trains, per_dataset = [], [], {}
    stats = {"dropped_train_in_test": 0, "dropped_validation_in_test": 0, "dropped_train_in_validation": 0}
    for part in parts:
        for key in stats:
            stats[key] += part.stats.get(key, 0)
        validation, v_drop = drop_keys(_tagged(part.validation, part.name), test_keys)
        validations.append(eval_subset(validation, cfg))
        train, t_drop = drop_keys(_tagged(part.train, part.name), test_keys)
        trains.append(train)
        # a dataset's own test texts were dropped by its own split already: what is dropped here is another's
        stats["dropped_validation_in_test"] += v_drop
        stats["dropped_train_in_test"] += t_drop
        per_dataset[part.name] = {"dropped_across_datasets": v_drop + t_drop}
    validation = pd.concat(validations, ignore_index=True)
    train, tv_drop = drop_keys(pd.concat(trains, ignore_index=True), set(validation["text"].map(normalise)))
    # one shuffle of the whole union, so a capped or an early-stopped run still sees every dataset
    train = train.sample(frac=1.0, random_state=cfg.split_seed).iloc[: cfg.max_train_samples]
    for name, counts in per_dataset.items():
        counts.update(
            n_train=int((train[DATASET_COLUMN] == name).sum()),
            n_validation=int((validation[DATASET_COLUMN] == name).sum()),
            n_test=int((test[DATASET_COLUMN] == name).sum()),
        )
    cross = sum(c["dropped_across_datasets"] for c in per_dataset.values())
    stats.update(
        dropped_across_datasets=cross,
        dropped_train_in_validation=stats["dropped_train_in_validation"] + tv_drop,
        n_train=len(train),
        n_validation=len(validation),
        n_test=len(test),
        datasets=per_dataset,
    )
    files = [f for p in parts for f in p.files]
    name = "+".join(p.name for p in parts)
    return LabeledSplits(name, labels, train.reset_index(drop=True), validation, test, files, stats)


def _shared_labels(parts: list[LabeledSplits]) -> list[str]:
    """The first dataset's label order; every other dataset's labels must be among them (by name)."""
    first = parts[0]
    for part in parts[1:]:
        used = set(part.labels) | set(part.train["label"]) | set(part.test["label"])
        extra = sorted(used - set(first.labels))
        if extra:
            raise FintuneError(
                f"data.source: dataset '{part.name}' has labels {extra} that '{first.name}' does not "
                f"({first.labels}); list datasets with the same label names (a file can rename with data.label_map)"
            )
    return list(first.labels)


def _tagged(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame.assign(**{DATASET_COLUMN: name})
