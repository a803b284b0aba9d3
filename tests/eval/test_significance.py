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
    weighted = f1_score(true, pred, labels=LABELS, average="weighted")
    assert np.isclose(significance._f1_weighted(cm, 3)[0], weighted)
    assert np.isclose(significance._mcc(cm, 3)[0], matthews_corrcoef(true, pred))
    assert np.isclose(significance._accuracy(cm, 3)[0], np.mean(np.array(true) == np.array(pred)))


def test_one_example_per_group_is_the_plain_bootstrap():
    from fintune.eval.significance import bootstrap_ci

    rng = np.random.default_rng(1)
    y_true = list(rng.choice(["down", "up"], 200))
    y_pred = list(rng.choice(["down", "up"], 200))
    plain = bootstrap_ci(y_true, y_pred, ["down", "up"])
    assert bootstrap_ci(y_true, y_pred, ["down", "up"], groups=np.arange(200)) == plain


def test_resampling_whole_days_widens_intervals_when_a_day_shares_its_outcome():
    from fintune.eval.significance import bootstrap_ci

    rng = np.random.default_rng(2)
    days = np.repeat(np.arange(20), 30)  # 20 days of 30 posts; every post of a day is right or wrong together
    right = np.repeat(rng.random(20) < 0.5, 30)
    y_true = ["up"] * len(days)
    y_pred = ["up" if r else "down" for r in right]
    plain = bootstrap_ci(y_true, y_pred, ["down", "up"])["accuracy"]
    by_day = bootstrap_ci(y_true, y_pred, ["down", "up"], groups=days)["accuracy"]
    assert (by_day[1] - by_day[0]) > 3 * (plain[1] - plain[0])
