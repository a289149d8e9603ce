"""PostgreSQL access: the declarative base, engines and sessions (SQLAlchemy 2 + psycopg 3)."""
from app.db.base import Base
from app.db.session import get_engine, get_sessionmaker, session_scope

__all__ = ["Base", "get_engine", "get_sessionmaker", "session_scope"]
