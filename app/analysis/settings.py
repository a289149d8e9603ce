"""The analysis jobs' settings (ANALYSIS_*)."""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class AnalysisSettings(BaseSettings):
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
