"""The catalogue sync's settings (CATALOGUE_*)."""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class CatalogueSettings(BaseSettings):
    # Promidata Import.txt (line 1 links CAT.csv); the default is the local feed simulator.
    catalogue_import_url: str = (
        "http://127.0.0.1:8781/Profiles/Live/849c892e-0000-4000-8000-5117a1a7ed00/Import/Import.txt")
    catalogue_http_timeout_seconds: float = Field(default=30, gt=0)  # connect and read, per request
    catalogue_http_attempts: int = Field(default=3, ge=1, le=10)  # on 5xx, 429 and network errors
    catalogue_http_backoff_max_seconds: float = Field(default=30, ge=0)  # also caps a 429's Retry-After
    catalogue_max_index_bytes: int = Field(default=64 * 2**20, ge=1024)  # Import.txt, CAT.csv
    catalogue_max_family_bytes: int = Field(default=8 * 2**20, ge=1024)  # one family JSON (real: 170-850 KB)
    catalogue_max_image_bytes: int = Field(default=25 * 2**20, ge=1024)
    catalogue_max_image_pixels: int = Field(default=50_000_000, ge=1)  # larger images are refused undecoded
    # A feed that lost more than this fraction of a supplier's active families aborts its sync.
    catalogue_mass_disable_ratio: float = Field(default=0.5, gt=0, le=1)
    # Cron expression (UTC, 5 fields, e.g. "0 3 * * *"): beat runs catalogue.sync_all then. Unset: off.
    catalogue_sync_schedule: str | None = None
    # A scheduled run is skipped while a supplier sync younger than this is still going.
    catalogue_run_stale_after_seconds: float = Field(default=6 * 3600, gt=0)
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

    @field_validator("catalogue_sync_schedule")
    @classmethod
    def _cron_expression(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        from app.catalogue.schedule import parse_cron

        parse_cron(value)  # ValueError names the problem
        return value.strip()
