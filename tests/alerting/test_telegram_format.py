from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.alertmanager.payload import parse_payload
from alerting.telegram.format import LIMIT, humanize_duration, render_incident_change, utf16_len
from alerting.telegram.group import render_group
from tests.alerting.builders import alert, webhook
from tests.fixtures.fake_telegram import check_telegram_html

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def render(body, **kwargs) -> list[str]:
    return render_group(parse_payload(body), now=NOW, **kwargs)


def assert_sendable(messages: list[str]) -> None:
    for text in messages:
        assert utf16_len(text) <= LIMIT, f"{utf16_len(text)} units"
        problem, _ = check_telegram_html(text)
        assert problem is None, problem


def test_one_group_gives_one_message_with_counts_and_every_field():
    body = webhook(alert(1), alert(2, status="resolved", starts_at="2026-03-01T11:00:00Z",
                                   ends_at="2026-03-01T11:05:03Z"))
    [text] = render(body)
    assert_sendable([text])
    assert text.startswith("🔥 <b>FIRING 1</b> · ✅ <b>RESOLVED 1</b> · <b>alertname=HeartbeatMissing</b>")
    assert "<b>critical</b>" in text and "<b>HeartbeatMissing</b>" in text
    assert "No heartbeat from host-1" in text
    assert "The scheduler wrote no heartbeat for 5 minutes." in text
    assert '<a href="https://runbooks.example.com/longrun#heartbeat-missing">📖 Runbook</a>' in text
    assert "instance=<code>host-1:9469</code>" in text
    assert "lasted 5m 3s" in text
    assert "since 2026-03-01 11:50:00 UTC (9m 59s)" in text
    assert "(part" not in text


def test_firing_alerts_come_before_resolved_ones():
    body = webhook(alert(1, status="resolved", ends_at="2026-03-01T11:59:00Z"), alert(2))
    [text] = render(body)
    assert text.index("host-2") < text.index("host-1")


def test_labels_and_annotations_with_html_characters_are_escaped():
    nasty = '<script>alert("x")</script> & <b>'
    body = webhook(alert(labels={"alertname": "A<B & \"C\"", "severity": "<crit>", "instance": nasty,
                                 "emoji": "🔥💥 ok"},
                         annotations={"summary": nasty, "description": "x < y && y > z",
                                      "runbook_url": 'https://x.example/?a=1&b="2"<'}))
    [text] = render(body)
    assert_sendable([text])
    assert "<script>" not in text
    assert "A&lt;B &amp; \"C\"" in text
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; &lt;b&gt;" in text
    assert "x &lt; y &amp;&amp; y &gt; z" in text
    assert 'href="https://x.example/?a=1&amp;b=&quot;2&quot;&lt;"' in text
    assert "🔥💥 ok" in text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x", "/relative", "data:text/html,hi"])
def test_only_http_links_become_anchors(url):
    [text] = render(webhook(alert(annotations={"summary": "s", "runbook_url": url})))
    assert "Runbook" not in text
    assert url not in text


def test_ten_kilobyte_description_is_truncated_before_escaping_with_a_link():
    description = "&<" * 5_000  # 10 KB raw, 45 KB escaped
    body = webhook(alert(1, annotations={"summary": "big", "description": description}))
    [text] = render(body)
    assert_sendable([text])
    assert "…</i> (truncated, see <a href=\"http://prometheus:9090/graph?g0.expr=up%7Bi%3D1%7D\">source</a>)" in text
    shown = html.unescape(re.search(r"<i>(.*?)…</i>", text, re.S).group(1))
    assert description.startswith(shown) and len(shown) > 700  # 4.5 escaped units per raw character


def test_a_plain_ten_kilobyte_description_keeps_most_of_one_message():
    description = "lorem ipsum " * 850
    [text] = render(webhook(alert(1, annotations={"summary": "big", "description": description})))
    assert_sendable([text])
    assert 3_300 < utf16_len(text) <= LIMIT


