"""longrun: long-run instrumentation for an always-on backend.

The package is laid out by concept:

- ``exporter.domain``  pure rules (slots, runtime config, leases); no I/O.
- ``exporter.store``   the document store interface and its SQLite and Firestore backends.
- ``exporter.jobs``    the scheduler, the lease lock and the jobs it runs.
- ``exporter.web``     the aiohttp application (health, and later metrics and admin API).
- ``exporter.cli``     the ``longrun`` command.
"""

__version__ = "0.2.0"
