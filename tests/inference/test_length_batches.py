"""Batches by token count: every text once, shortest first, and cut only where padding or size says so."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fintune.inference.length_batches import length_batches

lengths_lists = st.lists(st.integers(min_value=1, max_value=128), max_size=300)


def _padding(widths) -> float:
    return 1 - sum(widths) / (max(widths) * len(widths))


@settings(max_examples=200, deadline=None)
@given(lengths=lengths_lists, max_texts=st.integers(min_value=1, max_value=64))
def test_every_text_once_in_length_order_and_no_batch_over_max_texts(lengths, max_texts):
    batches = length_batches(lengths, max_texts)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert np.all(np.diff(np.asarray(lengths, dtype=int)[flat.astype(int)]) >= 0)
    assert all(1 <= len(b) <= max_texts for b in batches)


@settings(max_examples=200, deadline=None)
@given(lengths=lengths_lists, max_padding=st.sampled_from([0.0, 0.02, 0.2]), min_tokens=st.sampled_from([1, 256]))
def test_a_batch_pads_little_unless_it_was_too_small_and_ends_only_for_a_reason(lengths, max_padding, min_tokens):
    lengths = np.asarray(lengths, dtype=int)
    batches = length_batches(lengths, 32, max_padding, min_tokens)
    for batch in batches:
        widths = lengths[batch]
        held = widths[-2] * (len(widths) - 1) if len(widths) > 1 else 0  # before its last text came in
        assert _padding(widths) <= max_padding + 1e-12 or held < min_tokens
    for batch, after in zip(batches, batches[1:]):  # the next text would have broken a limit
        widths = lengths[np.append(batch, after[0])]
        full = len(batch) == 32
        assert full or (_padding(widths) > max_padding and widths[-2] * len(batch) >= min_tokens)


def test_fpb_like_lengths_pad_far_less_than_fixed_batches():
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.normal(30, 12, 1200).round(), 4, 98).astype(int)  # FPB test's shape: mean 30, long tail
    fixed = [np.sort(lengths)[i : i + 32] for i in range(0, len(lengths), 32)]
    cut = [lengths[b] for b in length_batches(lengths, 32)]
    positions = lambda batches: sum(b.max() * len(b) for b in batches)  # noqa: E731
    assert positions(cut) / lengths.sum() - 1 < 0.02 < positions(fixed) / lengths.sum() - 1
    assert len(cut) < 2 * len(fixed)  # and still batches, not one text at a time


def test_no_texts_no_batches():
    assert length_batches([], 32) == []
