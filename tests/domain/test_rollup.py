from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain_builders import DAY, DAY_END, DAY_START, at, day_docs, day_result, seeded_day_result
from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.incidents import acknowledge, new_incident, resolve
from exporter.domain.rollup import (
    compute_rollup, days_needing_rollup, mttr_of, tally_incidents, tally_probes)

CREATED = DAY_END + timedelta(minutes=5)


def rollup(hb_result, probes=(), incidents=(), interval=60, threshold=0.8):
    return compute_rollup(DAY, hb_result, probes, incidents, interval=interval,
                          insufficient_threshold=threshold, commit="abc123",
                          service_version="0.1.0", created_at=CREATED)


def probe(kind, result, when):
    return {"probeKey": f"{kind}-{when}", "type": kind, "ts": when, "result": result, "latencyMs": 12}


def incident(start, end=None, kind="missed_heartbeat", **kw):
    doc = new_incident(kind, "heartbeat", start, **kw)
    return resolve(doc, end) if end else doc


# ------------------------------------------------------------------ heartbeat figures

def test_day_with_a_45_minute_outage():
    doc = rollup(day_result(day_docs(missing=range(600, 645))))
    assert doc["date"] == "2026-03-10"
    assert (doc["expectedHb"], doc["writtenHb"], doc["missedHb"]) == (1440, 1395, 45)
    assert doc["numericCoverage"] == 0.96875
    assert doc["maxGapSec"] == 2760
    assert doc["largestGaps"] == [{"from": "2026-03-10T09:59:00.000Z", "to": "2026-03-10T10:45:00.000Z",
                                   "seconds": 2760.0, "missedSlots": 45}]
    assert (doc["uptimePct"], doc["uptimeRatio"]) == (100.0, 1.0)
    assert (doc["unknownMinutes"], doc["downMinutes"], doc["upMinutes"]) == (45, 0, 1395)
    assert doc["insufficientData"] is False
    assert (doc["commitHash"], doc["serviceVersion"], doc["createdAt"]) == ("abc123", "0.1.0", CREATED)


def test_target_down_20_minutes_lowers_honest_uptime():
    doc = rollup(day_result(day_docs(down=range(300, 320))))
    assert doc["uptimeRatio"] == pytest.approx(1 - 20 / 1440)
    assert doc["uptimePct"] == pytest.approx(100 * (1 - 20 / 1440))
    assert (doc["downMinutes"], doc["unknownMinutes"], doc["numericCoverage"]) == (20, 0, 1.0)


def test_day_without_heartbeats_is_insufficient_with_unknown_uptime():
    doc = rollup(seeded_day_result([]))
    assert (doc["uptimePct"], doc["uptimeRatio"], doc["insufficientData"]) == (None, None, True)
    assert (doc["writtenHb"], doc["missedHb"], doc["unknownMinutes"], doc["maxGapSec"]) == (0, 1440, 1440, 86460)


def test_a_day_before_the_first_heartbeat_ever_expects_nothing_and_is_insufficient():
    doc = rollup(day_result([]))
    assert (doc["expectedHb"], doc["missedHb"], doc["maxGapSec"], doc["numericCoverage"]) == (0, 0, 0, None)
    assert doc["insufficientData"] is True and doc["uptimePct"] is None


def test_the_first_days_rollup_counts_from_the_first_heartbeat_ever():
    doc = rollup(day_result(day_docs(missing=range(0, 600))))  # deployed at 10:00
    assert (doc["expectedHb"], doc["writtenHb"], doc["maxGapSec"]) == (840, 840, 60)
    assert doc["firstSlot"] == "2026-03-10T10:00:00.000Z"


def test_insufficient_data_follows_the_threshold():
    result = seeded_day_result(day_docs(missing=range(288)))  # coverage exactly 0.8
    assert rollup(result, threshold=0.8)["insufficientData"] is False
    assert rollup(result, threshold=0.81)["insufficientData"] is True


