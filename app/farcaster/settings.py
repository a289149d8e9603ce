"""The Farcaster indexer's settings (HUB_URLS, FARCASTER_*, REALTIME_*, ...)."""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class FarcasterSettings(BaseSettings):
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
    # --- the read API (/v1/farcaster/ in `switchyard api`) ---
    # Comma-separated static bearer tokens; with a JWT secret, HS256 JWTs with an `exp` claim
    # are accepted too. Neither set: the read API is public.
    farcaster_api_tokens: str | None = Field(default=None, repr=False)
    farcaster_api_jwt_secret: str | None = Field(default=None, repr=False)
    farcaster_api_rate_limit_per_minute: int = Field(default=600, ge=0)  # per token (per client address without auth); 0: off
    farcaster_api_cache_ttl_seconds: float = Field(default=5, ge=0)  # Redis response cache and max-age; 0: off

    @field_validator("farcaster_api_tokens", "farcaster_api_jwt_secret")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None  # FARCASTER_API_TOKENS= (empty) means "no auth", not "the empty token"

    @property
    def farcaster_api_token_set(self) -> frozenset[str]:
        return frozenset(t.strip() for t in (self.farcaster_api_tokens or "").split(",") if t.strip())

    @property
    def farcaster_api_auth_configured(self) -> bool:
        return bool(self.farcaster_api_token_set or self.farcaster_api_jwt_secret)
