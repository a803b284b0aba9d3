"""A run's peak memory is its own, also when an earlier run in the same process (a sweep) used more."""

import sys

import pytest

from fintune.train.memory import peak_rss_mb, reset_peak_rss


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak can only be reset on Linux")
def test_reset_forgets_an_earlier_larger_peak():
    reset_peak_rss()
    before = peak_rss_mb()
    block = bytearray(400 * 2**20)  # touched on allocation: 400 MiB resident
    assert peak_rss_mb() >= before + 350
    del block
    reset_peak_rss()
    assert peak_rss_mb() < before + 200
