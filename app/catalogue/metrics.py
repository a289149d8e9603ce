"""The catalogue sync's business metrics: families and images per supplier, syncs running.

The per-supplier counters are kept incrementally: finished syncs are folded once, so a scrape
stays cheap as history grows; a new process folds the history in bounded chunks and leaves the
counters out until it is through.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from app.platform.metrics import Families, MetricsPart


class _SyncTotals:
    """Per-supplier catalogue counters: finished syncs are counted once and remembered."""

    FAMILY_KEYS = ("done", "failed")
    IMAGE_KEYS = ("uploaded", "skipped", "failed")

    def __init__(self) -> None:
        self.folded_ids: set[int] = set()
        self.folded: dict[str, Counter[str]] = defaultdict(Counter)
        self.caught_up = False

    def params(self) -> dict[str, Any]:
        return {"folded_syncs": sorted(self.folded_ids)}

    def update(self, rows: list[dict], chunk: int) -> dict[str, Counter[str]] | None:
        """Fold this scrape's settled syncs; return counters per supplier, or None while catching up."""
        live: dict[str, Counter[str]] = defaultdict(Counter)
        for row in rows:
            families, images = row["families"] or {}, row["images"] or {}
            counts = Counter({"unchanged": row["unchanged"], "deactivated": row["deactivated"],
                              **{f"families_{k}": families.get(k, 0) for k in self.FAMILY_KEYS},
                              **{f"images_{k}": images.get(k, 0) for k in self.IMAGE_KEYS}})
            if row["settled"]:
                self.folded[row["supplier"]].update(counts)
                self.folded_ids.add(row["id"])
                continue
            live[row["supplier"]].update(counts)
        self.caught_up = len(rows) < chunk
        if not self.caught_up:
            return None
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for source in (self.folded, live):
            for supplier, counts in source.items():
                totals[supplier].update(counts)
        return totals


