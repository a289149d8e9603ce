"""Engines and sessions: one engine per database URL and process.

Engines are created lazily and their inherited connections are dropped after a
fork (prefork children must never share the parent's sockets).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg  # noqa: F401 - imported here, before prefork forks, not by each child's first engine
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.settings import get_settings

# Both ends notice a peer that vanished (host powered off or cut off) within ~15 s: the server
# ends the session and releases its locks (a write's lease lock would otherwise block the
# take-over of its work for the kernel's default two hours), the client stops waiting.
DEAD_PEER_DETECTION = {
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
    "tcp_user_timeout": 15000,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
               " -c tcp_user_timeout=15000",
}

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    settings = get_settings()
    url = url or settings.database_url
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = create_engine(
                    url,
                    pool_size=settings.database_pool_size,
                    max_overflow=settings.database_pool_size,
                    pool_pre_ping=True,  # survive PostgreSQL restarts without failing a task
                    pool_recycle=1800,
                    # An unreachable host fails fast (health checks, CLI) instead of hanging.
                    connect_args={"connect_timeout": 5, **DEAD_PEER_DETECTION},
                )
                _engines[url] = engine
    return engine


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Forget inherited pooled connections without closing the parent's sockets."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=dispose_engines)
