"""The platform's settings: broker, database, job history, beat, worker processes, the dashboard.

Every field maps to the upper-case environment variable of the same name
(``redis_url`` <- ``REDIS_URL``); app.settings.Settings joins these with each pipeline's.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings


class PlatformSettings(BaseSettings):
    environment: Literal["development", "production", "test"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    redis_url: str = "redis://127.0.0.1:6379/0"  # the Celery broker
    result_backend_url: str = "redis://127.0.0.1:6379/1"  # a separate db: result TTL keys apart from queues
    redbeat_redis_url: str | None = None  # beat schedule + lock; defaults to REDIS_URL
    cache_redis_url: str | None = None  # rebuildable caches (target sets, limiters); defaults to REDIS_URL
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/switchyard"
    database_pool_size: int = Field(default=5, ge=1, le=100)

    jobs_retention_days: float = Field(default=7, gt=0)  # succeeded / revoked job records
    jobs_failed_retention_days: float = Field(default=30, gt=0)  # failed job records stay longer
    jobs_result_max_bytes: int = Field(default=65536, ge=1024)  # larger results are truncated in the jobs table
    canary_interval_seconds: float = Field(default=60, ge=0)  # 0 disables the per-queue liveness canaries
    beat_lock_timeout_seconds: int = Field(default=60, ge=5)  # a standby beat takes over after this
    # `switchyard up` restarts a pool whose queue had messages waiting and a free slot but started
    # nothing for this long (a Celery-on-Redis consumer can stall after reconnects); 0 disables.
    consumption_stall_seconds: float = Field(default=180, ge=0)
    # Work leases (app/platform/leases.py): a worker process heartbeats every LEASE_HEARTBEAT_SECONDS;
    # its leases expire LEASE_TTL_SECONDS after the last one; beat sweeps expired ones every
    # LEASE_SWEEP_INTERVAL_SECONDS. Loss -> re-sent <= ttl + sweep interval (README "Recovery").
    lease_heartbeat_seconds: float = Field(default=5, gt=0)
    lease_ttl_seconds: float = Field(default=20, gt=0)
    lease_sweep_interval_seconds: float = Field(default=10, gt=0)
    # Worker processes collect cyclic garbage every this many allocations (app/platform/gc_tuning.py); 0 keeps
    # Python's default (700), which spent most of a hub page's decoding time in the collector.
    gc_gen0_threshold: int = Field(default=50_000, ge=0)

    flower_port: int = Field(default=5555, ge=1, le=65535)
    flower_address: str = "127.0.0.1"
    flower_basic_auth: str | None = None  # "user:pass[,user2:pass2]"
    # OAuth instead of (or with) basic auth, as Flower's --auth/--auth_provider/--oauth2_* options:
    # the emails allowed (a regexp like ".*@example.com" or "a@x.com|b@x.com") and the login handler.
    flower_auth: str | None = None
    flower_auth_provider: str | None = None  # e.g. flower.views.auth.GithubLoginHandler
    flower_oauth2_key: str | None = None
    flower_oauth2_secret: str | None = Field(default=None, repr=False)
    flower_oauth2_redirect_uri: str | None = None
    # Basic-auth user names or OAuth emails who may only look: every dashboard and Flower action is refused.
    flower_readonly_users: str | None = None
    # A bearer token a Prometheus scraper sends for /metrics when the dashboard has authentication;
    # without it a scraper logs in like a person (basic auth).
    metrics_scrape_token: str | None = Field(default=None, repr=False)

    @field_validator("redis_url", "result_backend_url", "redbeat_redis_url", "cache_redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("lease_ttl_seconds")
    @classmethod
    def _ttl_outlasts_heartbeats(cls, value: float, info: ValidationInfo) -> float:
        beat = info.data.get("lease_heartbeat_seconds")
        if beat is not None and value < 2 * beat:
            raise ValueError(f"must be at least twice LEASE_HEARTBEAT_SECONDS ({beat}): one late heartbeat "
                             "must not expire a live worker's leases")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_scheme(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # Always use psycopg 3, whatever driver the URL names.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+psycopg://"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("flower_basic_auth")
    @classmethod
    def _basic_auth_pairs(cls, value: str | None) -> str | None:
        if value and any(":" not in pair for pair in value.split(",")):
            raise ValueError("must be user:password pairs separated by commas")
        return value or None

    @field_validator("flower_auth", "flower_auth_provider", "flower_oauth2_key", "flower_oauth2_secret",
                     "flower_oauth2_redirect_uri", "flower_readonly_users", "metrics_scrape_token")
    @classmethod
    def _empty_flower_option_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("flower_readonly_users")
    @classmethod
    def _readonly_users_exist(cls, value: str | None, info: ValidationInfo) -> str | None:
        # With basic auth alone, a viewer who is not a basic-auth user is a typo that would leave
        # the real user with full rights; OAuth emails cannot be checked here.
        basic = info.data.get("flower_basic_auth")
        if value and basic and not info.data.get("flower_auth"):
            known = {pair.split(":", 1)[0] for pair in basic.split(",")}
            unknown = sorted({name.strip() for name in value.split(",") if name.strip()} - known)
            if unknown:
                raise ValueError(f"not FLOWER_BASIC_AUTH users: {', '.join(unknown)}")
        return value

    @property
    def flower_auth_configured(self) -> bool:
        """Flower asks who you are (basic auth or OAuth)."""
        return bool(self.flower_basic_auth or self.flower_auth)

    @property
    def flower_viewers(self) -> frozenset[str]:
        """User names / emails who may only view the dashboard."""
        return frozenset(n.strip() for n in (self.flower_readonly_users or "").split(",") if n.strip())

    @property
    def beat_redis_url(self) -> str:
        return self.redbeat_redis_url or self.redis_url

    @property
    def cache_url(self) -> str:
        return self.cache_redis_url or self.redis_url
