"""Operator reports over the store: ``longrun verify`` and ``longrun report``.

- ``probe_slots``  which scheduled probe slots a window expects, and which are missing (pure).
- ``model``        the long-run report: window verdicts plus the daily rows and incidents behind them (pure).
- ``gather``       reads the store page by page: heartbeat scans, probe keys, incidents, daily rollups.
- ``markdown``, ``html`` (with ``charts``)  renderers; JSON is ``LongRunReport.to_dict()``.

The verdicts themselves are ``exporter.domain.report``'s; nothing here re-decides them.
"""
