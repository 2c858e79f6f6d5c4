"""Planning digests: whole messages merged in order, titles not repeated, nothing overtaking a barrier. Pure."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.digest import Barrier, Source, plan
from alerting.telegram.format import LIMIT, utf16_len
from tests.fixtures.fake_telegram import check_telegram_html


def source(i: int, alerts: int, title: str = "▸ <b>alertname=A</b>") -> Source:
    return Source(f"m{i}", (title, *(f"🔥 <b>A</b> n={i}.{k} · since 11:50" for k in range(alerts))))


def test_small_messages_are_merged_whole_in_order_with_each_title_once():
    queue = [source(i, 2) for i in range(30)]

    [digest] = plan(queue)

    assert digest.sources == tuple(f"m{i}" for i in range(30))
    assert digest.lines.count("▸ <b>alertname=A</b>") == 1
    alert_lines = [line for line in digest.lines if not line.startswith("▸")]
    assert alert_lines == [f"🔥 <b>A</b> n={i}.{k} · since 11:50" for i in range(30) for k in range(2)]
    assert digest.text.startswith("📦 <b>Digest of 60 alerts</b>")
    assert utf16_len(digest.text) <= LIMIT and check_telegram_html(digest.text)[0] is None


def test_a_title_comes_back_when_another_group_came_between():
    [digest] = plan([source(0, 1, "▸ <b>a</b>"), source(1, 1, "▸ <b>b</b>"), source(2, 1, "▸ <b>a</b>")])
    assert [line for line in digest.lines if line.startswith("▸")] == ["▸ <b>a</b>", "▸ <b>b</b>", "▸ <b>a</b>"]


def test_nothing_is_merged_across_a_barrier_and_a_lone_message_stays_as_it_is():
    queue = [source(0, 1), source(1, 1), Barrier(), source(2, 1), Barrier(), source(3, 1), source(4, 1)]
    assert [d.sources for d in plan(queue)] == [("m0", "m1"), ("m3", "m4")]


def test_messages_without_lines_or_too_big_alone_are_never_merged():
    huge = Source("huge", ("▸ <b>t</b>", *["x" * 100] * 60))
    empty = Source("empty", ())
    assert [d.sources for d in plan([source(0, 1), huge, source(1, 1), empty, source(2, 1)])] == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=0, max_value=45), st.none()), min_size=1, max_size=100))
def test_every_alert_line_lands_in_exactly_one_digest_or_stays_and_each_digest_fits(sizes):
    queue = [Barrier() if n is None else source(i, n) for i, n in enumerate(sizes)]
    digests = plan(queue)
    merged = [s for d in digests for s in d.sources]
    assert len(merged) == len(set(merged))
    for d in digests:
        assert len(d.sources) >= 2 and utf16_len(d.text) <= LIMIT
        wanted = [line for i in d.sources for line in source(int(i[1:]), sizes[int(i[1:])]).lines[1:]]
        assert [line for line in d.lines if not line.startswith("▸")] == wanted
        positions = [int(i[1:]) for i in d.sources]
        assert positions == list(range(positions[0], positions[-1] + 1))  # consecutive: order kept
