"""Two real `longrun run` processes on one store: the standby really takes over."""

import signal
import uuid

import pytest

pytestmark = pytest.mark.slow

# Second-scale settings: 1 s heartbeats, 3 s lease renewed every second.
FAST = {"LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "3s", "LONGRUN_RENEW": "1s", "LONGRUN_STANDBY_POLL": "500ms"}
# A long lease, so that only an explicit release can explain a quick takeover.
LONG_LEASE = {"LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "60s", "LONGRUN_RENEW": "20s", "LONGRUN_STANDBY_POLL": "1s"}


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def backend(request, tmp_path):
    if request.param == "sqlite":
        return {"LONGRUN_STORE": f"sqlite:///{tmp_path}/longrun.db"}
    emulator = request.getfixturevalue("firestore_emulator")
    return {"LONGRUN_STORE": f"firestore://failover-{uuid.uuid4().hex[:8]}", "FIRESTORE_EMULATOR_HOST": emulator.address}


def leading(health):
    return health["leader"] is True


def standing_by(health):
    return health["leader"] is False and health["store"]["up"] is True and health["lastHeartbeat"] is None


def test_standby_leads_after_kill_9_within_lease_plus_retry(spawn, backend, record_property):
    a = spawn("a", {**backend, **FAST})
    a.wait_for(leading, 30, "a leading")
    b = spawn("b", {**backend, **FAST})
    b.wait_for(standing_by, 30, "b standing by")
    a.signal(signal.SIGKILL)
    took = b.wait_for(leading, 10, "b leading after kill -9 of a")
    record_property("takeover_after_kill9_s", round(took, 2))
    # lease 3 s + standby poll 0.5 s, plus scheduling slack on a loaded 2-core machine
    assert took <= 3 + 0.5 + 1.5
    b.wait_for(lambda h: h["lastHeartbeat"] is not None, 5, "b writing heartbeats")


def test_standby_leads_within_5s_after_sigterm(spawn, backend, record_property):
    a = spawn("a", {**backend, **LONG_LEASE})
    a.wait_for(leading, 30, "a leading")
    b = spawn("b", {**backend, **LONG_LEASE})
    b.wait_for(standing_by, 30, "b standing by")
    a.signal(signal.SIGTERM)
    assert a.wait_exit(15) == 0
    took = b.wait_for(leading, 8, "b leading after SIGTERM of a")
    record_property("takeover_after_sigterm_s", round(took, 2))
    assert took <= 5, "with a 60 s lease only the release on SIGTERM explains a quick takeover"
    assert "Lock released" in a.log()
    b.wait_for(lambda h: h["lastHeartbeat"] is not None and h["lockGeneration"] == 2, 5, "b heartbeats at generation 2")
