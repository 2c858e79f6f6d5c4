from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain_builders import DAY_START, at, day_docs, hb
from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.incidents import new_incident, resolve
from exporter.domain.report import (
    FAIL, INSUFFICIENT_DATA, PASS, SloTargets, build_reports, build_window_report, verify_decision)
from exporter.domain.rollup import compute_rollup
from exporter.domain.slots import day_bounds

LAST = date(2026, 3, 10)


def figures(day, *, down=0.0, unknown=0.0, probes=None, max_gap=60.0):
    """A rollup-like dict for one day at the 60 s cadence."""
    written = 1440 - unknown
    return {"date": day.isoformat(), "expectedHb": 1440, "writtenHb": written,
            "upMinutes": written - down, "downMinutes": down, "unknownMinutes": unknown,
            "maxGapSec": max_gap, "probeCounts": probes or {"outbound": {"PASS": 4, "FAIL": 0, "SKIP": 0}}}


def week(**kw):
    return [figures(LAST - timedelta(days=n), **kw) for n in range(7)]


def resolved(minutes_after_start, start=None, kind="missed_heartbeat"):
    start = start or at(9, day=LAST)
    return resolve(new_incident(kind, "heartbeat", start), start + timedelta(seconds=minutes_after_start))


def report(daily, incidents=(), days=7, **kw):
    return build_window_report(days, LAST, daily, incidents, **kw)


def test_seven_good_days_pass():
    r = report(week(), [resolved(60), resolved(90, start=at(3, day=LAST))])
    assert (r.verdict, r.reasons, r.failures) == (PASS, (), ())
    assert (r.uptime_pct, r.coverage, r.max_gap_sec) == (100.0, 1.0, 60.0)
    assert (r.first_day, r.last_day, len(r.days_with_data)) == (LAST - timedelta(days=6), LAST, 7)
    assert (r.mttr.p50, r.incidents_count, r.incidents_by_type) == (60, 2, {"missed_heartbeat": 2})
    assert r.probe_pass_rates == {"outbound": 100.0, "inbound": None, "queue": None}


def test_uptime_below_the_window_target_fails_and_names_it():
    r = report(week(down=20))  # 1 - 20/1440 = 98.61 % < 99.0 %
    assert r.verdict == FAIL
    assert r.uptime_pct == pytest.approx(100 * (1 - 20 / 1440))
    assert len(r.failures) == 1 and r.failures[0].startswith("uptime 98.61% below target 99.0%")


def test_each_window_has_its_own_uptime_target():
    daily = [figures(LAST - timedelta(days=n), down=10) for n in range(30)]  # 99.31 %
    verdicts = {r.days: r.verdict for r in build_reports(LAST, daily, [])}
    assert verdicts == {7: PASS, 30: FAIL, 90: INSUFFICIENT_DATA, 180: INSUFFICIENT_DATA}


def test_probe_pass_rate_below_target_fails_per_type():
    probes = {"outbound": {"PASS": 14, "FAIL": 0, "SKIP": 3}, "queue": {"PASS": 6, "FAIL": 1, "SKIP": 0}}
    r = report(week(probes=probes))
    assert r.verdict == FAIL
    assert r.probe_pass_rates["queue"] == pytest.approx(600 / 7)
    assert r.probe_counts["outbound"] == {"PASS": 98, "FAIL": 0, "SKIP": 21}
    assert [f.split()[0] for f in r.failures] == ["queue"]


def test_slow_repairs_fail_the_mttr_targets_by_percentile():
    incidents = [resolved(60)] * 9 + [resolved(900)]
    r = report(week(), incidents)
    assert (r.mttr.p50, r.mttr.p90, r.mttr.p95) == (60, 60, 900)
    assert r.failures == ("MTTR P95 900s above target 600s",)


def test_incidents_are_counted_by_start_and_timed_by_resolution_in_the_window():
    before = day_bounds(date(2026, 3, 4))[0] - timedelta(hours=1)  # the window starts on the 4th
    incidents = [resolved(7200, start=before),  # resolved inside: MTTR counts, start does not
                 new_incident("logged_out", "accounts", at(5, day=LAST))]
    r = report(week(), incidents)
    assert (r.incidents_count, r.incidents_by_severity, r.mttr.p50) == (1, {"P1": 1}, 7200)


