"""Switchyard settings: one typed object, read once from the environment (and an optional .env).

The object joins the platform's settings class (app/platform/settings.py), each pipeline's
(app/<pipeline>/settings.py, named in its declaration) and one override per pool field.
Every field maps to the upper-case environment variable of the same name
(``redis_url`` <- ``REDIS_URL``). Defaults work on a development machine with
local Redis and PostgreSQL and no configuration at all.
"""
from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.pipelines import PIPELINES
from app.platform.pool import Pool
from app.platform.settings import PlatformSettings
from workers.pools import POOLS, POOLS_BY_NAME

POOL_OVERRIDE_FIELDS = ("concurrency", "prefetch_multiplier", "soft_time_limit", "time_limit", "max_tasks_per_child")


class SettingsError(RuntimeError):
    """Raised at start-up when a setting is missing or invalid; the message names the variable."""


def pool_env_prefix(pool_name: str) -> str:
    return pool_name.upper().replace("-", "_")


def _pool_override_field(pool: Pool, field: str) -> str:
    return f"{pool_env_prefix(pool.name)}_{field}".lower()


# Per-pool overrides (IMAGE_UPLOAD_CONCURRENCY=20, BACKFILL_TIME_LIMIT=3600, ...) are
# generated from workers.POOLS so a new pool gets its variables without edits here.
_PoolOverrides = create_model(  # type: ignore[call-overload]
    "_PoolOverrides",
    __base__=BaseSettings,
    **{
        _pool_override_field(pool, field): (int | None, Field(default=None, ge=1))
        for pool in POOLS
        for field in POOL_OVERRIDE_FIELDS
    },
)


# The platform's fields, each pipeline's (app/<pipeline>/settings.py) and the pool overrides.
_BASES = (PlatformSettings, *(p.settings for p in PIPELINES if p.settings is not None), _PoolOverrides)


class Settings(*_BASES):  # type: ignore[misc]
    model_config = SettingsConfigDict(
        env_file=os.environ.get("SWITCHYARD_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    def pool(self, name: str) -> Pool:
        """The pool as defined in workers/, with this environment's overrides applied."""
        base = POOLS_BY_NAME[name]
        return base.with_overrides(
            **{field: getattr(self, _pool_override_field(base, field)) for field in POOL_OVERRIDE_FIELDS}
        )

    def pools(self) -> list[Pool]:
        return [self.pool(p.name) for p in POOLS]


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        lines.append(f"  {field.upper()}: {item['msg']} (got {item.get('input')!r})")
    return "invalid Switchyard settings:\n" + "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings now; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
