"""The read API's connection pool: its own engine, with PostgreSQL's JIT off (it compiled for
~70 ms on a feed query that runs in a few) and a statement timeout, so that one expensive
request (a search matching millions of casts) cannot hold a connection for long."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine

from app.settings import Settings

STATEMENT_TIMEOUT_MS = 10_000


def read_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5,
                      "options": f"-c jit=off -c statement_timeout={STATEMENT_TIMEOUT_MS}"},
    )
