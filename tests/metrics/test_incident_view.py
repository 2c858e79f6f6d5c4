"""Incident view: open counts, the last 24 h, and each new incident counted once."""

from datetime import datetime, timedelta, timezone

from exporter.metrics.incident_view import IncidentView

NOW = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


def incident(name: str, hours_ago: float, kind="probe_fail", severity="P3", status="open") -> dict:
    return {"incidentId": name, "type": kind, "severity": severity, "status": status,
            "tsStart": NOW - timedelta(hours=hours_ago)}


def test_open_counts_by_type_and_severity():
    view = IncidentView()
    view.set_open([incident("a", 1), incident("b", 30), incident("c", 2, "logged_out", "P1", "acknowledged")], NOW)
    assert view.open_counts() == {("probe_fail", "P3"): 2, ("logged_out", "P1"): 1}


def test_last_24h_counts_starts_in_the_window_only():
    view = IncidentView()
    view.set_recent([incident("a", 1, status="resolved"), incident("b", 23)], NOW)
    view.set_open([incident("c", 0.5), incident("old", 40)], NOW)
    assert view.started_within(NOW) == 3
    assert view.started_within(NOW + timedelta(hours=2)) == 2  # b aged out


def test_first_load_is_the_baseline_and_later_incidents_count_once():
    view = IncidentView()
    view.set_open([incident("a", 1)], NOW)
    view.set_recent([incident("a", 1), incident("b", 3, status="resolved")], NOW)
    assert sum(view.opened.values()) == 0
    later = NOW + timedelta(minutes=1)
    view.set_open([incident("a", 1), incident("c", 0, "logged_out", "P1")], later)
    view.set_recent([incident("a", 1), incident("b", 3), incident("c", 0, "logged_out", "P1")], later)
    view.set_open([], later)
    assert view.opened == {("logged_out", "P1"): 1}


def test_an_incident_open_for_days_is_not_counted_again():
    view = IncidentView()
    view.set_open([incident("a", 1)], NOW)
    view.set_recent([], NOW)
    for day in range(1, 4):
        view.set_open([incident("a", 1)], NOW + timedelta(days=day))
        view.set_recent([], NOW + timedelta(days=day))
    assert sum(view.opened.values()) == 0
