"""Typed keys for what the aiohttp application shares with its routes."""

from aiohttp import web

from exporter.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
