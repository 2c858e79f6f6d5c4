from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.domain.stats import Percentiles, mttr_percentiles, pass_rate_pct, percentile

# Nearest rank: rank = ceil(p/100 * n), 1-based.
WIKI = [15, 20, 35, 40, 50]  # the textbook nearest-rank example


@pytest.mark.parametrize("p,expected", [
    (0, 15), (5, 15), (30, 20), (40, 20), (50, 35), (90, 50), (100, 50)])
def test_nearest_rank_percentiles_match_hand_values(p, expected):
    assert percentile(WIKI, p) == expected


def test_percentile_ignores_input_order_and_never_interpolates():
    values = [300, 60, 120, 30, 600, 90, 45, 240, 180, 75]  # sorted: 30 45 60 75 90 120 180 240 300 600
    assert percentile(values, 50) == 90    # rank 5
    assert percentile(values, 90) == 300   # rank 9
    assert percentile(values, 95) == 600   # rank ceil(9.5) = 10


def test_percentile_of_twenty_values_is_not_pushed_up_by_float_noise():
    values = list(range(1, 21))
    assert percentile(values, 95) == 19  # 0.95 * 20 = 19.000000000000004 in floats


def test_percentile_of_nothing_is_none_and_p_is_checked():
    assert percentile([], 50) is None
    assert percentile([7], 99) == 7
    with pytest.raises(ValueError):
        percentile([1], 101)
    with pytest.raises(ValueError):
        percentile([1], -1)


def test_mttr_percentiles_skip_unusable_values():
    junk = [None, "90", float("nan"), float("inf"), -5, True]
    assert mttr_percentiles([30, 60, 90, 600] + junk) == Percentiles(60, 600, 600)
    assert mttr_percentiles([]) == Percentiles(None, None, None)
    assert mttr_percentiles(junk) == Percentiles(None, None, None)


def test_pass_rate_excludes_skips_by_construction_and_is_none_without_runs():
    assert pass_rate_pct(99, 1) == 99.0
    assert pass_rate_pct(0, 3) == 0.0
    assert pass_rate_pct(0, 0) is None


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50),
       st.floats(min_value=0, max_value=100))
def test_percentile_is_an_observed_value_between_min_and_max(values, p):
    result = percentile(values, p)
    assert result in values
    assert min(values) <= result <= max(values)
    at_least = sum(v <= result for v in values)
    assert at_least >= math.ceil(p / 100 * len(values) - 1e-9)