def test_minutes_scale_with_the_interval():
    docs = day_docs(missing=range(10), down=range(10, 30), slots=2880, interval=30)
    doc = rollup(seeded_day_result(docs, interval=30), interval=30)
    assert (doc["expectedHb"], doc["unknownMinutes"], doc["downMinutes"]) == (2880, 5, 10)


def test_restarts_malformed_and_top_five_gaps_are_reported():
    docs = day_docs(missing=[10, 20, 21, 30, 31, 32, 40, 50, 51, 60])
    docs[100]["instanceId"] = "i-2"
    result = day_result(docs + [{"bucketId": None}])
    doc = rollup(result)
    assert (doc["restarts"], doc["instanceChanges"], doc["malformedHb"]) == (2, 2, 1)
    assert [g["seconds"] for g in doc["largestGaps"]] == [240, 180, 180, 120, 120]


def test_heartbeat_result_for_another_window_is_refused():
    other = analyze_heartbeats([], DAY_START, DAY_END - timedelta(hours=1), 60)
    with pytest.raises(ValueError):
        rollup(other)
    with pytest.raises(ValueError):
        rollup(day_result([]), interval=30)


# ------------------------------------------------------------------ probes

def test_probe_pass_rates_exclude_skips_and_are_none_without_runs():
    probes = [probe("outbound", r, at(h)) for h, r in enumerate(["PASS", "PASS", "FAIL", "SKIP"])]
    probes += [probe("queue", "SKIP", at(5))]
    doc = rollup(day_result(day_docs()), probes=probes)
    assert doc["probePassRates"] == {"outbound": pytest.approx(200 / 3), "inbound": None, "queue": None}
    assert doc["probeCounts"]["outbound"] == {"PASS": 2, "FAIL": 1, "SKIP": 1}
    assert doc["probeCounts"]["queue"] == {"PASS": 0, "FAIL": 0, "SKIP": 1}


def test_probes_outside_the_day_are_ignored_and_malformed_ones_counted():
    probes = [probe("inbound", "PASS", DAY_START - timedelta(seconds=1)), probe("inbound", "FAIL", DAY_END),
              probe("inbound", "PASS", DAY_START), probe("sideways", "PASS", at(1)),
              probe("inbound", "MAYBE", at(1)), probe("inbound", "PASS", "noon"), None]
    counts, malformed = tally_probes(probes, DAY_START, DAY_END)
    assert counts["inbound"] == {"PASS": 1, "FAIL": 0, "SKIP": 0}
    assert malformed == 4


# ------------------------------------------------------------------ incidents

def test_incidents_count_when_started_and_give_mttr_when_resolved_in_the_day():
    incidents = [
        incident(DAY_START - timedelta(minutes=10), at(0, 5)),      # resolved today: MTTR 900
        incident(at(1), at(1, 1)),                                   # 60
        incident(at(2), at(2, 3), kind="probe_fail"),                # 180
        incident(at(23, 50), DAY_END + timedelta(minutes=20)),       # started today, resolved tomorrow
        incident(at(12), kind="logged_out"),                         # still open
    ]
    doc = rollup(day_result(day_docs()), incidents=incidents)
    assert doc["incidentsCount"] == 4
    assert doc["incidentsByType"] == {"missed_heartbeat": 2, "probe_fail": 1, "logged_out": 1}
    assert doc["incidentsBySeverity"] == {"P2": 2, "P3": 1, "P1": 1}
    assert doc["incidentsResolved"] == 3
    assert (doc["mttrP50"], doc["mttrP90"], doc["mttrP95"]) == (180, 900, 900)


def test_malformed_incidents_are_counted_not_fatal():
    good = incident(at(1), at(1, 2))
    broken = [None, {"type": "x"}, {"type": "x", "tsStart": "09:00"},
              {"type": "x", "tsStart": at(3), "status": "resolved"}]
    tally = tally_incidents([good] + broken, DAY_START, DAY_END)
    assert (tally.count, tally.malformed, tally.mttr_sec) == (2, 4, [120.0])


