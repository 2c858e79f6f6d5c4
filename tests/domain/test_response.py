"""Response times: acknowledgement stamps, reminder schedule, MTTA. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from exporter.domain.response import (
    MAX_REMINDERS, mtta_doc, next_reminder_at, reminder_due, response_time, stamp_ack,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RT = {"P1": 300, "P2": 900, "P3": 3600}


def incident(**fields):
    base = {"incidentId": "i", "severity": "P1", "status": "open", "tsStart": T0 - timedelta(minutes=5),
            "createdAt": T0, "tsAck": None, "reminders": 0}
    return {**base, **fields}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_ack_time_counts_from_when_longrun_knew_not_from_the_alerts_past_start():
    doc = stamp_ack(incident(), at(42))
    assert doc["tsAck"] == at(42) and doc["ackSec"] == 42.0


def test_a_second_acknowledgement_keeps_the_first_ack_time():
    first = stamp_ack(incident(), at(42))
    assert stamp_ack(first, at(500))["ackSec"] == 42.0


def test_without_created_at_the_clock_starts_at_ts_start():
    doc = stamp_ack(incident(createdAt=None), at(0))
    assert doc["ackSec"] == 300.0


@pytest.mark.parametrize("severity, configured, expected", [
    ("P1", RT, 300), ("P2", RT, 900), ("P3", RT, 3600), ("P2", {"P2": 60}, 60),
    ("P2", {"P2": -5}, 900), ("P2", {"P2": "soon"}, 900), ("P2", None, 900), ("weird", RT, 3600),
])
def test_response_time_comes_from_config_else_the_runbook(severity, configured, expected):
    assert response_time({"severity": severity}, configured) == expected


def test_reminders_fall_due_each_response_time_at_most_five():
    doc = incident()
    assert reminder_due(doc, RT, at(299)) is None
    assert reminder_due(doc, RT, at(300)) == 1
    assert reminder_due(incident(reminders=1), RT, at(599)) is None
    assert reminder_due(incident(reminders=1), RT, at(600)) == 2
    assert reminder_due(incident(reminders=MAX_REMINDERS), RT, at(10 * 300)) is None
    assert next_reminder_at(incident(reminders=2), RT) == at(900)
    assert next_reminder_at(incident(reminders=MAX_REMINDERS), RT) is None


def test_after_a_long_pause_only_the_latest_owed_reminder_is_sent():
    assert reminder_due(incident(), RT, at(1000)) == 3
    assert reminder_due(incident(), RT, at(100_000)) == MAX_REMINDERS


@pytest.mark.parametrize("fields", [{"status": "acknowledged"}, {"status": "resolved"}, {"tsAck": T0},
                                    {"createdAt": None, "tsStart": None}])
def test_no_reminder_once_answered_or_closed(fields):
    assert reminder_due(incident(**fields), RT, at(10_000)) is None
    assert next_reminder_at(incident(**fields), RT) is None


def test_mtta_takes_the_acknowledgements_in_the_window_only():
    docs = [{"tsAck": at(10), "ackSec": 10}, {"tsAck": at(20), "ackSec": 30}, {"tsAck": at(30), "ackSec": 200},
            {"tsAck": at(-10), "ackSec": 5000}, {"tsAck": None, "ackSec": None}, "junk", {"tsAck": at(40), "ackSec": -1}]
    assert mtta_doc(docs, T0, at(3600)) == {"p50": 30.0, "p90": 200.0, "p95": 200.0}
    assert mtta_doc([], T0, at(3600)) == {"p50": None, "p90": None, "p95": None}
