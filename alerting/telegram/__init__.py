"""The Telegram side, one concept per module:

- ``format``  pure: alert groups and incident changes as HTML messages within 4096 units.
- ``pacing``  the Bot API rate limits, waited out through the injected Clock.
- ``client``  the ``sendMessage`` call over aiohttp, its answer classified.

Nothing is re-exported here, so importing the pure ``format`` does not pull in aiohttp.
"""
