"""The forecast verdict compares the model with naive_last on the days the model parsed, not on every day."""

from fintune.report.forecast_report import verdict


def _metrics(naive_all: float, naive_same: float | None, ci: list | None = None) -> dict:
    naive = {"by_window": {"all": {"mae": naive_all}}}
    if naive_same is not None:
        naive["on_model_days"] = {"all": {"mae": naive_same}}
    model = {"mae": 5.0, "n": 40, **({"ci95": {"mae": ci}} if ci else {})}
    return {"test": {"by_window": {"all": model}}, "baselines": {"naive_last": naive}}


def test_the_same_days_decide_the_verdict():
    # over all 55 days naive_last errs more, over the model's 40 days less: the 40 decide
    assert "does not beat naive_last on close MAE (5.0000 vs 4.0000, on the 40 days" in verdict(_metrics(6.0, 4.0))
    assert "the model beats naive_last (no interval)" in verdict(_metrics(4.0, 6.0))


def test_a_run_from_before_on_model_days_falls_back_to_all_days():
    assert "(5.0000 vs 6.0000" in verdict(_metrics(6.0, None))


def test_a_win_is_beyond_the_interval_only_when_the_whole_interval_is_below_naive():
    assert "beats naive_last beyond its interval on close MAE (5.0000 [4.5000, 5.5000] vs 6.0000" in verdict(
        _metrics(6.0, 6.0, [4.5, 5.5])
    )
    assert "beats naive_last within its interval" in verdict(_metrics(6.0, 6.0, [4.0, 6.5]))
    assert "does not beat naive_last on close MAE (5.0000 [4.0000, 6.5000] vs 4.0000" in verdict(
        _metrics(4.0, 4.0, [4.0, 6.5])
    )
