"""The DocumentStore contract: every test runs unchanged on SQLite and on the Firestore emulator."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from exporter.store.base import (
    AlreadyExists, Document, Filter, InvalidPath, InvalidValue, NotFound, Order, PreconditionFailed, StoreError,
    Write,
)

C = "wa_metrics/longrun/things"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


async def fill(store, docs: dict[str, dict]) -> None:
    items = list(docs.items())
    for start in range(0, len(items), 500):
        await store.batch([Write("create", f"{C}/{doc_id}", data) for doc_id, data in items[start:start + 500]])


def ids(docs: list[Document]) -> list[str]:
    return [doc.id for doc in docs]


# ---------------------------------------------------------------- single documents


async def test_get_of_a_missing_document_is_none(store):
    assert await store.get(f"{C}/nothing") is None


async def test_create_then_get_round_trips_every_value_type(store):
    data = {"s": "text ✓", "i": -7, "big": 2**62, "f": 0.25, "b": True, "none": None,
            "list": [1, "two", {"three": 3}], "map": {"inner": {"deep": [True, None]}}, "empty": {}}
    created = await store.create(f"{C}/a", data)

    got = await store.get(f"{C}/a")

    assert got.data == data
    assert got.path == f"{C}/a" and got.id == "a"
    assert got.version == created.version


async def test_get_many_reads_every_path_once_with_none_for_the_missing(store):
    await fill(store, {f"d{i:04d}": {"n": i} for i in range(1_234)})
    await store.create(f"{C}/d0001/sub/x", {"n": "sub"})
    wanted = [f"{C}/d{i:04d}" for i in range(0, 1_300, 2)] + [f"{C}/d0002", f"{C}/d0001/sub/x", "other/missing"]

    got = await store.get_many(wanted)

    assert list(got) == list(dict.fromkeys(wanted))  # each path once, in the order asked
    for i in range(0, 1_300, 2):
        doc = got[f"{C}/d{i:04d}"]
        assert (doc is None) if i >= 1_234 else (doc.data == {"n": i} and doc.id == f"d{i:04d}")
    assert got[f"{C}/d0001/sub/x"].data == {"n": "sub"} and got["other/missing"] is None
    assert got[f"{C}/d0002"].version == (await store.get(f"{C}/d0002")).version
    assert await store.get_many([]) == {}


async def test_get_many_refuses_an_invalid_path_before_reading_anything(store):
    with pytest.raises(InvalidPath):
        await store.get_many([f"{C}/a", f"{C}/.."])


async def test_create_of_an_existing_document_raises_and_keeps_it(store):
    await store.create(f"{C}/a", {"n": 1})

    with pytest.raises(AlreadyExists):
        await store.create(f"{C}/a", {"n": 2})

    assert (await store.get(f"{C}/a")).data == {"n": 1}


async def test_set_replaces_the_whole_document(store):
    await store.create(f"{C}/a", {"keep": 1, "map": {"x": 1}})

    await store.set(f"{C}/a", {"map": {"y": 2}})

    assert (await store.get(f"{C}/a")).data == {"map": {"y": 2}}


async def test_set_with_merge_deep_merges_maps_and_replaces_other_values(store):
    await store.create(f"{C}/a", {"keep": 1, "map": {"x": 1, "inner": {"p": 1}}, "list": [1, 2]})

    await store.set(f"{C}/a", {"map": {"y": 2, "inner": {"q": 2}}, "list": [3]}, merge=True)

    assert (await store.get(f"{C}/a")).data == {
        "keep": 1, "map": {"x": 1, "y": 2, "inner": {"p": 1, "q": 2}}, "list": [3]}


async def test_set_with_merge_creates_a_missing_document(store):
    await store.set(f"{C}/a", {"map": {"x": 1}}, merge=True)

    assert (await store.get(f"{C}/a")).data == {"map": {"x": 1}}


async def test_update_sets_dotted_nested_fields_and_keeps_the_rest(store):
    await store.create(f"{C}/a", {"keep": 1, "map": {"x": 1, "y": 1}, "replaced": {"old": 1}})

    await store.update(f"{C}/a", {"map.y": 2, "new.deep.z": 3, "replaced": {"fresh": 1}})

    assert (await store.get(f"{C}/a")).data == {
        "keep": 1, "map": {"x": 1, "y": 2}, "new": {"deep": {"z": 3}}, "replaced": {"fresh": 1}}


async def test_update_of_a_missing_document_raises_not_found_and_creates_nothing(store):
    with pytest.raises(NotFound):
        await store.update(f"{C}/a", {"n": 1})

    assert await store.get(f"{C}/a") is None


@pytest.mark.parametrize("changes", [{}, {"map": {}, "map.x": 2}, {"a..b": 1}, {"a/b": 1}],
                         ids=["nothing", "field-and-sub-field", "empty-segment", "slash"])
async def test_updates_that_cannot_address_fields_are_refused(store, changes):
    await store.create(f"{C}/a", {"n": 1})

    with pytest.raises(InvalidValue):
        await store.update(f"{C}/a", changes)

    assert (await store.get(f"{C}/a")).data == {"n": 1}


async def test_delete_removes_and_deleting_a_missing_document_is_fine(store):
    await store.create(f"{C}/a", {"n": 1})

    await store.delete(f"{C}/a")
    await store.delete(f"{C}/a")

    assert await store.get(f"{C}/a") is None


async def test_every_write_gives_a_new_version_even_after_delete_and_recreate(store):
    first = await store.create(f"{C}/a", {"n": 1})
    second = await store.set(f"{C}/a", {"n": 2})
    third = await store.update(f"{C}/a", {"n": 3})
    await store.delete(f"{C}/a")
    fourth = await store.create(f"{C}/a", {"n": 4})

    assert len({first.version, second.version, third.version, fourth.version}) == 4
    assert (await store.get(f"{C}/a")).version == fourth.version


async def test_update_with_the_current_version_succeeds_and_with_a_stale_one_fails(store):
    stale = await store.create(f"{C}/a", {"n": 1})
    current = await store.update(f"{C}/a", {"n": 2}, if_version=stale.version)

    with pytest.raises(PreconditionFailed):
        await store.update(f"{C}/a", {"n": 99}, if_version=stale.version)

    assert (await store.get(f"{C}/a")).data == {"n": 2}
    await store.update(f"{C}/a", {"n": 3}, if_version=current.version)
    assert (await store.get(f"{C}/a")).data == {"n": 3}


async def test_conditional_writes_on_a_missing_document_fail_the_precondition(store):
    gone = await store.create(f"{C}/a", {"n": 1})
    await store.delete(f"{C}/a")

    with pytest.raises(PreconditionFailed):
        await store.update(f"{C}/a", {"n": 2}, if_version=gone.version)
    with pytest.raises(PreconditionFailed):
        await store.delete(f"{C}/a", if_version=gone.version)


async def test_a_version_the_store_never_issued_fails_the_precondition(store):
    await store.create(f"{C}/a", {"n": 1})

    with pytest.raises(PreconditionFailed):
        await store.update(f"{C}/a", {"n": 2}, if_version="not-a-version")

    assert (await store.get(f"{C}/a")).data == {"n": 1}


async def test_delete_with_a_stale_version_fails_and_keeps_the_document(store):
    stale = await store.create(f"{C}/a", {"n": 1})
    current = await store.update(f"{C}/a", {"n": 2})

    with pytest.raises(PreconditionFailed):
        await store.delete(f"{C}/a", if_version=stale.version)

    assert await store.get(f"{C}/a") is not None
    await store.delete(f"{C}/a", if_version=current.version)
    assert await store.get(f"{C}/a") is None


# ---------------------------------------------------------------- values


async def test_datetimes_come_back_as_aware_utc_with_microseconds(store):
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=paris)
    await store.create(f"{C}/a", {"ts": moment, "nested": {"list": [moment]}})

    data = (await store.get(f"{C}/a")).data

    for value in (data["ts"], data["nested"]["list"][0]):
        assert type(value) is datetime
        assert value.tzinfo == timezone.utc
        assert value == moment and value.microsecond == 123456


async def test_timestamps_from_year_1_to_9999_read_back_and_sort_as_instants(store):
    moments = [datetime(1, 1, 1, 0, 0, 1, tzinfo=timezone.utc), datetime(999, 12, 31, 23, 59, tzinfo=timezone.utc),
               datetime(1000, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)]
    await store.batch([Write("create", f"{C}/m{i}", {"ts": moment}) for i, moment in enumerate(reversed(moments))])

    assert [(await store.get(f"{C}/m{i}")).data["ts"] for i in range(4)] == list(reversed(moments))
    ordered = await store.query(C, where=[Filter("ts", "<", datetime(2000, 1, 1, tzinfo=timezone.utc))], order_by=[Order("ts")])
    assert [d.data["ts"] for d in ordered] == moments[:3]


async def test_a_batch_gives_every_document_it_writes_a_new_version(store):
    before = await store.create(f"{C}/a", {"n": 0})
    await store.batch([Write("set", f"{C}/a", {"n": 1}), Write("create", f"{C}/b", {"n": 1}),
                       Write("update", f"{C}/a", {"n": 2})])
    await store.batch([Write("set", f"{C}/c", {"n": 1})])

    a, b, c = [await store.get(f"{C}/{name}") for name in "abc"]
    assert a.data == {"n": 2} and b.data == {"n": 1}
    assert a.version != before.version and b.version is not None
    assert c.version not in (a.version, b.version)  # a later batch (Firestore: one commit time per batch)
    with pytest.raises(PreconditionFailed):
        await store.update(f"{C}/a", {"n": 3}, if_version=before.version)
    await store.update(f"{C}/a", {"n": 3}, if_version=a.version)
    assert (await store.get(f"{C}/a")).data == {"n": 3}


@pytest.mark.parametrize("write", [
    lambda s: s.create(f"{C}/a", {"ts": datetime(2026, 1, 1)}),
    lambda s: s.set(f"{C}/a", {"deep": {"ts": [datetime(2026, 1, 1)]}}),
    lambda s: s.update(f"{C}/a", {"ts": datetime(2026, 1, 1)}),
    lambda s: s.query(C, where=[Filter("ts", ">=", datetime(2026, 1, 1))]),
], ids=["create", "set", "update", "filter"])
async def test_naive_datetimes_are_refused(store, write):
    await store.create(f"{C}/existing", {"n": 1})

    with pytest.raises(InvalidValue):
        await write(store)

    assert await store.get(f"{C}/a") is None


async def test_values_a_store_cannot_hold_are_refused(store):
    for bad in ({"s": {1, 2}}, {"o": object()}, {"b": b"bytes"}, {1: "non-string key"}):
        with pytest.raises(InvalidValue):
            await store.create(f"{C}/a", bad)
    assert await store.get(f"{C}/a") is None


async def test_range_filters_on_ts_select_exactly_one_utc_day(store):
    await fill(store, {f"h{i:03d}": {"ts": T0 + timedelta(minutes=30 * i)} for i in range(3 * 48)})
    day = T0 + timedelta(days=1)

    page = await store.query(C, where=[Filter("ts", ">=", day), Filter("ts", "<", day + timedelta(days=1))],
                             order_by=[Order("ts")])

    assert [doc.get("ts") for doc in page] == [day + timedelta(minutes=30 * i) for i in range(48)]


async def test_range_filters_compare_instants_not_text_across_time_zones(store):
    await fill(store, {"early": {"ts": T0}, "late": {"ts": T0 + timedelta(hours=5)}})
    same_instant_elsewhere = (T0 + timedelta(hours=5)).astimezone(timezone(timedelta(hours=-8)))

    assert ids(await store.query(C, where=[Filter("ts", ">=", same_instant_elsewhere)])) == ["late"]


# ---------------------------------------------------------------- queries


@pytest.fixture
async def numbers(store):
    await fill(store, {f"d{n}": {"n": n, "kind": "even" if n % 2 == 0 else "odd", "meta": {"tier": n // 4}}
                       for n in range(10)})
    return store


@pytest.mark.parametrize("flt, expected", [
    (Filter("n", "==", 3), [3]),
    (Filter("n", "<", 3), [0, 1, 2]),
    (Filter("n", "<=", 3), [0, 1, 2, 3]),
    (Filter("n", ">", 7), [8, 9]),
    (Filter("n", ">=", 7), [7, 8, 9]),
    (Filter("n", "in", [1, 5, 42]), [1, 5]),
    (Filter("kind", "==", "odd"), [1, 3, 5, 7, 9]),
    (Filter("meta.tier", "==", 2), [8, 9]),
    (Filter("meta.tier", "in", [0, 2]), [0, 1, 2, 3, 8, 9]),
], ids=["eq", "lt", "le", "gt", "ge", "in", "eq-string", "nested-eq", "nested-in"])
async def test_each_filter_operator_selects_the_matching_documents(numbers, flt, expected):
    found = await numbers.query(C, where=[flt], order_by=[Order("n")])

    assert [doc.get("n") for doc in found] == expected


async def test_filters_compare_within_one_type_only(store):
    await fill(store, {"number": {"v": 5}, "text": {"v": "5"}, "when": {"v": T0}, "null": {"v": None}})

    assert ids(await store.query(C, where=[Filter("v", ">", 1)])) == ["number"]
    assert ids(await store.query(C, where=[Filter("v", ">=", "")])) == ["text"]
    assert ids(await store.query(C, where=[Filter("v", "<", T0 + timedelta(days=1))])) == ["when"]
    assert ids(await store.query(C, where=[Filter("v", "==", None)])) == ["null"]


async def test_in_with_more_than_thirty_values_is_refused(store):
    with pytest.raises(InvalidValue):
        await store.query(C, where=[Filter("n", "in", list(range(31)))])


async def test_order_descending_with_limit_gives_the_top(numbers):
    top = await numbers.query(C, order_by=[Order("n", descending=True)], limit=3)

    assert [doc.get("n") for doc in top] == [9, 8, 7]


async def test_ties_are_broken_by_document_id_in_the_direction_of_the_last_order(numbers):
    ascending = await numbers.query(C, order_by=[Order("kind")])
    descending = await numbers.query(C, order_by=[Order("kind", descending=True)])

    assert ids(ascending) == ["d0", "d2", "d4", "d6", "d8", "d1", "d3", "d5", "d7", "d9"]
    assert ids(descending) == ["d9", "d7", "d5", "d3", "d1", "d8", "d6", "d4", "d2", "d0"]


async def test_a_range_filter_without_an_order_sorts_by_the_filtered_field(store):
    await fill(store, {"a": {"n": 3}, "b": {"n": 1}, "c": {"n": 2}})

    assert ids(await store.query(C, where=[Filter("n", ">", 0)], limit=2)) == ["b", "c"]


async def test_ordering_leaves_out_documents_without_the_field(store):
    await fill(store, {"with": {"n": 1}, "without": {"m": 1}})

    assert ids(await store.query(C, order_by=[Order("n")])) == ["with"]
    assert ids(await store.query(C)) == ["with", "without"]


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
async def test_cursor_pages_visit_each_of_1234_documents_exactly_once(store, descending):
    await fill(store, {f"doc{i:04d}": {"bucket": i % 7, "i": i} for i in range(1234)})
    order = [Order("bucket", descending=descending)]

    seen, cursor = [], None
    while True:
        page = await store.query(C, order_by=order, limit=100, start_after=cursor)
        seen += ids(page)
        if len(page) < 100:
            break
        cursor = page[-1]

    assert len(seen) == 1234 and len(set(seen)) == 1234
    expected = sorted(range(1234), key=lambda i: (i % 7, i), reverse=descending)
    assert seen == [f"doc{i:04d}" for i in expected]


async def test_a_cursor_document_from_another_query_still_positions_by_its_values(store):
    await fill(store, {f"d{i}": {"n": i} for i in range(6)})
    cursor = await store.get(f"{C}/d2")

    after = await store.query(C, order_by=[Order("n")], start_after=Document(cursor.path, cursor.data))

    assert ids(after) == ["d3", "d4", "d5"]


async def test_stream_reads_every_matching_document_across_pages(store):
    await fill(store, {f"d{i:03d}": {"n": i} for i in range(230)})

    streamed = [doc.get("n") async for doc in store.stream(C, where=[Filter("n", ">=", 20)],
                                                          order_by=[Order("n", descending=True)], page_size=50)]

    assert streamed == list(range(229, 19, -1))


async def test_count_counts_the_matching_documents(numbers):
    assert await numbers.count(C) == 10
    assert await numbers.count(C, where=[Filter("n", ">=", 4), Filter("kind", "==", "even")]) == 3
    assert await numbers.count(f"{C}/d1/children") == 0


async def test_documents_of_a_subcollection_are_not_in_the_parent_collection(store):
    await store.create(f"{C}/parent", {"n": 1})
    await store.create(f"{C}/parent/children/kid", {"n": 2})

    assert ids(await store.query(C)) == ["parent"]
    assert ids(await store.query(f"{C}/parent/children")) == ["kid"]


# ---------------------------------------------------------------- batches and transactions


async def test_a_batch_applies_create_set_update_and_delete_together(store):
    await fill(store, {"old": {"n": 1}, "kept": {"n": 1, "m": 1}})

    await store.batch([
        Write("create", f"{C}/new", {"n": 2}),
        Write("set", f"{C}/kept", {"m": 2}, merge=True),
        Write("update", f"{C}/kept", {"x.y": 3}),
        Write("delete", f"{C}/old"),
    ])

    assert ids(await store.query(C)) == ["kept", "new"]
    assert (await store.get(f"{C}/kept")).data == {"n": 1, "m": 2, "x": {"y": 3}}


async def test_a_batch_with_a_failing_create_applies_nothing(store):
    await fill(store, {"taken": {"n": 1}, "doomed": {"n": 1}})

    with pytest.raises(AlreadyExists):
        await store.batch([
            Write("create", f"{C}/fresh", {"n": 2}),
            Write("set", f"{C}/doomed", {"n": 99}),
            Write("delete", f"{C}/doomed"),
            Write("create", f"{C}/taken", {"n": 2}),
        ])

    assert ids(await store.query(C)) == ["doomed", "taken"]
    assert (await store.get(f"{C}/doomed")).data == {"n": 1}


async def test_a_large_mixed_batch_ends_as_its_writes_applied_in_order(store):
    """Creates and plain sets of many documents, interleaved with merges, updates, deletes and
    repeated paths (SQLite writes runs of them as one statement: the result must not show it)."""
    await fill(store, {f"u{i}": {"n": -1, "keep": i} for i in range(20)})
    writes, expected = [], {f"u{i}": {"n": -1, "keep": i} for i in range(20)}
    for i in range(60):
        writes += [Write("create", f"{C}/c{i}", {"n": i}), Write("set", f"{C}/s{i}", {"n": i})]
        expected[f"c{i}"], expected[f"s{i}"] = {"n": i}, {"n": i}
        if i < 20:
            writes.append(Write("update", f"{C}/u{i}", {"n": i}))
            expected[f"u{i}"] = {"n": i, "keep": i}
        if i % 10 == 0:  # the same document again, later in the batch
            writes += [Write("set", f"{C}/c{i}", {"n": -i}), Write("set", f"{C}/s{i}", {"m": 1}, merge=True)]
            expected[f"c{i}"], expected[f"s{i}"] = {"n": -i}, {"n": i, "m": 1}
        if i % 15 == 0:
            writes.append(Write("delete", f"{C}/s{i}"))
            del expected[f"s{i}"]
    assert len(writes) <= 500

    await store.batch(writes)

    assert {d.id: d.data for d in await store.query(C)} == expected


async def test_a_create_of_an_existing_document_among_hundreds_refuses_the_batch_and_names_it(store):
    await fill(store, {"d137": {"n": 1}})

    with pytest.raises(AlreadyExists) as refused:
        await store.batch([Write("create", f"{C}/d{i}", {"n": i}) for i in range(300)])

    assert "d137" in str(refused.value)
    assert ids(await store.query(C)) == ["d137"]


async def test_a_batch_with_an_unknown_write_kind_is_refused_whole(store):
    with pytest.raises(InvalidValue):
        await store.batch([Write("create", f"{C}/fine", {"n": 1}), Write("upsert", f"{C}/odd", {"n": 1})])
    assert await store.count(C) == 0


async def test_a_batch_of_more_than_500_writes_is_refused(store):
    with pytest.raises(InvalidValue):
        await store.batch([Write("create", f"{C}/d{i}", {"n": i}) for i in range(501)])
    assert await store.count(C) == 0


async def test_a_transaction_reads_then_writes_and_returns_the_function_result(store):
    await store.create(f"{C}/counter", {"n": 41})

    async def bump(tx):
        doc = await tx.get(f"{C}/counter")
        missing = await tx.get(f"{C}/log")
        tx.update(f"{C}/counter", {"n": doc.get("n") + 1})
        tx.create(f"{C}/log", {"saw": doc.get("n"), "log_existed": missing is not None})
        return "done"

    assert await store.transaction(bump) == "done"
    assert (await store.get(f"{C}/counter")).data == {"n": 42}
    assert (await store.get(f"{C}/log")).data == {"saw": 41, "log_existed": False}


async def test_a_transaction_whose_function_raises_writes_nothing(store):
    await store.create(f"{C}/counter", {"n": 1})

    async def fail_after_writing(tx):
        await tx.get(f"{C}/counter")
        tx.set(f"{C}/counter", {"n": 2})
        tx.create(f"{C}/other", {"n": 1})
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await store.transaction(fail_after_writing)

    assert (await store.get(f"{C}/counter")).data == {"n": 1}
    assert await store.get(f"{C}/other") is None
    await store.update(f"{C}/counter", {"n": 3})  # the store is usable afterwards


async def test_a_transaction_whose_commit_fails_writes_nothing(store):
    await fill(store, {"taken": {"n": 1}})

    async def create_taken(tx):
        tx.create(f"{C}/fresh", {"n": 1})
        tx.create(f"{C}/taken", {"n": 2})

    with pytest.raises(AlreadyExists):
        await store.transaction(create_taken)

    assert ids(await store.query(C)) == ["taken"]


async def test_a_read_after_a_write_in_a_transaction_is_refused(store):
    async def write_then_read(tx):
        tx.set(f"{C}/a", {"n": 1})
        await tx.get(f"{C}/b")

    with pytest.raises(StoreError, match="before the first write"):
        await store.transaction(write_then_read)
    assert await store.get(f"{C}/a") is None


async def test_a_write_from_another_task_during_a_transaction_is_not_part_of_it(store):
    inside, release = asyncio.Event(), asyncio.Event()

    async def read_wait_and_fail(tx):
        await tx.get(f"{C}/x")
        inside.set()
        await release.wait()
        tx.set(f"{C}/x", {"n": 1})
        raise RuntimeError("abort")

    transaction = asyncio.create_task(store.transaction(read_wait_and_fail))
    await inside.wait()
    outside = asyncio.create_task(store.set(f"{C}/outside", {"n": 1}))
    release.set()

    with pytest.raises(RuntimeError, match="abort"):
        await transaction
    await outside
    assert ids(await store.query(C)) == ["outside"]


async def test_using_the_store_itself_inside_a_transaction_is_refused(store):
    async def bypass(tx):
        await store.get(f"{C}/a")

    async def nest(tx):
        await store.transaction(bypass)

    for fn in (bypass, nest):
        with pytest.raises(StoreError, match="inside"):
            await store.transaction(fn)
    await store.set(f"{C}/a", {"n": 1})  # and the store is usable afterwards


async def increment(store, path: str, times: int) -> None:
    async def once(tx):
        doc = await tx.get(path)
        await asyncio.sleep(0)  # let the other writer run between this read and this write
        tx.set(path, {"n": doc.get("n") + 1})

    for _ in range(times):
        await store.transaction(once)


async def test_concurrent_transactions_on_one_store_lose_no_update(store):
    await store.create(f"{C}/counter", {"n": 0})

    await asyncio.gather(increment(store, f"{C}/counter", 20), increment(store, f"{C}/counter", 20))

    assert (await store.get(f"{C}/counter")).get("n") == 40


async def test_transactions_from_two_store_objects_lose_no_update(store, store_factory):
    other = store_factory()
    await store.create(f"{C}/counter", {"n": 0})

    await asyncio.gather(increment(store, f"{C}/counter", 2), increment(other, f"{C}/counter", 2))

    assert (await store.get(f"{C}/counter")).get("n") == 4


async def test_delete_where_deletes_every_match_in_bounded_batches(store):
    await fill(store, {f"d{i:03d}": {"old": i < 450} for i in range(500)})

    deleted = await store.delete_where(C, where=[Filter("old", "==", True)], batch_size=200)

    assert deleted == 450
    assert await store.count(C) == 50
    assert await store.count(C, where=[Filter("old", "==", True)]) == 0


# ---------------------------------------------------------------- paths and instances


@pytest.mark.parametrize("path", [
    f"{C}/..", f"{C}/.", f"{C}//a", f"{C}/a/", f"/{C}/a", f"{C}/__x__", f"{C}/" + "x" * 2048, C, "",
], ids=["dotdot", "dot", "empty-segment", "trailing-slash", "leading-slash", "reserved", "2kb-id",
        "collection-path", "empty"])
async def test_invalid_document_paths_are_refused_before_reaching_the_backend(store, path):
    for call in (lambda: store.get(path), lambda: store.create(path, {"n": 1}),
                 lambda: store.set(path, {"n": 1}), lambda: store.delete(path),
                 lambda: store.batch([Write("create", path, {"n": 1})])):
        with pytest.raises(InvalidPath):
            await call()


@pytest.mark.parametrize("collection", [f"{C}/doc", "", f"{C}/../x"], ids=["document-path", "empty", "dotdot"])
async def test_invalid_collection_paths_are_refused(store, collection):
    with pytest.raises(InvalidPath):
        await store.query(collection)
    with pytest.raises(InvalidPath):
        await store.count(collection)


async def test_two_store_objects_on_the_same_backend_see_each_others_writes(store, store_factory):
    other = store_factory()

    await store.create(f"{C}/from-first", {"n": 1})
    await other.create(f"{C}/from-second", {"n": 2})
    await other.update(f"{C}/from-first", {"n": 10})

    assert (await store.get(f"{C}/from-second")).data == {"n": 2}
    assert (await store.get(f"{C}/from-first")).data == {"n": 10}
    assert ids(await other.query(C)) == ["from-first", "from-second"]


async def test_ping_answers_on_a_healthy_store(store):
    await store.ping()
