"""A shown percentage is floored to its precision: 100.00% only when nothing was missed."""

import math

import pytest

from exporter.domain.percent import PRECISION, floor_percent


@pytest.mark.parametrize("ratio, shown", [
    (1.0, "100.00%"), (0.99999, "99.99%"), (1439 / 1440, "99.93%"), (0.29, "29.00%"), (0.0, "0.00%"),
    (60 / 1440, "4.16%"), (0.5, "50.00%"),
])
def test_floored_never_rounded_up(ratio, shown):
    assert floor_percent(ratio) == shown


@pytest.mark.parametrize("ratio", [None, math.nan, math.inf, True, "0.5"])
def test_nothing_to_show_is_none_never_zero(ratio):
    assert floor_percent(ratio) is None


def test_one_precision_for_uptime_and_coverage():
    assert PRECISION == 2 and floor_percent(0.123456, digits=3) == "12.345%"
