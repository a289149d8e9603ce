"""Switchyard settings: one typed object, read once from the environment (and an optional .env).

Every field maps to the upper-case environment variable of the same name
(``redis_url`` <- ``REDIS_URL``). Defaults work on a development machine with
local Redis and PostgreSQL and no configuration at all.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.pools import POOLS, Pool

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


class Settings(_PoolOverrides):  # type: ignore[misc, valid-type]
    model_config = SettingsConfigDict(
        env_file=os.environ.get("SWITCHYARD_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- platform -----------------------------------------------------------
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
    # Worker processes collect cyclic garbage every this many allocations (app/gc_tuning.py); 0 keeps
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

    # --- farcaster indexer --------------------------------------------------
    # Comma-separated hub base URLs, tried in order (failover); the default is the local simulator.
    hub_urls: str = "http://127.0.0.1:3381"
    hub_api_key: str | None = Field(default=None, repr=False)  # sent as HUB_API_KEY_HEADER when set
    hub_api_key_header: str = "x-api-key"
    # Shared by every worker (a Redis token bucket); hosted hubs allow 5-20/s per endpoint.
    hub_requests_per_second: float = Field(default=500, gt=0)
    hub_timeout_seconds: float = Field(default=10, gt=0, le=120)  # connect and read, per request
    hub_attempts: int = Field(default=6, ge=1, le=20)  # per request, on 5xx, 429, timeouts, bad bodies
    hub_backoff_max_seconds: float = Field(default=10, ge=0)  # also caps a 429's Retry-After
    hub_page_size: int = Field(default=1000, ge=1, le=1000)
    farcaster_beat_enabled: bool = True  # realtime polls, recovery and reconciliation in beat
    realtime_poll_interval_seconds: float = Field(default=1, gt=0)
    realtime_max_pages_per_poll: int = Field(default=20, ge=1)  # bounds one poll's time and memory
    farcaster_recovery_interval_seconds: float = Field(default=30, gt=0)  # re-enqueue stranded work
    farcaster_stale_after_seconds: float = Field(default=60, gt=0)  # staged/pending work older is re-sent
    farcaster_reconcile_interval_seconds: float = Field(default=86400, gt=0)  # every target, once a day
    farcaster_write_batch_rows: int = Field(default=5000, ge=100)  # backfill rows per transaction
    farcaster_discovery_chunk_fids: int = Field(default=1000, ge=1, le=100_000)  # fids per client-app scan task
    # Reconciliation marks a row the hub no longer lists as deleted only if it is older than this...
    farcaster_reconcile_grace_seconds: float = Field(default=600, ge=0)
    # ...and if at most this share of the fid's active rows would go (otherwise it refuses and logs).
    farcaster_reconcile_max_delete_ratio: float = Field(default=0.2, ge=0, le=1)
    # --- catalogue sync -----------------------------------------------------
    # Promidata Import.txt (line 1 links CAT.csv); the default is the local feed simulator.
    catalogue_import_url: str = (
        "http://127.0.0.1:8781/Profiles/Live/849c892e-0000-4000-8000-5117a1a7ed00/Import/Import.txt")
    catalogue_http_timeout_seconds: float = Field(default=30, gt=0)  # connect and read, per request
    catalogue_http_attempts: int = Field(default=3, ge=1, le=10)  # on 5xx, 429 and network errors
    catalogue_http_backoff_max_seconds: float = Field(default=30, ge=0)  # also caps a 429's Retry-After
    catalogue_max_index_bytes: int = Field(default=64 * 2**20, ge=1024)  # Import.txt, CAT.csv
    catalogue_max_family_bytes: int = Field(default=8 * 2**20, ge=1024)  # one family JSON (real: 170-850 KB)
    catalogue_max_image_bytes: int = Field(default=25 * 2**20, ge=1024)
    # A feed that lost more than this fraction of a supplier's active families aborts its sync.
    catalogue_mass_disable_ratio: float = Field(default=0.5, gt=0, le=1)
    catalogue_supplier_max_retries: int = Field(default=2, ge=0)
    catalogue_supplier_retry_delay_seconds: float = Field(default=30, ge=0)
    catalogue_family_max_retries: int = Field(default=3, ge=0)
    catalogue_family_retry_delay_seconds: float = Field(default=10, ge=0)  # doubles per retry
    catalogue_image_max_retries: int = Field(default=5, ge=0)
    catalogue_image_retry_delay_seconds: float = Field(default=30, ge=0)
    # A family with more new images than this hands their publishing to one catalogue.queue_uploads
    # task, keeping the narrow product-family pool short; below it, the extra task costs more.
    catalogue_fan_out_above: int = Field(default=12, ge=0)
    # Object storage: S3-compatible when a bucket is set (R2: endpoint https://<account>.r2.cloudflarestorage.com,
    # region "auto"), otherwise files under a local directory.
    catalogue_storage_dir: str = "var/catalogue-images"
    catalogue_s3_bucket: str | None = None
    catalogue_s3_endpoint_url: str | None = None
    catalogue_s3_region: str = "us-east-1"
    catalogue_s3_access_key_id: str | None = None
    catalogue_s3_secret_access_key: str | None = None
    catalogue_s3_prefix: str = "catalogue/"
    # --- analysis jobs ------------------------------------------------------
    analysis_api_host: str = "127.0.0.1"
    analysis_api_port: int = Field(default=8080, ge=1, le=65535)
    # Bearer token for the analysis HTTP API; when set, every /v1 and /queue route requires it.
    analysis_api_token: str | None = Field(default=None, repr=False)
    # Fetching loopback/private/link-local hosts is refused (SSRF); true only for tests and the local demo.
    analysis_allow_private_addresses: bool = False
    analysis_fetch_connect_timeout: float = Field(default=5, gt=0, le=60)
    analysis_fetch_read_timeout: float = Field(default=10, gt=0, le=100)  # between bytes
    analysis_fetch_total_timeout: float = Field(default=30, gt=0, le=100)  # whole download; < soft time limit
    analysis_fetch_max_bytes: int = Field(default=3 * 1024 * 1024, ge=1024)  # larger pages are refused
    analysis_fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    analysis_user_agent: str = "SwitchyardAnalysis/0.1"
    analysis_max_attempts: int = Field(default=3, ge=1, le=10)  # network errors are retried up to this
    analysis_retry_base_delay: float = Field(default=2.0, ge=0)  # seconds; doubles per attempt, jittered
    analysis_retry_max_delay: float = Field(default=60.0, ge=0)

    @field_validator("analysis_api_token")
    @classmethod
    def _empty_token_is_none(cls, value: str | None) -> str | None:
        return value or None  # ANALYSIS_API_TOKEN= (empty) means "no auth", not "the empty token"

    @field_validator("redis_url", "result_backend_url", "redbeat_redis_url", "cache_redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
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
                     "flower_oauth2_redirect_uri", "flower_readonly_users")
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

    def pool(self, name: str) -> Pool:
        """The pool as defined in workers/, with this environment's overrides applied."""
        from workers.pools import POOLS_BY_NAME

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
