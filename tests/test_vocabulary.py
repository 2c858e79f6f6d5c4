"""One vocabulary: probe types and results, severities and incident types are spelled in
exporter/domain/vocabulary.py only, and what is derived from it agrees with it."""

from __future__ import annotations

import ast
from datetime import datetime, timezone

import pytest

from alerting.dedup import undelivered
from alerting.mapping import TYPE_SUBJECTS, AlertMapping
from alerting.notifier import pending_index
from exporter.domain import runtime_config
from exporter.domain.incidents import severity_for
from exporter.domain.vocabulary import (
    DEFAULT_SEVERITY, FALLBACK_SEVERITY, INCIDENT_TYPES, PROBE_RESULTS, PROBE_TYPES, SEVERITIES, notified_key, notified_map,
)
from exporter.metrics import catalog
from tests.test_layers import project_modules

VOCABULARY = "exporter.domain.vocabulary"
# Word sets that must not be written out again as a tuple, list or set literal.
WORD_SETS = {frozenset(PROBE_TYPES), frozenset(PROBE_RESULTS), frozenset(SEVERITIES), frozenset(INCIDENT_TYPES)}


def literal_word_sets(source: str) -> list[tuple[int, frozenset]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                words = frozenset(e.value for e in node.elts)
                if words in WORD_SETS:
                    found.append((node.lineno, words))
    return found


def test_no_module_spells_a_word_set_of_the_vocabulary_again():
    copies = [f"{module}:{line} {sorted(words)}"
              for module, path in project_modules() if module != VOCABULARY
              for line, words in literal_word_sets(path.read_text(encoding="utf-8"))]
    assert not copies, "import these from exporter.domain.vocabulary:\n" + "\n".join(copies)


def test_a_copied_word_set_is_caught():
    assert literal_word_sets('SEVERITY_ORDER = ("P1", "P2", "P3")')
    assert literal_word_sets('kinds = ["inbound", "outbound", "queue"]')
    assert not literal_word_sets('pair = ("P1", "P2")')


def test_the_metric_labels_are_the_vocabulary():
    assert catalog.INCIDENT_TYPES == tuple(INCIDENT_TYPES)
    assert (catalog.PROBE_TYPES, catalog.PROBE_RESULTS, catalog.SEVERITIES) == (PROBE_TYPES, PROBE_RESULTS, SEVERITIES)


def test_the_default_config_carries_the_default_severities():
    config = runtime_config.defaults(heartbeat_interval=60, lease=120, renew=60, outbound_interval=21600,
                                     queue_interval=86400, inbound_interval=21600)
    assert config["severities"] == DEFAULT_SEVERITY
    assert DEFAULT_SEVERITY == {"logged_out": "P1", "missed_heartbeat": "P2", "reconnect_loop": "P2",
                                "probe_fail": "P3", "rollup_failed": "P3", "queue_depth": "P3"}


@pytest.mark.parametrize("name", list(INCIDENT_TYPES))
def test_every_type_has_its_default_severity_unless_configured(name):
    assert severity_for(name) == (INCIDENT_TYPES[name].severity or FALLBACK_SEVERITY)
    assert severity_for(name, {name: "P1"}) == "P1"


def test_alerts_open_incidents_on_the_default_subjects():
    assert {name: rule.subject for name, rule in TYPE_SUBJECTS.items()} == {
        name: kind.subject for name, kind in INCIDENT_TYPES.items() if kind.subject}
    target = AlertMapping().target({"alertname": "LongrunStoreDown", "instance": "10.0.0.7:9469"})
    assert (target.type, target.subject) == ("store_down", "10.0.0.7:9469")


def test_the_notified_key_is_read_as_it_is_written():
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    incident = {"changes": ["opened", "escalated"], "notified": {notified_key(0, "opened"): at}}
    assert undelivered(incident) and pending_index(incident, "escalated") == 1
    incident["notified"] = notified_map(incident["changes"], at)
    assert not undelivered(incident) and pending_index(incident, "escalated") == "unrecorded"
