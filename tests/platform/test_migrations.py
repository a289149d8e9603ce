"""Schema only through Alembic: upgrade on an empty database, downgrade to base, and back."""
from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from app.db.migrate import downgrade, ensure_database, upgrade
from tests.conftest import PG_SERVER, TEST_DATABASE


def test_upgrade_downgrade_upgrade_on_an_empty_database():
    url = f"{PG_SERVER}/{TEST_DATABASE}_migrations"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}_migrations" WITH (FORCE)'))
    assert ensure_database(url) is True
    assert ensure_database(url) is False
    engine = create_engine(url)
    try:
        upgrade(url)
        tables = set(inspect(engine).get_table_names())
        assert "jobs" in tables
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}_migrations" WITH (FORCE)'))
        admin.dispose()


def test_models_match_the_migrations(database):
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.db import get_engine
    from app.db.models_registry import metadata

    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_one_linear_history():
    """`alembic upgrade head` (singular, as documented) needs exactly one head."""
    from alembic.script import ScriptDirectory

    from app.db.migrate import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
