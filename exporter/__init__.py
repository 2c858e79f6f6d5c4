"""longrun: long-run instrumentation for an always-on backend.

The package is laid out by concept, and imports point one way (tests/test_layers.py):

- ``exporter.domain``    pure rules and the vocabulary (probe types, severities, incident types),
                         document shapes; imports nothing else of the project.
- ``exporter.store``     the document store interface, its SQLite and Firestore backends, ``Paths``.
- ``exporter.services``  the I/O around the rules: incidents, probes, rollups, retention, config,
                         maintenance, and the operator procedures the API and the CLI share.
- ``exporter.jobs``      the scheduler, the lease, and the jobs it runs on the leader.
- ``exporter.metrics``   the catalog, the collector (reading ``MetricSources``), the refresh loop.
- ``exporter.reports``   the report and verify commands' gathering and rendering.
- ``exporter.web``       the aiohttp application: health, /metrics, admin API, status page.
- ``exporter.cli``       the ``longrun`` command.
- ``exporter.runtime``   ``Runtime.build``: every part, wired from the settings.
- ``exporter.server``    ``serve()``: the HTTP server and the loops, in one TaskGroup.

``alerting`` (beside it) holds the Alertmanager webhook, the Telegram delivery and chat-ops.
"""

__version__ = "0.2.0"
