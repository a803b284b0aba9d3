"""Backtest arithmetic checked by hand."""

import numpy as np
import pytest

from fintune.eval.backtest import buy_and_hold, run_backtest


def test_positions_compound_only_while_held():
    result = run_backtest([1, 0, 1], [0.1, -0.1, 0.05])
    assert result["total_return"] == pytest.approx(1.1 * 1.05 - 1)
    assert result["hit_rate"] == 1.0 and result["turnover"] == 3.0 and result["n_periods"] == 3


def test_costs_come_out_of_each_change():
    result = run_backtest([1, 1, -1], [0.02, 0.01, -0.03], cost_bps=10)
    expected = (1 + 0.02 - 0.001) * (1 + 0.01) * (1 + 0.03 - 0.002) - 1  # entry 1, flip 2 units
    assert result["total_return"] == pytest.approx(expected)
    assert result["turnover"] == 3.0


def test_drawdown_is_the_worst_fall_from_a_peak_and_negative():
    result = run_backtest([1, 1, 1, 1], [0.5, -0.5, 0.2, 0.1])
    assert result["max_drawdown"] == pytest.approx(-0.5)
    assert run_backtest([1, 1], [-0.1, 0.0])["max_drawdown"] == pytest.approx(-0.1)  # a loss from the start


def test_constant_returns_have_no_volatility_and_sharpe_zero():
    result = run_backtest([1, 1, 1], [0.01, 0.01, 0.01])
    assert result["annual_volatility"] == 0.0 and result["sharpe"] == 0.0


def test_buy_and_hold_is_compounding_minus_one_entry():
    returns = np.array([0.01, -0.02, 0.03])
    result = buy_and_hold(returns, cost_bps=5)
    assert result["total_return"] == pytest.approx((1.01 - 0.0005) * 0.98 * 1.03 - 1)
    assert result["annual_return"] == pytest.approx((1 + result["total_return"]) ** (252 / 3) - 1)


def test_sharpe_is_annualised_mean_over_std():
    returns = [0.01, -0.005, 0.02, 0.0]
    result = run_backtest([1, 1, 1, 1], returns, periods_per_year=365)
    assert result["sharpe"] == pytest.approx(np.mean(returns) / np.std(returns, ddof=1) * np.sqrt(365))


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 positions for 3 period returns"):
        run_backtest([1, 0], [0.1, 0.2, 0.3])
