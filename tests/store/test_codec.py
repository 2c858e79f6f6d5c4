"""The SQLite store's one-walk encoder (``encode_document``) against the two-step path it replaces
(``encode_value(document_data(...))``): the same output, or the same refusal, for any value."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from exporter.store.base import InvalidValue
from exporter.store.codec import TS_TAG, decode_value, document_data, encode_document, encode_value


class Level(enum.IntEnum):
    LOW = 1


class Name(str, enum.Enum):
    A = "a"


zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None])
timestamps = st.builds(lambda d, tz: d.replace(tzinfo=tz),
                       st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**64, max_value=2**64), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.just(TS_TAG + "2026"), timestamps, st.just(Level.LOW), st.just(Name.A),
    st.just(b"bytes"), st.just({1, 2}),
)
keys = st.one_of(st.text(max_size=6), st.just(""), st.integers(min_value=0, max_value=3))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20)


def two_steps(data):
    try:
        return "ok", encode_value(document_data(data))
    except (InvalidValue, ValueError, TypeError, OverflowError) as exc:
        return "refused", (type(exc), str(exc))


def one_walk(data):
    try:
        return "ok", encode_document(data)
    except (InvalidValue, ValueError, TypeError, OverflowError) as exc:
        return "refused", (type(exc), str(exc))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_one_walk_encodes_or_refuses_exactly_like_the_two_steps(data):
    assert one_walk(data) == two_steps(data)


@given(values)
def test_anything_that_is_not_a_map_is_refused_alike(data):
    assert one_walk(data) == two_steps(data)


def test_timestamps_keep_the_fixed_width_utc_text_their_order_relies_on():
    local = datetime(2026, 12, 3, 1, 30, 5, 7, tzinfo=timezone(timedelta(hours=2)))
    encoded = encode_document({"ts": local, "early": datetime(999, 1, 1, tzinfo=timezone.utc)})
    assert encoded["ts"] == TS_TAG + "2026-12-02T23:30:05.000007Z"
    assert decode_value(encoded)["ts"] == local
    assert encoded["early"] == TS_TAG + "0999-01-01T00:00:00.000000Z"  # was "999-...", unreadable
    assert decode_value(encoded)["early"] == datetime(999, 1, 1, tzinfo=timezone.utc)
    assert encoded == encode_value(document_data({"ts": local, "early": datetime(999, 1, 1, tzinfo=timezone.utc)}))
