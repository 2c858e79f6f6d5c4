"""`longrun run` says at start, in one warning line, when the Alertmanager webhook is disabled or open."""

from __future__ import annotations

import pytest

from alerting.webhook import startup_notice
from exporter.settings import load_settings


def test_no_token_says_the_webhook_is_disabled_what_that_costs_and_the_fix():
    notice = startup_notice(load_settings({}))
    assert notice.startswith("⚠️ Alertmanager webhook DISABLED: LONGRUN_WEBHOOK_TOKEN is not set")
    assert "403" in notice and "Watchdog" in notice and "Set LONGRUN_WEBHOOK_TOKEN" in notice
    assert "\n" not in notice


def test_an_open_webhook_is_called_out_as_a_risk():
    notice = startup_notice(load_settings({"LONGRUN_WEBHOOK_OPEN": "true"}))
    assert notice.startswith("⚠️ Alertmanager webhook OPEN") and "trusted network" in notice


def test_a_token_needs_no_notice_and_the_notice_never_holds_it():
    assert startup_notice(load_settings({"LONGRUN_WEBHOOK_TOKEN": "s3cret-hook"})) is None
    assert startup_notice(load_settings({"LONGRUN_WEBHOOK_TOKEN": "s3cret-hook", "LONGRUN_WEBHOOK_OPEN": "true"})) is None


@pytest.mark.slow
def test_longrun_run_logs_the_notice_once_at_start(tmp_path):
    from tests.process.processes import LongrunProcess

    process = LongrunProcess("nohook", {"LONGRUN_STORE": f"sqlite:///{tmp_path}/x.db"}, tmp_path).start()
    try:
        process.wait_for(lambda h: h is not None, 60, "the process to answer /health")
        process.wait_for(lambda h: "Long-run jobs initialized" in process.log(), 30, "the start line")
    finally:
        process.stop()
    lines = [line for line in process.log().splitlines() if "webhook DISABLED" in line]
    assert len(lines) == 1 and "WARNING" in lines[0], process.log()[-2000:]