def test_an_alert_whose_every_field_is_huge_is_shortened_not_dropped():
    big = "<&>" * 3_000
    labels = {"alertname": big, "severity": big, **{f"label{i}": big for i in range(20)}}
    body = webhook(alert(1, labels=labels, annotations={"summary": big, "description": big,
                                                        "runbook_url": "https://x/" + "a" * 5_000}),
                   alert(2))
    [text] = render(body)
    assert_sendable([text])
    assert text.count("&lt;&amp;&gt;") > 10  # alert 1, on one line: its name and labels, clipped
    assert "host-2" in text


def test_five_hundred_alerts_are_all_present_across_parts_each_within_the_limit():
    alerts = [alert(i, annotations={"summary": f"Summary number {i} <&>", "description": "d" * 300})
              for i in range(500)]
    messages = render(webhook(*alerts))
    assert len(messages) == 13  # ⌈500/40⌉
    assert_sendable(messages)
    n = len(messages)
    for k, text in enumerate(messages, start=1):
        assert f"(part {k}/{n})" in text.split("\n", 1)[0]
        assert text.startswith("🔥 <b>FIRING 500</b>")
    joined = "\n".join(messages)
    for i in range(500):
        assert len(re.findall(rf"host-{i}:9469\b", joined)) == 1, i


@pytest.mark.parametrize("n", [1, 2, 39, 40, 41, 300, 1000, 4000])
def test_a_notification_of_n_alerts_takes_at_most_one_message_per_forty(n):
    alerts = [alert(i, labels={"alertname": "DiskFull", "severity": "warning", "job": "node",
                               "instance": f"node-{i:05d}", "mount": "/var/lib/<data>"},
                    annotations={"summary": f"disk {i} is full", "description": "x" * 500}) for i in range(n)]
    messages = render(webhook(*alerts))
    assert len(messages) <= -(-n // 40)
    assert_sendable(messages)
    joined = "\n".join(messages)
    for i in range(n):
        assert joined.count(f"node-{i:05d}") == 1, i


def test_the_first_alerts_come_in_full_and_the_rest_one_line_each_with_what_tells_them_apart():
    alerts = [alert(i, labels={"alertname": "DiskFull", "severity": "warning", "job": "node",
                               "instance": f"node-{i}", "mount": "/"}) for i in range(30)]
    [text] = render(webhook(*alerts))
    assert "No heartbeat from host-0" in text and "instance=<code>node-0</code>" in text  # in full
    assert "🔥 <b>DiskFull</b> instance=node-29 · since 11:50\n" in text  # one line: only the label that differs
    assert "job=node" not in text.split("node-29")[0].rsplit("\n", 1)[-1]


def test_every_message_links_to_the_whole_group_in_alertmanager():
    body = webhook(*[alert(i) for i in range(90)], receiver="tele gram",
                   groupLabels={"alertname": 'Heart"beat', "team": "a&b"})
    messages = render(body)
    assert len(messages) == 3
    href = ('http://alertmanager:9093/#/alerts?receiver=tele%20gram&amp;filter='
            '%7Balertname%3D%22Heart%5C%22beat%22%2Cteam%3D%22a%26b%22%7D')
    for text in messages:
        assert f'<a href="{href}">📋 All 90 alerts in Alertmanager</a>' in text


def test_without_an_http_external_url_there_is_no_link():
    [text] = render(webhook(alert(1), externalURL="javascript:alert(1)"))
    assert "<a href=\"javascript" not in text and "Alertmanager</a>" not in text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=3_000), min_size=1, max_size=30))
def test_any_descriptions_keep_every_alert_and_the_first_in_full(descriptions):
    alerts = [alert(i, annotations={"summary": f"S{i}", "description": d}) for i, d in enumerate(descriptions)]
    [text] = render(webhook(*alerts))
    assert_sendable([text])
    assert "\nS0\n" in text
    for i in range(len(descriptions)):
        assert len(re.findall(rf"host-{i}:9469\b", text)) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["instance", "pod", "x<y", "&amp;", "🔥"]),
                                st.text(min_size=1, max_size=400), min_size=1), min_size=41, max_size=120))
