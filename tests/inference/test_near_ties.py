"""Near ties: an approximate label that differs from the exact one always lies within the distortion, so re-scoring
the rows within a margin of it catches every flip on the rows the margin was measured on."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fintune.inference.near_ties import distortion, margins, near_tie_margin, near_ties


def _probs(rng, rows: int, classes: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    logits = rng.normal(0, 2, (rows, classes))
    noisy = logits + rng.standard_t(2, (rows, classes)) * scale  # heavy-tailed, as int8's error is
    softmax = lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)  # noqa: E731
    return softmax(logits), softmax(noisy)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), classes=st.integers(2, 5), scale=st.sampled_from([0.01, 0.1, 1.0]))
def test_every_flipped_label_has_an_approximate_margin_within_its_distortion(seed, classes, scale):
    exact, approx = _probs(np.random.default_rng(seed), 200, classes, scale)
    flipped = exact.argmax(1) != approx.argmax(1)
    assert np.all(margins(approx)[flipped] <= distortion(exact, approx)[flipped] + 1e-12)
    caught = near_ties(approx, near_tie_margin(exact, approx, quantile=1.0))  # the largest error: all flips caught
    assert set(np.flatnonzero(flipped)) <= set(caught)


def test_margin_is_the_quantile_of_the_distortion_and_rows_within_it_are_near_ties():
    exact = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8]])
    approx = np.array([[0.6, 0.3, 0.1], [0.42, 0.48, 0.1], [0.1, 0.1, 0.8]])  # the second row flipped
    assert np.allclose(distortion(exact, approx), [0.2, 0.16, 0.0])
    assert np.allclose(margins(approx), [0.3, 0.06, 0.7])
    assert np.isclose(near_tie_margin(exact, approx, quantile=1.0), 0.2)
    assert np.isclose(near_tie_margin(exact, approx, quantile=0.5), 0.16)
    assert near_ties(approx, 0.2).tolist() == [1]
    assert near_ties(approx, 0.3).tolist() == [0, 1]
    assert near_tie_margin(exact[:0], approx[:0]) == 0.0
    assert margins(np.ones((2, 1))).tolist() == [0.0, 0.0]
