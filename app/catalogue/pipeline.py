"""The sync steps, shared by the queued tasks and the direct (inline) mode.

Each step is one unit of idempotent work against PostgreSQL; the outcome of a family or image
is written in the same transaction as its data where possible, so counters never drift.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from app.catalogue import sync_runs
from app.catalogue.categories_csv import parse_cat_csv
from app.catalogue.errors import CatalogueError, MassDisableAborted
from app.catalogue.family import parse_family
from app.catalogue.family_sync import StoredFamily, claim_uploads, upsert_family
from app.catalogue.feed_client import FeedClient
from app.catalogue.image_sync import StoredImage, image_id_for, mark_stored, record_image_error, store_image
from app.catalogue.import_index import ImportIndex, parse_import_txt
from app.catalogue.runs import IndexFetcher, RunIndex, index_for_run
from app.catalogue.storage import ObjectStore
from app.catalogue.supplier_sync import SupplierPlan, plan_supplier_sync, store_categories, unstored_image_urls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    index_bytes: int
    family_bytes: int
    image_bytes: int
    mass_disable_ratio: float
    key_prefix: str
    image_pixels: int = 50_000_000

    @classmethod
    def from_settings(cls, settings: object | None = None) -> "Limits":
        from app.settings import get_settings

        s = settings or get_settings()
        return cls(index_bytes=s.catalogue_max_index_bytes, family_bytes=s.catalogue_max_family_bytes,  # type: ignore[attr-defined]
                   image_bytes=s.catalogue_max_image_bytes, mass_disable_ratio=s.catalogue_mass_disable_ratio,  # type: ignore[attr-defined]
                   key_prefix=s.catalogue_s3_prefix if s.catalogue_s3_bucket else "",  # type: ignore[attr-defined]
                   image_pixels=s.catalogue_max_image_pixels)  # type: ignore[attr-defined]


def _finish(conn: Connection, sync_id: int) -> None:
    """Mark the sync done if nothing is pending, and put its final counters on the supplier job's
    jobs-table row (progress_info), where `switchyard job <id>` and the dashboard read them."""
    finished = sync_runs.finish_if_complete(conn, sync_id)
    if finished is None:
        return
    job_id = finished.pop("job_id")
    if job_id:  # direct syncs have no job
        from app.platform.jobs import recorder

        try:
            recorder.record_progress(job_id, 100, {"step": "done", "sync_id": sync_id, **finished})
        except Exception:  # noqa: BLE001 - informative only; the sync row is the record
            log.exception("could not record the final counters of sync %s on job %s", sync_id, job_id)


def fetch_index_text(client: FeedClient, import_url: str, limits: Limits) -> str:
    fetched = client.get(import_url, max_bytes=limits.index_bytes)
    try:
        return fetched.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return fetched.content.decode("latin-1")  # never seen, but a URL list survives it


def fetch_index(client: FeedClient, import_url: str, limits: Limits) -> ImportIndex:
    index = parse_import_txt(fetch_index_text(client, import_url, limits))
    if index.malformed:
        log.warning("Import.txt: skipped %d malformed line(s), e.g. %r", index.malformed, index.malformed_examples[:2])
    return index


def index_fetcher(engine: Engine, client: FeedClient, limits: Limits) -> IndexFetcher:
    """What a run does the one time it reads the feed index: Import.txt, then CAT.csv into the database."""
    def fetch(import_url: str) -> tuple[str, ImportIndex, int]:
        text = fetch_index_text(client, import_url, limits)
        index = parse_import_txt(text)
        if index.malformed:
            log.warning("Import.txt: skipped %d malformed line(s), e.g. %r", index.malformed,
                        index.malformed_examples[:2])
        return text, index, sync_categories(engine, client, index, limits)

    return fetch


def run_index(engine: Engine, client: FeedClient, run_id: str, import_url: str, limits: Limits, *,
              trigger: str = "manual") -> RunIndex:
    """The run's feed index: downloaded by the run's first step, read from the database by the rest."""
    return index_for_run(engine, run_id, import_url, index_fetcher(engine, client, limits), trigger=trigger)


def sync_categories(engine: Engine, client: FeedClient, index: ImportIndex, limits: Limits) -> int:
    """Upsert CAT.csv. A missing or broken CAT.csv is logged, not fatal: products keep their KEY."""
    if not index.categories_url:
        return 0
    try:
        fetched = client.get(index.categories_url, max_bytes=limits.index_bytes)
        parsed = parse_cat_csv(fetched.content.decode("utf-8-sig", errors="replace"))
    except CatalogueError as exc:
        log.warning("categories not updated: %s", exc)
        return 0
    with engine.begin() as conn:
        return store_categories(conn, parsed)


def plan_supplier(engine: Engine, sync_id: int, index: ImportIndex, supplier_code: str,
                  limits: Limits) -> SupplierPlan:
    """Compare, guard and mark in one transaction; on abort, record it (and only it) and re-raise."""
    try:
        with engine.begin() as conn:
            plan = plan_supplier_sync(conn, index, supplier_code, mass_disable_ratio=limits.mass_disable_ratio)
            sync_runs.queue_families(conn, sync_id, [e.sku for e in plan.to_process])
            plan.retry_uploads = claim_uploads(conn, sync_id, f"sweep:{supplier_code}",
                                               unstored_image_urls(conn, plan.supplier_id))
            sync_runs.mark_fanned_out(conn, sync_id, in_feed=plan.in_feed, unchanged=plan.unchanged,
                                      deactivated=plan.deactivated,
                                      malformed_lines=index.malformed_by_supplier[supplier_code],
                                      duplicate_lines=index.duplicates_by_supplier[supplier_code])
    except MassDisableAborted as exc:
        with engine.begin() as conn:
            sync_runs.end_sync(conn, sync_id, state="aborted", error=str(exc))
        raise
    with engine.begin() as conn:
        _finish(conn, sync_id)  # nothing to do at all: done now
    return plan


def fail_sync(engine: Engine, sync_id: int, error: str) -> None:
    with engine.begin() as conn:
        sync_runs.end_sync(conn, sync_id, state="failed", error=error)


def process_family(engine: Engine, client: FeedClient, sync_id: int, sku: str, json_url: str, feed_hash: str,
                   limits: Limits) -> tuple[StoredFamily, list[str]]:
    """Fetch, parse and store one family; return it and the image URLs this family must upload."""
    fetched = client.get(json_url, max_bytes=limits.family_bytes)
    record = parse_family(fetched.content, sku)
    with engine.connect() as conn:  # one pooled connection for the whole step
        with conn.begin():
            stored = upsert_family(conn, record, feed_hash=feed_hash, json_url=json_url)
            uploads = claim_uploads(conn, sync_id, sku, record.image_urls())
            sync_runs.set_family_state(conn, sync_id, sku, "done")
        if not uploads:
            with conn.begin():  # after the commit above (see process_image)
                _finish(conn, sync_id)
    return stored, uploads


def record_family_failure(engine: Engine, sync_id: int, sku: str, error: str, *, final: bool) -> None:
    with engine.connect() as conn:
        with conn.begin():
            sync_runs.set_family_state(conn, sync_id, sku, "failed" if final else "retrying", error[:4000])
        if final:
            with conn.begin():
                _finish(conn, sync_id)


def process_image(engine: Engine, client: FeedClient, store: ObjectStore, sync_id: int, url: str,
                  limits: Limits) -> StoredImage:
    result = store_image(engine, url, client=client, store=store, max_bytes=limits.image_bytes,
                         max_pixels=limits.image_pixels, key_prefix=limits.key_prefix)
    with engine.connect() as conn:
        with conn.begin():
            mark_stored(conn, result)
            sync_runs.set_image_outcome(conn, sync_id, result.image_id, result.outcome)
        # A separate transaction, after ours committed: of two last children finishing together,
        # at least the later one sees both outcomes and marks the sync done.
        with conn.begin():
            _finish(conn, sync_id)
    return result


def record_image_failure(engine: Engine, sync_id: int, url: str, error: str, *, final: bool) -> None:
    with engine.connect() as conn:
        with conn.begin():
            record_image_error(conn, url, error)
            image_id = image_id_for(conn, url)
            sync_runs.set_image_outcome(conn, sync_id, image_id, "failed" if final else "retrying", error[:4000])
        if final:
            with conn.begin():
                _finish(conn, sync_id)


__all__ = ["Limits", "fetch_index", "run_index", "sync_categories", "plan_supplier", "fail_sync",
           "process_family", "record_family_failure", "process_image", "record_image_failure"]
