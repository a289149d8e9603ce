"""The Farcaster read API (/v1/farcaster/ in `switchyard api`): profiles, casts, threads, feeds,
search and trending over the indexed tables, with counters kept by triggers (models.py),
bearer auth when configured, a per-caller rate limit and a short-lived response cache in Redis."""
from __future__ import annotations

import redis
from fastapi import FastAPI

from app.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    from app.farcaster.read_api.cache import ResponseCache
    from app.farcaster.read_api.database import read_engine
    from app.farcaster.read_api.errors import install_handler
    from app.farcaster.read_api.rate_limit import RateLimiter
    from app.farcaster.read_api.routes import build_router

    client = redis.Redis.from_url(settings.cache_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    limiter = RateLimiter(client, settings.farcaster_api_rate_limit_per_minute)
    cache = ResponseCache(client, settings.farcaster_api_cache_ttl_seconds,
                          private=settings.farcaster_api_auth_configured)
    app.include_router(build_router(settings, read_engine(settings), limiter, cache))
    install_handler(app)
