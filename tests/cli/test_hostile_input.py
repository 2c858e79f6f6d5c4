"""Hostile CLI input (issue 18, item 12): one line on stderr, a usage exit, quickly, in little memory."""

from __future__ import annotations

import resource
import time

import pytest

from exporter.config_file import MAX_BYTES

BOMB = "\n".join(["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
                    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]
                 + ["LONGRUN_ROOT: *i"])


def refused(cli, path, *words):
    started = time.monotonic()
    result = cli("--config", str(path), "config", "show")
    took = time.monotonic() - started
    assert result.code != 0, result
    assert len(result.err_lines) == 1, result.err
    assert "--config" in result.err and all(word in result.err for word in words), result.err
    return took


@pytest.fixture
def store_backend() -> str:
    return "sqlite"  # the file is read before any store is opened


def test_an_alias_bomb_is_refused_at_once(cli, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    took = refused(cli, path, "aliases")
    assert took < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


@pytest.mark.parametrize("content, words", [
    ("LONGRUN_ROOT: " + "[" * 5000 + "]" * 5000, ("nested",)),
    ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 40)), ("nested",)),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00garbage\xff\xfe", ("NUL",)),
    (b"LONGRUN_ROOT: \xff\xfe\xfd", ("UTF-8",)),
    ("LONGRUN_ROOT: [unclosed", ("not valid YAML", "line")),
], ids=["deep-flow", "deep-block", "binary", "latin1", "broken"])
def test_deep_binary_and_broken_yaml_are_one_clean_line(cli, tmp_path, content, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    refused(cli, path, *words)


def test_a_huge_config_file_is_refused_without_reading_it_whole(cli, tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.write(b"# " + b"x" * (MAX_BYTES * 4) + b"\n")
    assert refused(cli, path, "KiB") < 5


@pytest.mark.parametrize("argv, words", [
    (("verify", "--window", "99999999d"), ("--window", "longer")),
    (("verify", "--end", "0001-01-01"), ("--end", "outside")),
    (("verify", "--end", "9999-12-31T23:59:59Z"), ("--end", "outside")),
    (("report", "--end", "0001-01-01"), ("--end", "outside")),
    (("report", "--end", "9999-12-31"), ("--end", "outside")),
    (("rollup", "--date", "0002-01-01"), ("--date", "outside")),
], ids=["verify-window", "verify-end-0001", "verify-end-9999", "report-end-0001", "report-end-9999", "rollup-0002"])
def test_far_windows_and_dates_are_usage_errors_not_overflow_bugs(cli, argv, words):
    result = cli(*argv)
    assert result.code == 64, result
    assert all(word in result.err for word in words) and "a bug" not in result.err, result.err