def test_hostile_labels_stay_escaped_and_no_tag_is_cut(label_sets):
    alerts = [alert(i, labels={"alertname": "<b>Evil</b>", **labels, "n": f"n{i:04d}"})
              for i, labels in enumerate(label_sets)]
    messages = render(webhook(*alerts))
    assert len(messages) <= -(-len(alerts) // 40)
    assert_sendable(messages)
    joined = "\n".join(messages)
    assert "<b>Evil</b>" not in joined.replace("<b>&lt;b&gt;Evil&lt;/b&gt;</b>", "")


def test_truncated_alerts_are_stated():
    [text] = render(webhook(alert(1), truncatedAlerts=42))
    assert "left out 42 more alerts" in text
    assert "truncatedAlerts=42" in text


def test_resolved_duration_is_humanised():
    body = webhook(alert(1, status="resolved", starts_at="2026-02-27T10:00:00Z", ends_at="2026-03-01T12:30:00Z"))
    [text] = render(body)
    assert text.startswith("✅ <b>RESOLVED 1</b>")
    assert "lasted 2d 2h" in text


@pytest.mark.parametrize("seconds, text", [(-5, "0s"), (0, "0s"), (45, "45s"), (60, "1m"), (303, "5m 3s"),
                                           (7500, "2h 5m"), (3 * 86400 + 4 * 3600 + 5, "3d 4h")])
def test_humanize_duration(seconds, text):
    assert humanize_duration(seconds) == text


def test_utf16_len_counts_astral_emoji_twice():
    assert utf16_len("a🔥") == 3


# ---------------------------------------------------------------- incidents

INCIDENT = {
    "id": "inc-2026-03-01-heartbeat",
    "type": "heartbeat_gap", "severity": "P1", "status": "open",
    "tsStart": datetime(2026, 3, 1, 11, 0, tzinfo=timezone.utc), "tsEnd": None, "mttrSec": None,
    "reason": "no heartbeat for 5m <gap>", "owner": None, "rootCause": None,
    "runbookUrl": "https://runbooks.example.com/longrun#gap", "summary": "Heartbeats stopped & nobody noticed",
}


def test_incident_opened_message():
    text = render_incident_change(INCIDENT, "opened")
    assert_sendable([text])
    assert text.startswith("🚨 <b>Incident opened</b> · <b>P1</b> · <b>heartbeat_gap</b>")
    assert "Heartbeats stopped &amp; nobody noticed" in text
    assert "Reason: no heartbeat for 5m &lt;gap&gt;" in text
    assert "Started: 2026-03-01 11:00:00 UTC" in text
    assert '<a href="https://runbooks.example.com/longrun#gap">📖 Runbook</a>' in text


def test_incident_escalated_and_acknowledged_messages():
    escalated = render_incident_change({**INCIDENT, "severity": "P1"}, "escalated")
    assert escalated.startswith("⏫ <b>Incident escalated</b> · <b>P1</b>")
    acked = render_incident_change({**INCIDENT, "status": "acknowledged", "owner": "ana <ops>"}, "acknowledged")
    assert acked.startswith("👀 <b>Incident acknowledged</b>")
    assert "Owner: ana &lt;ops&gt;" in acked
    assert_sendable([escalated, acked])


def test_incident_resolved_message_has_duration_and_root_cause():
    resolved = {**INCIDENT, "status": "resolved", "tsEnd": "2026-03-01T11:42:30.000Z", "mttrSec": None,
                "rootCause": "disk full"}
    text = render_incident_change(resolved, "resolved")
    assert text.startswith("✅ <b>Incident resolved</b>")
    assert "Duration: <b>42m 30s</b>" in text
    assert "Root cause: disk full" in text
    assert "Duration: <b>1h 1m</b>" in render_incident_change({**resolved, "mttrSec": 3660}, "resolved")


def test_huge_incident_fields_still_fit_one_message():
    big = "<&>" * 5_000
    text = render_incident_change({**INCIDENT, "summary": big, "reason": big, "rootCause": big, "owner": big,
                                   "type": big, "id": big}, "resolved")
    assert_sendable([text])


def test_unknown_incident_change_is_refused():
    with pytest.raises(ValueError, match="unknown incident change"):
        render_incident_change(INCIDENT, "deleted")
