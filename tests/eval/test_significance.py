"""Bootstrap intervals: they contain the point estimate, shrink with more data, and match sklearn per resample."""

import numpy as np
from sklearn.metrics import f1_score, matthews_corrcoef

from fintune.eval import significance
from fintune.eval.metrics import classification_metrics

LABELS = ["down", "flat", "up"]


def _sample(n, seed=1, skill=0.6):
    rng = np.random.default_rng(seed)
    true = rng.choice(LABELS, size=n)
    pred = np.where(rng.random(n) < skill, true, rng.choice(LABELS, size=n))
    return list(true), list(pred)


def test_interval_contains_the_point_estimate_and_narrows_with_n():
    small, large = classification_metrics(*_sample(100), LABELS), classification_metrics(*_sample(2000), LABELS)
    for block in (small, large):
        for name in significance.CI_METRICS:
            low, high = block["ci95"][name]
            assert low <= block[name] <= high
    width = {name: b["ci95"]["accuracy"][1] - b["ci95"]["accuracy"][0] for name, b in (("s", small), ("l", large))}
    assert width["l"] < width["s"] / 2


def test_confusion_matrix_metrics_equal_sklearn():
    true, pred = _sample(300, seed=3)
    pred[:7] = ["<unparsed>"] * 7  # answers outside the labels count as wrong
    index = {label: i for i, label in enumerate(LABELS)}
    cm = np.zeros((1, 4, 4), dtype=int)
    for t, p in zip(true, pred):
        cm[0, index[t], index.get(p, 3)] += 1
    assert np.isclose(significance._f1_macro(cm, 3)[0], f1_score(true, pred, labels=LABELS, average="macro"))
    assert np.isclose(significance._mcc(cm, 3)[0], matthews_corrcoef(true, pred))
    assert np.isclose(significance._accuracy(cm, 3)[0], np.mean(np.array(true) == np.array(pred)))