class CatalogueMetrics(MetricsPart):
    METRICS = (
    ("switchyard_catalogue_families", "gauge", ("supplier", "active"),
     "Product families stored per supplier (catalogue_products), active or deactivated."),
    ("switchyard_catalogue_families_synced", "counter", ("supplier",),
     "Families stored by sync_family across all syncs (catalogue_sync_families state done)."),
    ("switchyard_catalogue_families_failed", "counter", ("supplier",),
     "Families whose sync failed after its retries (state failed)."),
    ("switchyard_catalogue_families_unchanged", "counter", ("supplier",),
     "Families a supplier sync found unchanged (same feed hash) and did not enqueue."),
    ("switchyard_catalogue_families_deactivated", "counter", ("supplier",),
     "Families a supplier sync marked inactive because they left the feed."),
    ("switchyard_catalogue_families_pending", "gauge", ("supplier",),
     "Families enqueued by syncs and not finished yet (queued or retrying)."),
    ("switchyard_catalogue_images_uploaded", "counter", ("supplier",),
     "Images downloaded and stored by upload_image (catalogue_sync_images outcome uploaded)."),
    ("switchyard_catalogue_images_skipped", "counter", ("supplier",),
     "Image uploads skipped as already stored (same URL, same bytes or the object exists; outcome skipped)."),
    ("switchyard_catalogue_images_failed", "counter", ("supplier",),
     "Image uploads that failed after their retries (outcome failed)."),
    ("switchyard_catalogue_images_pending", "gauge", ("supplier",),
     "Image uploads enqueued and not finished yet (queued or retrying)."),
    ("switchyard_catalogue_syncs_running", "gauge", ("supplier",),
     "Supplier syncs not finished (state running or fanned_out)."),
    ("switchyard_catalogue_last_sync_timestamp_seconds", "gauge", ("supplier",),
     "Unix time the supplier's last sync ended (done, aborted or failed; catalogue_suppliers.last_sync_at)."),
    )
    CTES = (
        """unfolded_syncs AS (
    SELECT s.id, s.supplier_code, s.state,
           s.state IN ('done', 'aborted', 'failed') AND s.finished_at < now() - make_interval(secs => :sync_settle)
               AS settled,
           COALESCE(s.families_unchanged, 0) AS unchanged, COALESCE(s.families_deactivated, 0) AS deactivated
    FROM catalogue_syncs s
    WHERE s.id <> ALL(CAST(:folded_syncs AS bigint[]))
    ORDER BY s.id LIMIT :sync_chunk
)""",
    )
    FIELDS = (
        """'suppliers', (SELECT json_agg(json_build_object('code', code, 'last_sync', extract(epoch FROM last_sync_at)))
      FROM catalogue_suppliers)""",
        """'products', (SELECT json_agg(json_build_object('supplier', s.code, 'active', p.active, 'n', p.n)) FROM (
        SELECT supplier_id, active, count(*) AS n FROM catalogue_products GROUP BY supplier_id, active) p
      JOIN catalogue_suppliers s ON s.id = p.supplier_id)""",
        """'syncs', (SELECT json_agg(json_build_object(
        'id', u.id, 'supplier', u.supplier_code, 'state', u.state, 'settled', u.settled,
        'unchanged', u.unchanged, 'deactivated', u.deactivated,
        'families', (SELECT json_object_agg(state, n) FROM (
            SELECT state, count(*) AS n FROM catalogue_sync_families WHERE sync_id = u.id GROUP BY state) f),
        'images', (SELECT json_object_agg(outcome, n) FROM (
            SELECT outcome, count(*) AS n FROM catalogue_sync_images WHERE sync_id = u.id GROUP BY outcome) i)))
      FROM unfolded_syncs u)""",
        """'open_syncs', (SELECT json_agg(json_build_object(
        'supplier', supplier_code, 'running', running, 'families_pending', families, 'images_pending', images)) FROM (
        SELECT s.supplier_code, count(*) AS running,
               sum((SELECT count(*) FROM catalogue_sync_families f
                    WHERE f.sync_id = s.id AND f.state IN ('queued', 'retrying'))) AS families,
               sum((SELECT count(*) FROM catalogue_sync_images i
                    WHERE i.sync_id = s.id AND i.outcome IN ('queued', 'retrying'))) AS images
        FROM catalogue_syncs s WHERE s.state NOT IN ('done', 'aborted', 'failed') GROUP BY s.supplier_code) o)""",
    )

    def __init__(self, settings: Any, queues: tuple[str, ...], *, sync_settle_seconds: float = 600,
                 sync_chunk: int = 500) -> None:
        super().__init__(settings, queues)
        self.sync_settle_seconds = sync_settle_seconds
        self.sync_chunk = self._sync_chunk_max = sync_chunk
        self._chunk_used = sync_chunk  # by the statement whose document emit() reads
        self._syncs = _SyncTotals()

    @property
    def caught_up(self) -> bool:
        return self._syncs.caught_up

    def params(self) -> dict[str, Any]:
        self._chunk_used = self.sync_chunk
        return {**self._syncs.params(), "sync_settle": self.sync_settle_seconds, "sync_chunk": self.sync_chunk}

    def after_read(self, failed: bool, catching_up: bool) -> None:
        if not failed:
            self.sync_chunk = min(self._sync_chunk_max, self.sync_chunk * 2)
        elif catching_up:
            self.sync_chunk = max(1, min(10, self._sync_chunk_max // 2), self.sync_chunk // 2)

    def emit(self, families: Families, data: dict[str, Any]) -> None:
        suppliers = data.get("suppliers") or []
        for p in data.get("products") or ():
            families.add("switchyard_catalogue_families", (p["supplier"], str(p["active"]).lower()), p["n"])
        totals = self._syncs.update(data.get("syncs") or [], self._chunk_used)
        gauges = {o["supplier"]: o for o in data.get("open_syncs") or ()}
        codes = sorted({s["code"] for s in suppliers} | set(totals or ()) | set(gauges))
        for code in codes:
            g = gauges.get(code, {"families_pending": 0, "images_pending": 0, "running": 0})
            families.add("switchyard_catalogue_families_pending", (code,), g["families_pending"])
            families.add("switchyard_catalogue_images_pending", (code,), g["images_pending"])
            families.add("switchyard_catalogue_syncs_running", (code,), g["running"])
            if totals is not None:
                t = totals.get(code, Counter())
                families.add("switchyard_catalogue_families_synced", (code,), t["families_done"])
                families.add("switchyard_catalogue_families_failed", (code,), t["families_failed"])
                families.add("switchyard_catalogue_families_unchanged", (code,), t["unchanged"])
                families.add("switchyard_catalogue_families_deactivated", (code,), t["deactivated"])
                families.add("switchyard_catalogue_images_uploaded", (code,), t["images_uploaded"])
                families.add("switchyard_catalogue_images_skipped", (code,), t["images_skipped"])
                families.add("switchyard_catalogue_images_failed", (code,), t["images_failed"])
        for s in suppliers:
            if s["last_sync"] is not None:
                families.add("switchyard_catalogue_last_sync_timestamp_seconds", (s["code"],), s["last_sync"])
