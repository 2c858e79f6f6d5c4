"""``split_path`` remembers the collections it found valid, to check a storm's thousands of paths
by their last segment only: it must accept and refuse exactly what checking every segment does."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from exporter.store.base import InvalidPath, split_path, validate_collection, validate_id

segments = st.one_of(st.sampled_from(["a", "b", "", ".", "..", "__x__", "_x_", "c\x00d", "é" * 800]),
                     st.text(alphabet="ab_.", min_size=0, max_size=4))
paths = st.lists(segments, min_size=1, max_size=5).map("/".join)


def reference(path: str) -> tuple[str, str] | None:
    """Every segment checked, every time: (collection, id), or None when refused."""
    parts = path.split("/")
    try:
        for part in parts:
            validate_id(part)
    except InvalidPath:
        return None
    return ("/".join(parts[:-1]), parts[-1]) if path and len(parts) % 2 == 0 else None


def outcome(call, path):
    try:
        return call(path)
    except InvalidPath:
        return None


@settings(max_examples=150, deadline=None)
@given(st.lists(paths, min_size=1, max_size=12))
def test_splitting_after_any_history_of_paths_agrees_with_checking_every_segment(history):
    for path in history:  # some of them leave their collection remembered
        outcome(validate_collection, path)
        outcome(split_path, path)
        for probe in (path, f"{path}/z", path.rpartition("/")[0], f"{path}/z/y"):  # below and above it
            assert outcome(split_path, probe) == reference(probe), probe