def test_a_missing_day_is_listed_as_unknown_never_as_zero():
    daily = week()
    del daily[3]
    r = report(daily)
    assert r.missing_days == (LAST - timedelta(days=3),)
    assert (r.uptime_pct, r.unknown_minutes, r.up_minutes) == (100.0, 1440, 6 * 1440)
    assert r.verdict == PASS  # 6 of 7 days is enough at the default 0.8


def test_too_few_days_with_data_is_insufficient():
    r = report(week()[:5])
    assert r.verdict == INSUFFICIENT_DATA
    assert r.reasons == ("5 of 7 days have a usable rollup (need 6)",)


def test_low_heartbeat_coverage_is_insufficient_even_with_bad_uptime():
    r = report(week(unknown=500, down=100))
    assert r.verdict == INSUFFICIENT_DATA
    assert "coverage 65.28% below 80%" in r.reasons[0]
    assert r.failures  # the missed target is still named for whoever looks


def test_uptime_is_weighted_by_known_minutes_not_averaged_per_day():
    daily = week()[:5] + [figures(LAST - timedelta(days=5), unknown=720, down=72),
                          figures(LAST - timedelta(days=6), unknown=720, down=72)]
    r = report(daily, coverage_threshold=0.5)
    up, known = 5 * 1440 + 2 * 648, 5 * 1440 + 2 * 720
    assert r.uptime_pct == pytest.approx(100 * up / known)
    assert r.coverage == pytest.approx(known / (7 * 1440))


def test_malformed_rollups_are_counted_and_treated_as_missing():
    daily = week()
    daily[0] = {"date": LAST.isoformat(), "expectedHb": "many"}
    daily[1] = dict(daily[1], writtenHb=2000)  # more written than expected
    r = report(daily + [None, {"date": 20260301}])
    assert (r.malformed_days, len(r.days_with_data), r.unknown_minutes) == (2, 5, 2 * 1440)
    assert r.verdict == INSUFFICIENT_DATA


def test_original_style_rollups_are_read_from_uptime_pct():
    old = [{"date": (LAST - timedelta(days=n)).isoformat(), "expectedHb": 1440, "writtenHb": 1440,
            "uptimePct": 99.5, "numericCoverage": 1.0} for n in range(7)]
    r = report(old)
    assert r.uptime_pct == pytest.approx(99.5)
    assert r.verdict == PASS


def test_rollups_from_compute_rollup_feed_the_report():
    daily = []
    for n in range(7):
        day = LAST - timedelta(days=n)
        start, end = day_bounds(day)
        docs = day_docs(start=start, down=range(5) if n == 0 else ())
        hb_result = analyze_heartbeats(docs, start, end, 60)
        daily.append(compute_rollup(day, hb_result, [], [], interval=60, insufficient_threshold=0.8,
                                    commit="c", service_version="v", created_at=end))
    r = report(daily)
    assert r.verdict == PASS
    assert r.uptime_pct == pytest.approx(100 * (1 - 5 / (7 * 1440)))


def test_custom_targets_apply():
    r = report(week(down=20), targets=SloTargets(uptime_pct={7: 98.0}))
    assert (r.target_uptime_pct, r.verdict) == (98.0, PASS)


def test_report_to_dict_lists_missing_days_explicitly():
    data = report(week()[1:]).to_dict()
    assert data["missingDays"] == ["2026-03-10"] and data["daysWithData"] == 6
    assert data["verdict"] == PASS and data["reasons"] == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 1440), st.integers(0, 1440))),
                min_size=7, max_size=7))
def test_every_minute_of_the_window_is_up_down_or_unknown(days):
    daily = []
    for n, spec in enumerate(days):
        if spec is not None:
            unknown = min(spec)
            daily.append(figures(LAST - timedelta(days=n), unknown=unknown, down=min(max(spec) - unknown, 1440 - unknown)))
    r = report(daily)
    assert r.up_minutes + r.down_minutes + r.unknown_minutes == pytest.approx(7 * 1440)
    assert r.uptime_pct is None or 0 <= r.uptime_pct <= 100
    assert r.verdict in (PASS, FAIL, INSUFFICIENT_DATA)
    if len(r.days_with_data) < 6:
        assert r.verdict == INSUFFICIENT_DATA


# ------------------------------------------------------------------ verify

HOUR = (at(8), at(9))


def test_verify_passes_a_clean_hour():
    assert verify_decision(analyze_heartbeats(day_docs(), *HOUR, 60)) == (0, [])


