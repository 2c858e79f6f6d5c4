import pytest

from exporter.settings import SettingsError, load_settings, parse_duration


@pytest.mark.parametrize("text, seconds", [("500ms", 0.5), ("90s", 90), ("5m", 300), ("6h", 21600), ("1d", 86400), ("42", 42)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6x", "-1s", "0s", "1.5.2h", "h"])
def test_bad_durations_name_the_key(text):
    with pytest.raises(SettingsError, match="LONGRUN_LEASE"):
        load_settings({"LONGRUN_LEASE": text})


def test_defaults_follow_the_contract():
    s = load_settings({})
    assert s.store_url == "sqlite:///./var/longrun.db"
    assert s.root == "wa_metrics/longrun"
    assert (s.listen_host, s.listen_port) == ("127.0.0.1", 9469)
    assert (s.heartbeat_interval, s.lease, s.renew) == (60, 120, 60)
    assert (s.monitor_interval, s.outbound_interval, s.queue_interval, s.inbound_interval) == (3600, 21600, 86400, 21600)
    assert s.instance_id  # generated


def test_unknown_store_url_says_what_to_use():
    with pytest.raises(SettingsError, match=r"LONGRUN_STORE: unknown store URL 'postgres://x'; use sqlite:///PATH"):
        load_settings({"LONGRUN_STORE": "postgres://x"})


def test_renew_must_be_shorter_than_the_lease():
    with pytest.raises(SettingsError, match="LONGRUN_RENEW"):
        load_settings({"LONGRUN_LEASE": "60s", "LONGRUN_RENEW": "60s"})


def test_yaml_file_is_overlaid_by_the_environment(tmp_path):
    path = tmp_path / "longrun.yaml"
    path.write_text("LONGRUN_HEARTBEAT_INTERVAL: 30s\nLONGRUN_LISTEN: 0.0.0.0:9000\nTELEGRAM_CHAT_ID: [-1001, '42']\n")
    s = load_settings({"LONGRUN_LISTEN": "127.0.0.1:9100"}, config_file=path)
    assert s.heartbeat_interval == 30
    assert s.listen == "127.0.0.1:9100"
    assert s.telegram_chat_ids == ("-1001", "42")


def test_unknown_yaml_key_is_named(tmp_path):
    path = tmp_path / "longrun.yaml"
    path.write_text("LONGRUN_HEARTBEAT_INTERVL: 30s\n")
    with pytest.raises(SettingsError, match="unknown key LONGRUN_HEARTBEAT_INTERVL"):
        load_settings({}, config_file=path)


def test_secrets_never_appear_in_the_settings_repr():
    s = load_settings({"LONGRUN_ADMIN_TOKEN": "s3cret-admin", "TELEGRAM_BOT_TOKEN": "123:bot-secret"})
    assert "s3cret-admin" not in repr(s) and "bot-secret" not in repr(s)


@pytest.mark.parametrize("listen", ["9469", "host:", ":99999", "host:abc"])
def test_bad_listen_address(listen):
    with pytest.raises(SettingsError, match="LONGRUN_LISTEN"):
        load_settings({"LONGRUN_LISTEN": listen})


def test_the_telegram_timeout_is_a_duration():
    """It reaches the client: tests/resilience/test_telegram_faults.py runs on 0.3 s and 1 s."""
    assert load_settings({}).telegram_timeout == 10
    assert load_settings({"TELEGRAM_TIMEOUT": "2500ms"}).telegram_timeout == 2.5
    with pytest.raises(SettingsError, match="TELEGRAM_TIMEOUT"):
        load_settings({"TELEGRAM_TIMEOUT": "soon"})


def test_the_store_timeout_reaches_either_backend(tmp_path):
    from exporter.store import open_store

    assert load_settings({}).store_timeout is None  # each backend's own
    sqlite = open_store(load_settings({"LONGRUN_STORE": f"sqlite:///{tmp_path}/x.db", "LONGRUN_STORE_TIMEOUT": "2s"}))
    assert sqlite.busy_timeout == 2
    firestore = open_store(load_settings({"LONGRUN_STORE": "firestore://p", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1",
                                          "LONGRUN_STORE_TIMEOUT": "3s"}))
    assert firestore.call_timeout == 3
