"""The CLI fixture of tests/cli, for the tests that drive the CLI and the admin API alike."""

from tests.cli.conftest import cli  # noqa: F401 - a fixture
