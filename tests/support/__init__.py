"""Helpers every test folder shares: waiting for a condition, times as the API writes them, the leader check.

    from tests.support import at_most_one_leader, eventually, iso, iso_ms, poll, reached
"""

from tests.support.leaders import at_most_one_leader
from tests.support.polling import eventually, poll, reached
from tests.support.times import iso, iso_ms

__all__ = ["at_most_one_leader", "eventually", "iso", "iso_ms", "poll", "reached"]
