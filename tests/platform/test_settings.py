"""Settings: one typed object from the environment, validated with messages naming the variable."""
from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings


def test_defaults_work_without_configuration(monkeypatch):
    for name in ("REDIS_URL", "DATABASE_URL", "RESULT_BACKEND_URL", "ENVIRONMENT", "CANARY_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.result_backend_url == "redis://127.0.0.1:6379/1"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.beat_redis_url == settings.redis_url
    assert settings.pool("image-upload").concurrency == 32


def test_bad_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://example.invalid")
    monkeypatch.setenv("BACKFILL_CONCURRENCY", "lots")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "REDIS_URL: Value error, must be a redis:// or rediss:// URL" in message
    assert "BACKFILL_CONCURRENCY" in message and "integer" in message


@pytest.mark.parametrize("name,value", [("FLOWER_PORT", "70000"), ("JOBS_RETENTION_DAYS", "-1"),
                                        ("ENVIRONMENT", "staging"), ("IMAGE_UPLOAD_CONCURRENCY", "0"),
                                        ("DATABASE_URL", "mysql://x/y"), ("FLOWER_BASIC_AUTH", "nopassword"),
                                        ("GC_GEN0_THRESHOLD", "-1")])
def test_invalid_values_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_per_pool_overrides_apply_only_to_their_pool(monkeypatch):
    monkeypatch.setenv("IMAGE_UPLOAD_CONCURRENCY", "24")
    monkeypatch.setenv("SUPPLIER_SYNC_TIME_LIMIT", "7200")
    settings = load_settings()
    assert settings.pool("image-upload").concurrency == 24
    assert settings.pool("supplier-sync").time_limit == 7200
    assert settings.pool("product-family").concurrency == 3


def test_plain_postgresql_urls_use_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/x")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/x"


def test_dotenv_file_is_read(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ANALYSIS_CONCURRENCY=7\n")
    monkeypatch.delenv("ANALYSIS_CONCURRENCY", raising=False)
    settings = load_settings(_env_file=str(env_file))
    assert settings.pool("analysis").concurrency == 7


def test_cli_reports_bad_settings_clearly(monkeypatch, capsys, reread_settings):
    from app.cli.main import main

    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    assert main(["worker", "backfill", "--print"]) == 2
    assert "DATABASE_URL: Value error, must be a postgresql:// URL" in capsys.readouterr().err
