"""Fixtures for the metrics tests: the fake-clock cluster of tests/jobs, on SQLite and Firestore."""

from tests.jobs.conftest import clock, cluster  # noqa: F401  (fixtures shared with the job tests)
