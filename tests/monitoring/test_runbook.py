"""longrun's own runbook (docs/runbook.md): every alert's runbook_url and every incident type's
message link opens a section of it, and that section tells the operator a `longrun` command."""

from __future__ import annotations

import re
from urllib.parse import urldefrag

import pytest

from alerting.runbook import runbook_link
from exporter.domain.vocabulary import INCIDENT_TYPES
from exporter.settings import DEFAULT_RUNBOOK_URL, SettingsError, load_settings

from . import artefacts as a

SECTIONS = a.markdown_sections(a.RUNBOOK.read_text(encoding="utf-8"))
ALERTS = a.alert_rules()
# A command line in the section: `longrun SUBCOMMAND ...` in inline code or a code block.
COMMAND = re.compile(r"(?:`|^)longrun (?:lock|rollup|probe|incident|verify|report|maintenance|config|cleanup|monitoring|run)\b", re.M)


def anchor_of(url: str) -> str:
    return urldefrag(url)[1]


def test_the_shipped_rules_link_longruns_own_runbook_by_default():
    assert a.runbook_base() == DEFAULT_RUNBOOK_URL
    assert DEFAULT_RUNBOOK_URL.endswith("/docs/runbook.md")


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: f"{r['alert']}[{r['labels'].get('severity')}]")
def test_every_runbook_url_opens_a_section_that_gives_a_longrun_command(rule: dict):
    url = rule["annotations"]["runbook_url"]
    base, anchor = urldefrag(url)
    assert base == a.runbook_base()
    assert anchor in SECTIONS, f"{rule['alert']}: #{anchor} is not a heading of docs/runbook.md"
    assert COMMAND.search(SECTIONS[anchor]), f"{rule['alert']}: section #{anchor} names no longrun command"


@pytest.mark.parametrize("incident_type", sorted(INCIDENT_TYPES))
def test_every_incident_type_has_a_section_with_a_longrun_command(incident_type: str):
    anchor = anchor_of(runbook_link(DEFAULT_RUNBOOK_URL, incident_type))
    assert anchor in SECTIONS, f"#{anchor} is not a heading of docs/runbook.md"
    assert COMMAND.search(SECTIONS[anchor]), f"section #{anchor} names no longrun command"


def test_the_check_finds_a_section_without_a_command():
    sections = a.markdown_sections("## A\nrun `longrun verify`\n### B\nreboot the host\n"
                                   "### C\n```bash\n# not a heading\nlongrun lock status\n```\n")
    assert COMMAND.search(sections["a"]) and not COMMAND.search(sections["b"])
    assert COMMAND.search(sections["c"]) and "not-a-heading" not in sections


def test_the_runbook_has_no_host_specific_steps():
    text = a.RUNBOOK.read_text(encoding="utf-8").lower()
    for word in ("ssh ", "systemctl", "journalctl", "firestore console", "hetzner", "root@"):
        assert word not in text, word


def test_the_seed_runbook_says_it_is_the_reference():
    seed = (a.REPO / "docs" / "LONGRUN-RUNBOOK.md").read_text(encoding="utf-8")
    assert seed.startswith("> **Seed reference") and "(runbook.md)" in seed.split("\n\n")[0]


def test_the_runbook_url_setting_takes_http_urls_only():
    assert load_settings({}).runbook_url == DEFAULT_RUNBOOK_URL
    assert load_settings({"LONGRUN_RUNBOOK_URL": "https://wiki.example/longrun.md"}).runbook_url == "https://wiki.example/longrun.md"
    with pytest.raises(SettingsError, match="LONGRUN_RUNBOOK_URL"):
        load_settings({"LONGRUN_RUNBOOK_URL": "file:///etc/passwd"})
