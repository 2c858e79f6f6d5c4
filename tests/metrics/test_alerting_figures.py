"""Alert bridge and Telegram figures, read from the fields the alerting side adds to Runtime."""

from datetime import timedelta

from tests.metrics.scraping import Exporter, value


async def test_outbox_and_alertmanager_counters_are_exported_when_present(cluster, clock):
    a = await cluster.add("a")
    exporter = Exporter(a.runtime)
    families = exporter.scrape()
    assert value(families, "longrun_telegram_messages_total", result="failed") == 0
    assert value(families, "longrun_alertmanager_alerts_total", status="firing") == 0
    assert value(families, "longrun_outbox_oldest_timestamp_seconds") == 0

    oldest = clock.now() - timedelta(minutes=3)
    stats = a.runtime.telegram.stats
    stats.sent, stats.retried, stats.failed, stats.depth, stats.oldest_created_at = 5, 2, 1, 4, oldest
    a.runtime.alerts.alerts_received.update(firing=7, resolved=3)
    families = exporter.scrape()
    assert [value(families, "longrun_telegram_messages_total", result=r) for r in ("sent", "retried", "failed")] == [5, 2, 1]
    assert value(families, "longrun_outbox_depth") == 4
    assert value(families, "longrun_outbox_oldest_timestamp_seconds") == oldest.timestamp()
    assert value(families, "longrun_alertmanager_alerts_total", status="firing") == 7
    assert value(families, "longrun_alertmanager_alerts_total", status="resolved") == 3