def test_mttr_of_prefers_the_stored_value_and_falls_back_to_timestamps():
    done = resolve(acknowledge(incident(at(1)), "ana", at(1, 1)), at(1, 4))
    assert mttr_of(done) == 240
    assert mttr_of(dict(done, mttrSec=100)) == 100
    assert mttr_of(dict(done, mttrSec="soon")) == 240
    assert mttr_of(dict(done, mttrSec=-3, tsEnd=None)) is None
    assert mttr_of(incident(at(1))) is None


# ------------------------------------------------------------------ catch-up

def test_catch_up_takes_the_last_seven_complete_days_with_data_and_no_rollup_oldest_first():
    today = date(2026, 3, 2)
    data = {date(2026, 2, d) for d in range(20, 29)} | {date(2026, 3, 1), date(2026, 3, 2)}
    existing = {date(2026, 2, 25)}
    assert days_needing_rollup(today, existing, data) == [
        date(2026, 2, 23), date(2026, 2, 24), date(2026, 2, 26), date(2026, 2, 27),
        date(2026, 2, 28), date(2026, 3, 1)]


def test_catch_up_across_a_leap_day_and_a_year_end():
    data = {date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)}
    assert days_needing_rollup(date(2028, 3, 1), set(), data) == [date(2028, 2, 28), date(2028, 2, 29)]
    data = {date(2025, 12, 31), date(2026, 1, 1)}
    assert days_needing_rollup(date(2026, 1, 1), set(), data) == [date(2025, 12, 31)]


def test_catch_up_never_includes_today_and_respects_lookback():
    today = date(2026, 3, 10)
    data = {today - timedelta(days=n) for n in range(0, 12)}
    assert today not in days_needing_rollup(today, set(), data)
    assert days_needing_rollup(today, set(), data, lookback=2) == [date(2026, 3, 8), date(2026, 3, 9)]
    assert days_needing_rollup(today, set(data), data) == []


def test_catch_up_reads_a_datetime_as_its_utc_date():
    evening = datetime(2026, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30Z on the 11th
    assert days_needing_rollup(evening, set(), {date(2026, 3, 10)}) == [date(2026, 3, 10)]


@given(today=st.dates(min_value=date(2000, 1, 8), max_value=date(2100, 1, 1)),
       offsets=st.sets(st.integers(min_value=-3, max_value=12)),
       done=st.sets(st.integers(min_value=-3, max_value=12)))
def test_catch_up_days_are_past_recent_sorted_and_unrolled(today, offsets, done):
    data = {today - timedelta(days=n) for n in offsets}
    existing = {today - timedelta(days=n) for n in done}
    days = days_needing_rollup(today, existing, data)
    assert days == sorted(days)
    assert all(today - timedelta(days=7) <= d < today and d in data and d not in existing for d in days)
    assert len(days) == len({d for d in data - existing if today - timedelta(days=7) <= d < today})


def test_manual_probe_runs_are_tallied_apart_and_never_in_pass_rates():
    probes = [probe("outbound", "PASS", at(0)), probe("outbound", "PASS", at(6)),
              {**probe("outbound", "FAIL", at(7)), "trigger": "manual"},
              {**probe("queue", "FAIL", at(8)), "trigger": "manual"}]
    doc = rollup(day_result(day_docs()), probes=probes)
    assert doc["probePassRates"]["outbound"] == 100.0 and doc["probePassRates"]["queue"] is None
    assert doc["manualProbeCounts"] == {"outbound": {"PASS": 0, "FAIL": 1, "SKIP": 0},
                                        "queue": {"PASS": 0, "FAIL": 1, "SKIP": 0}}


def test_monitoring_stack_incidents_stay_out_of_the_services_mttr():
    service = incident(at(1), at(1, 2))                      # 120 s
    watchdog = new_incident("alert", "watchdog", at(2))
    doc = rollup(day_result(day_docs()), incidents=[service, resolve(watchdog, at(5))])
    assert doc["mttrP50"] == 120 and doc["incidentsCount"] == 1
    assert doc["monitoringIncidents"]["count"] == 1
    assert doc["monitoringIncidents"]["mttrP50"] == 3 * 3600
