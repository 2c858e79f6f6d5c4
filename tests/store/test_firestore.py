"""What only the Firestore backend has to prove: outages are bounded, credentials fail clearly."""

from __future__ import annotations

import asyncio
import json
import os
import time
import traceback

import pytest

from exporter.settings import Settings, SettingsError
from exporter.store.base import StoreUnavailable, TransactionConflict
from exporter.store.firestore import FirestoreStore

SECRET = "SECRET-SAUCE-0123456789"


def fails_naming(settings: Settings, variable: str) -> str:
    """Open the store, expect a SettingsError naming ``variable`` and quoting no secret anywhere."""
    with pytest.raises(SettingsError) as caught:
        FirestoreStore.from_settings(settings)
    shown = "".join(traceback.format_exception(caught.value))
    assert variable in str(caught.value)
    assert SECRET not in shown
    return str(caught.value)


@pytest.mark.firestore
async def test_a_stopped_emulator_gives_store_unavailable_and_the_same_store_recovers(own_firestore_emulator):
    firestore_emulator = own_firestore_emulator
    store = FirestoreStore.from_settings(firestore_emulator.settings(firestore_emulator.new_project()), timeout=2.0)
    try:
        await store.set("c/a", {"n": 1})
        firestore_emulator.stop()
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.get("c/a")
            assert time.monotonic() - started < 2.0 + 2.5, "bounded by the store's timeout"
            # a transaction cut by the deadline: the library's rollback of a transaction that never
            # began raised ValueError, which escaped as a crash of the lease loop
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.transaction(lambda tx: tx.get("c/a"))
            assert time.monotonic() - started < 3 * 2.0 + 2.5
        finally:
            firestore_emulator.start()

        recovered_by = time.monotonic() + 20
        while True:  # gRPC reconnects on its own backoff; each attempt is itself bounded
            try:
                await store.set("c/a", {"n": 3})
                break
            except StoreUnavailable:
                assert time.monotonic() < recovered_by, "the store never recovered after the restart"
        assert (await store.get("c/a")).data == {"n": 3}
    finally:
        await store.close()


@pytest.mark.firestore
async def test_contention_beyond_max_attempts_gives_transaction_conflict_and_loses_nothing(firestore_emulator):
    settings = firestore_emulator.settings(firestore_emulator.new_project())
    first, second = (FirestoreStore.from_settings(settings, max_attempts=1) for _ in range(2))
    await first.create("c/counter", {"n": 0})
    both_have_read = asyncio.Barrier(2)

    async def bump(tx):
        doc = await tx.get("c/counter")
        await both_have_read.wait()  # both hold the read, so both commits cannot succeed
        tx.set("c/counter", {"n": doc.get("n") + 1})

    try:
        outcomes = await asyncio.gather(first.transaction(bump), second.transaction(bump), return_exceptions=True)
        conflicts = [o for o in outcomes if isinstance(o, TransactionConflict)]
        assert len(conflicts) >= 1 and all(o is None or o in conflicts for o in outcomes), outcomes
        assert (await first.get("c/counter")).get("n") == 2 - len(conflicts)
    finally:
        await first.close()
        await second.close()


def test_an_unreadable_credentials_file_names_the_variable_and_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "key.json"

    message = fails_naming(Settings(store_url="firestore://p", google_application_credentials=str(missing)),
                           "GOOGLE_APPLICATION_CREDENTIALS")

    assert str(missing) in message


def test_a_credentials_file_that_is_not_json_is_reported_without_its_content(tmp_path):
    key = tmp_path / "key.json"
    key.write_text('{"type": "service_account", "private_key": "' + SECRET)

    fails_naming(Settings(store_url="firestore://p", google_application_credentials=str(key)),
                 "GOOGLE_APPLICATION_CREDENTIALS")


def test_malformed_inline_json_is_reported_without_its_content():
    settings = Settings(store_url="firestore://p", firebase_service_account_json='{"private_key": "' + SECRET + '",')

    assert "not valid JSON" in fails_naming(settings, "FIREBASE_SERVICE_ACCOUNT_JSON")


def test_an_inline_key_missing_fields_names_them():
    settings = Settings(store_url="firestore://p",
                        firebase_service_account_json=json.dumps({"type": "service_account", "private_key": SECRET}))

    assert "client_email, token_uri" in fails_naming(settings, "FIREBASE_SERVICE_ACCOUNT_JSON")


def test_an_inline_key_that_cannot_be_loaded_is_reported_without_the_key():
    info = {"type": "service_account", "project_id": "p", "client_email": "exporter@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"}

    fails_naming(Settings(store_url="firestore://p", firebase_service_account_json=json.dumps(info)),
                 "FIREBASE_SERVICE_ACCOUNT_JSON")


def test_a_store_url_without_a_project_is_refused():
    fails_naming(Settings(store_url="firestore://", firestore_emulator_host="127.0.0.1:1"), "LONGRUN_STORE")


@pytest.mark.firestore
async def test_a_valid_inline_service_account_works_against_the_emulator(firestore_emulator, monkeypatch):
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "p", "client_email": "exporter@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token", "private_key": pem, "private_key_id": "k1"}
    settings = firestore_emulator.settings(firestore_emulator.new_project()).with_(
        firebase_service_account_json=json.dumps(info))

    store = FirestoreStore.from_settings(settings)
    try:
        await store.create("c/a", {"n": 1})
        assert (await store.get("c/a")).data == {"n": 1}
    finally:
        await store.close()
    assert "FIRESTORE_EMULATOR_HOST" not in os.environ, "the emulator address is given to the client, not leaked"
