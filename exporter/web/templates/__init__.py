"""Server-rendered HTML: pure functions from facts to escaped markup (no I/O, no aiohttp)."""
