"""Contextual calibration: the prior's own distribution becomes uniform, and the report inverts it exactly."""

import numpy as np
import pytest

from fintune.eval.calibration import calibration_report
from fintune.inference.calibration import calibrate, uncalibrate

LABELS = ["negative", "neutral", "positive"]


def test_calibration_removes_the_prior_and_is_invertible():
    prior = np.array([0.8, 0.15, 0.05])
    assert calibrate(prior[None], prior) == pytest.approx(np.full((1, 3), 1 / 3))
    rng = np.random.default_rng(0)
    raw = rng.dirichlet(np.ones(3), size=20)
    np.testing.assert_allclose(uncalibrate(calibrate(raw, prior), prior), raw, rtol=1e-12)


def test_the_report_scores_a_model_with_a_strong_prior_both_ways():
    # Every raw row prefers 'negative' (the prior), but relative to the prior the true label stands out.
    prior = np.array([0.8, 0.15, 0.05])
    y = ["negative", "neutral", "positive", "neutral"]
    lift = np.array([[2.0, 1, 1], [1, 2.0, 1], [1, 1, 2.0], [1, 2.0, 1]])
    raw = lift * prior
    raw /= raw.sum(axis=1, keepdims=True)
    report = calibration_report("none", raw, y, LABELS, prior)
    assert report["validation"]["none"]["accuracy"] == 0.25  # only the true 'negative' row
    assert report["validation"]["content_free"]["accuracy"] == 1.0
    same = calibration_report("content_free", calibrate(raw, prior), y, LABELS, prior)
    assert same["validation"] == report["validation"]
