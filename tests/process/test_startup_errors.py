"""`longrun run` refuses to start with one line that names the problem and the fix."""

import socket

import pytest

pytestmark = pytest.mark.slow


def test_a_port_in_use_is_one_line_naming_the_setting(spawn, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = spawn("a", {"LONGRUN_STORE": f"sqlite:///{tmp_path}/x.db", "LONGRUN_LISTEN": f"127.0.0.1:{port}"})
        assert process.wait_exit(30) == 1
    log = process.log()
    assert f"longrun: port {port} on 127.0.0.1 is already in use; stop the other process or set LONGRUN_LISTEN=HOST:PORT" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    "env, message",
    [
        ({"LONGRUN_STORE": "postgres://db"}, "longrun: LONGRUN_STORE: unknown store URL 'postgres://db'; use sqlite:///PATH"),
        ({"LONGRUN_HEARTBEAT_INTERVAL": "soon"}, "longrun: LONGRUN_HEARTBEAT_INTERVAL: expected a duration"),
        ({"LONGRUN_STORE": "firestore://p", "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"}, "GOOGLE_APPLICATION_CREDENTIALS"),
        ({"LONGRUN_STORE": "firestore://p", "FIREBASE_SERVICE_ACCOUNT_JSON": '{"private_key": "s3cret-key"'}, "FIREBASE_SERVICE_ACCOUNT_JSON"),
    ],
    ids=["unknown-store", "bad-duration", "missing-credentials-file", "malformed-inline-credentials"],
)
def test_bad_settings_are_one_line_and_never_leak_a_secret(spawn, env, message):
    process = spawn("a", env)
    code = process.wait_exit(30)
    log = process.log()
    assert code in (1, 2)
    assert message in log
    assert "Traceback" not in log and "s3cret-key" not in log
    assert len([line for line in log.splitlines() if line.strip()]) == 1, log
