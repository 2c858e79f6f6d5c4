"""``longrun_incident_ack_seconds{severity}``: every instance exports the acknowledgements stored, whoever made them."""

from __future__ import annotations

from tests.chatops.conftest import ADMIN
from tests.metrics.scraping import Exporter, value


async def test_an_acknowledgement_lands_in_the_severitys_histogram_on_every_instance(chat):
    standby = await chat.add("beta")
    await chat.open_p1()
    message = await chat.opened()
    await chat.cluster.run_for(90)
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))
    await chat.poll()
    p2, _ = await chat.leader.runtime.incidents.detect("reconnect_loop", "target", reason="12 reconnects")
    await chat.cluster.run_for(700)
    await chat.leader.runtime.incidents.change(p2["incidentId"], status="acknowledged", owner="cli")

    for member in (chat.leader, standby):
        exporter = Exporter(member.runtime)
        await exporter.refresh.refresh_once()
        families = exporter.scrape()
        bucket = lambda severity, le: value(families, "longrun_incident_ack_seconds_bucket", severity=severity, le=le)
        assert value(families, "longrun_incident_ack_seconds_count", severity="P1") == 1
        assert bucket("P1", "60.0") == 0 and bucket("P1", "120.0") == 1
        assert 89 <= value(families, "longrun_incident_ack_seconds_sum", severity="P1") <= 92
        assert bucket("P2", "600.0") == 0 and bucket("P2", "900.0") == 1 and bucket("P2", "+Inf") == 1
        assert value(families, "longrun_incident_ack_seconds_count", severity="P3") == 0

    # Read again (incrementally): nothing counts twice.
    await exporter.refresh.refresh_once()
    assert value(exporter.scrape(), "longrun_incident_ack_seconds_count", severity="P1") == 1


async def test_an_acknowledgement_made_here_is_exported_before_the_next_store_read(chat):
    """The leader reads the store's acknowledgements every 30 refresh ticks; one it makes itself
    (a button, the API) must not wait for that read."""
    await chat.open_p1()
    message = await chat.opened()
    exporter = Exporter(chat.leader.runtime)
    await exporter.refresh.refresh_once()
    assert value(exporter.scrape(), "longrun_incident_ack_seconds_count", severity="P1") == 0
    await chat.cluster.run_for(30)
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))
    await chat.poll()

    families = exporter.scrape()  # no refresh pass in between
    assert value(families, "longrun_incident_ack_seconds_count", severity="P1") == 1
    assert 29 <= value(families, "longrun_incident_ack_seconds_sum", severity="P1") <= 32
    await exporter.refresh.refresh_once()  # the store read that follows counts it once, not twice
    assert value(exporter.scrape(), "longrun_incident_ack_seconds_count", severity="P1") == 1


async def test_an_acknowledgement_made_here_does_not_hide_an_older_one_made_elsewhere(chat):
    """The store read continues from the newest acknowledgement it has read; one this process made
    itself must not move that point past another instance's, not yet read."""
    standby = await chat.add("beta")
    await chat.open_p1()
    message = await chat.opened()
    p2, _ = await chat.leader.runtime.incidents.detect("reconnect_loop", "target", reason="12 reconnects")
    exporter = Exporter(chat.leader.runtime)
    await exporter.refresh.refresh_once()
    await chat.cluster.run_for(60)
    await standby.runtime.incidents.change(p2["incidentId"], status="acknowledged", owner="cli")  # elsewhere
    await chat.cluster.run_for(300)
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))  # here, five minutes later
    await chat.poll()

    await exporter.refresh.refresh_once()
    families = exporter.scrape()
    assert value(families, "longrun_incident_ack_seconds_count", severity="P1") == 1
    assert value(families, "longrun_incident_ack_seconds_count", severity="P2") == 1