def test_verify_reports_insufficient_coverage_with_exit_2():
    result = analyze_heartbeats(day_docs(missing=range(480, 500)), *HOUR, 60)  # 40 of 60
    code, reasons = verify_decision(result)
    assert code == 2
    assert reasons[0].startswith("coverage 66.67% below 80% (40/60 heartbeats")


def test_verify_fails_on_a_gap_over_two_intervals():
    assert verify_decision(analyze_heartbeats(day_docs(missing=[500]), *HOUR, 60))[0] == 0  # gap 120
    code, reasons = verify_decision(analyze_heartbeats(day_docs(missing=[500, 501]), *HOUR, 60))
    assert (code, reasons) == (1, ["max gap 180s above 120s"])
    assert verify_decision(analyze_heartbeats(day_docs(missing=[500, 501]), *HOUR, 60),
                           max_gap_limit=180)[0] == 0


def test_verify_fails_on_duplicate_misaligned_or_malformed_documents():
    docs = day_docs()[480:540]
    for extra in ([docs[19]], [{"bucketId": "2026-03-10T08-30-30", "ts": at(8, 30, 30)}], [{"ts": at(8)}]):
        code, reasons = verify_decision(analyze_heartbeats(docs[:20] + extra + docs[20:], *HOUR, 60))
        assert code == 1 and len(reasons) == 1


def test_verify_limit_scales_with_a_second_scale_interval():
    start = DAY_START
    docs = [hb(start + timedelta(seconds=i), lag=0.01) for i in range(60) if i not in (30, 31)]
    result = analyze_heartbeats(docs, start, start + timedelta(seconds=60), 1)
    assert verify_decision(result) == (1, ["max gap 3s above 2s"])


HISTORY = day_bounds(LAST - timedelta(days=30))[0]  # monitoring started long before the window


def test_a_whole_day_without_data_after_history_started_counts_as_missed_and_fails_coverage():
    daily = week()
    del daily[3]
    r = report(daily, history_start=HISTORY)
    assert (r.expected_hb, r.written_hb) == (7 * 1440, 6 * 1440)
    assert r.coverage == pytest.approx(6 / 7)
    assert r.verdict == FAIL and "heartbeat coverage 85.71% below target 99%" in r.failures


def test_a_four_hour_hole_in_a_week_misses_the_coverage_target():
    daily = week()
    daily[2] = figures(LAST - timedelta(days=2), unknown=240, max_gap=241 * 60)
    r = report(daily, history_start=HISTORY)
    assert r.coverage == pytest.approx((7 * 1440 - 240) / (7 * 1440))
    assert r.uptime_pct == 100.0 and r.verdict == FAIL
    assert r.failures == ("heartbeat coverage 97.61% below target 99%",)  # floored, never rounded up


def test_days_before_the_first_heartbeat_ever_are_not_expected():
    daily = week()[:6]  # the oldest day of the window came before monitoring started
    r = report(daily, history_start=day_bounds(LAST - timedelta(days=5))[0])
    assert r.expected_hb == 6 * 1440 and r.coverage == 1.0


def test_an_outage_across_midnight_is_one_gap_in_the_report():
    # heartbeats every minute except 23:57 .. 00:03 (7 slots) around the midnight before LAST
    first, second = LAST - timedelta(days=1), LAST
    docs = [hb(day_bounds(first)[0] - timedelta(minutes=1), target_up=True)]
    for day in (first, second):
        start = day_bounds(day)[0]
        for minute in range(1440):
            slot = start + timedelta(minutes=minute)
            if not (day == first and minute >= 1437) and not (day == second and minute < 4):
                docs.append(hb(slot, target_up=True))
    daily = []
    for day in (first, second):
        start, end = day_bounds(day)
        from exporter.domain.heartbeats import HeartbeatAccumulator
        acc = HeartbeatAccumulator(start, end, 60)
        acc.seed(max((d for d in docs if d["ts"] < start), key=lambda d: d["ts"]))
        acc.add_all(d for d in docs if start <= d["ts"] < end)
        daily.append(compute_rollup(day, acc.result(), [], [], interval=60, insufficient_threshold=0.8,
                                    commit="c", service_version="v", created_at=end))
    r = report(daily, days=2, history_start=docs[0]["ts"])
    assert r.max_gap_sec == 480  # 23:56 -> 00:04, not two halves of 240
