"""The silence client against the real Alertmanager 0.25, and its matcher syntax."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from alerting.alertmanager.silences import Matcher, SilenceClient, SilenceError, parse_matchers, redact_url
from tests.fixtures.alertmanager import Alertmanager, alertmanager_binary  # noqa: F401
from tests.fixtures.stores import free_port


def test_matchers_parse_every_operator_and_quoting():
    parsed = parse_matchers('alertname=~"Longrun.+", monitor="prod \\"eu\\"",severity!=P3,team!~"db|ops"')
    assert parsed == (
        Matcher("alertname", "Longrun.+", is_regex=True),
        Matcher("monitor", 'prod "eu"'),
        Matcher("severity", "P3", is_equal=False),
        Matcher("team", "db|ops", is_regex=True, is_equal=False),
    )
    assert str(parsed[0]) == 'alertname=~"Longrun.+"'


@pytest.mark.parametrize("text", ["", "alertname", 'alertname=~".*"', 'severity!="P3"', "a=b c=d", '1x="y"'])
def test_matchers_that_would_silence_everything_or_do_not_parse_are_refused(text):
    with pytest.raises(ValueError):
        parse_matchers(text)


def test_credentials_in_the_url_never_appear_in_errors():
    assert redact_url("http://user:secret@am.example:9093/x") == "http://***@am.example:9093/x"
    assert redact_url("http://am:9093") == "http://am:9093"


async def test_an_unreachable_alertmanager_is_a_transient_error():
    async with aiohttp.ClientSession() as session:
        client = SilenceClient(session, f"http://user:pw@127.0.0.1:{free_port()}", timeout=2)
        now = datetime.now(timezone.utc)
        with pytest.raises(SilenceError) as caught:
            await client.create(parse_matchers('alertname=~"Longrun.+"'), now, now + timedelta(minutes=5), comment="x")
    assert not caught.value.permanent
    assert "unreachable" in str(caught.value) and "pw" not in str(caught.value)


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_create_read_and_expire_a_silence_on_the_real_alertmanager(alertmanager_binary, tmp_path):
    manager = Alertmanager(tmp_path, f"http://127.0.0.1:{free_port()}/api/alertmanager", "t")
    try:
        async with aiohttp.ClientSession() as session:
            await manager.ready(session)
            client = SilenceClient(session, manager.url)
            now = datetime.now(timezone.utc)
            matchers = parse_matchers('alertname=~"Longrun.+",monitor="prod"')
            sid = await client.create(matchers, now, now + timedelta(minutes=30), comment="deploy 0.3", created_by="longrun")
            silence = await client.get(sid)
            assert silence["status"]["state"] == "active"
            assert (silence["comment"], silence["createdBy"]) == ("deploy 0.3", "longrun")
            assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
                ("alertname", "Longrun.+", True), ("monitor", "prod", False)}

            assert await client.expire(sid) is True
            assert (await client.get(sid))["status"]["state"] == "expired"
            assert await client.expire(sid) is True           # expiring twice is not an error
            unknown = "00000000-0000-0000-0000-000000000000"
            assert await client.get(unknown) is None and await client.expire(unknown) is False

            with pytest.raises(SilenceError) as refused:       # Alertmanager refuses an end before the start
                await client.create(matchers, now, now - timedelta(minutes=1), comment="x")
            assert refused.value.permanent
    finally:
        manager.stop()
