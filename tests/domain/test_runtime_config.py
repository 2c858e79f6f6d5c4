import pytest
from hypothesis import given, settings, strategies as st

from exporter.domain import runtime_config as rc


def test_defaults_validate_cleanly():
    result = rc.validate(rc.defaults(), rc.defaults())
    assert result.ok and not result.warnings


def test_bad_values_name_the_field_and_keep_last_good():
    last = rc.defaults()
    result = rc.validate(
        {"insufficientDataThreshold": 1.5, "alertThresholds": {"consecutiveProbeFails": 0.5}, "severities": {"probe_fail": "P9"}},
        last,
    )
    assert result.config["insufficientDataThreshold"] == 0.8
    assert result.config["alertThresholds"]["consecutiveProbeFails"] == 2
    assert sorted(result.errors) == [
        "alertThresholds.consecutiveProbeFails: expected a whole number, got 0.5",
        "insufficientDataThreshold: must be <= 1, got 1.5 (range 0 .. 1)",
        "severities.probe_fail: expected one of P1, P2, P3, got 'P9'",
    ]


def test_booleans_are_not_numbers():
    result = rc.validate({"expectedAccounts": True}, rc.defaults())
    assert result.errors == ["expectedAccounts: expected a number, got bool True"]


def test_unknown_fields_are_warned_not_applied():
    result = rc.validate({"alertThresholds": {"missedHbPerHuor": 5}}, rc.defaults())
    assert result.ok
    assert result.warnings == ["alertThresholds.missedHbPerHuor: unknown field, ignored"]


def test_a_patch_is_rejected_whole_when_any_field_is_bad_or_read_only():
    current = rc.defaults()
    result = rc.validate_patch({"expectedAccounts": 4, "heartbeatIntervalSec": 30, "nope": 1}, current)
    assert not result.ok
    assert "heartbeatIntervalSec: read-only here; set the LONGRUN_* setting and redeploy every instance" in result.errors
    assert "nope: unknown field" in result.errors
    good = rc.validate_patch({"alertThresholds": {"reconnectLoop": 20}}, current)
    assert good.ok and good.config["alertThresholds"]["reconnectLoop"] == 20
    assert good.config["alertThresholds"]["missedHbPerHour"] == 3


def test_retention_may_be_disabled_with_null():
    result = rc.validate({"retention": {"rollupsDays": None, "heartbeatsDays": 0}}, rc.defaults())
    assert result.errors == ["retention.heartbeatsDays: must be >= 1, got 0 (range 1 .. 3650)"]
    assert result.config["retention"]["rollupsDays"] is None


def test_thresholds_flatten_for_the_exporter():
    flat = rc.thresholds(rc.defaults())
    assert flat["missedHbPerHour"] == 3.0 and flat["insufficientDataThreshold"] == 0.8


NUMERIC = [path for path, check in rc.FIELDS.items() if check(1) is None or check(1.0) is None]


@pytest.mark.parametrize("path", NUMERIC)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10**400, 1e300, -1e300])
def test_every_numeric_field_refuses_non_finite_and_huge_values_naming_field_and_range(path, value):
    defaults = rc.defaults()
    candidate = {}
    rc.set_path(candidate, path, value)
    result = rc.validate(candidate, last_good=defaults)
    assert len(result.errors) == 1 and result.errors[0].startswith(f"{path}: ")
    assert "range" in result.errors[0]
    assert rc.get_path(result.config, path) == rc.get_path(defaults, path)


@given(st.one_of(st.floats(), st.integers(), st.text(max_size=8), st.none(), st.booleans()))
@settings(max_examples=200, deadline=None)
def test_any_value_in_any_field_is_accepted_or_named_never_raised(value):
    for path in rc.FIELDS:
        candidate = {}
        rc.set_path(candidate, path, value)
        result = rc.validate(candidate, last_good=rc.defaults())
        assert all(e.startswith(path) for e in result.errors)


def test_probe_pass_targets_are_the_runbooks_per_type():
    targets = rc.defaults()["targets"]
    assert targets["probePassPct"] == {"outbound": 95.0, "inbound": 95.0, "queue": 98.0}
    assert targets["coveragePct"] == 99.0
