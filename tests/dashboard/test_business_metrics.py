"""Business metrics: real PostgreSQL and Redis rows in, a Prometheus scrape out, parsed back."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.dashboard import business_metrics
from app.dashboard.business_metrics import SEQ_BITS, install, uninstall
from tests.conftest import ROOT, TEST_ENV


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scrape(dict):
    """{(sample name, ((label, value), ...)): value} of one scrape, plus the raw text."""

    def __init__(self, raw: str) -> None:
        super().__init__()
        self.raw = raw
        self.help: dict[str, str] = {}
        for family in text_string_to_metric_families(raw):
            self.help[family.name] = family.documentation
            for sample in family.samples:
                self[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def value(self, name: str, **labels: object) -> float:
        return self[(name, tuple(sorted((k, str(v)) for k, v in labels.items())))]

    def has(self, name: str) -> bool:
        return any(key[0] == name for key in self)

    def by(self, name: str, label: str) -> dict[str, float]:
        return {dict(lbls)[label]: v for (n, lbls), v in self.items() if n == name}


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    reg = CollectorRegistry()
    yield reg
    uninstall(reg)


def scrape(reg: CollectorRegistry) -> Scrape:
    return Scrape(generate_latest(reg).decode())


@pytest.fixture
def engine(db):
    from app.db import get_engine

    return get_engine()


def run(engine, sql: str, rows: list[dict] | dict | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), rows or {})


def stage(engine, shard: int, first: int, count: int, *, age_s: float, applied: bool) -> None:
    run(engine, """
        INSERT INTO farcaster_staged_batches (shard_index, first_event_id, last_event_id, event_count, events,
                                              created_at, applied_at)
        VALUES (:s, :f, :f + :n, :n, CAST('[]' AS json), now() - make_interval(secs => :age),
                CASE WHEN :applied THEN now() END)
    """, {"s": shard, "f": first, "n": count, "age": age_s, "applied": applied})


def add_sync(engine, supplier: str, state: str, *, finished_ago_s: float | None, families: dict[str, int],
             images: dict[str, int], unchanged: int = 0, deactivated: int = 0) -> int:
    with engine.begin() as conn:
        sync_id = conn.execute(text("""
            INSERT INTO catalogue_syncs (supplier_code, mode, state, families_unchanged, families_deactivated,
                                         finished_at)
            VALUES (:c, 'queued', :st, :u, :d, now() - make_interval(secs => :ago)) RETURNING id
        """), {"c": supplier, "st": state, "u": unchanged, "d": deactivated, "ago": finished_ago_s}).scalar_one()
        if finished_ago_s is None:
            conn.execute(text("UPDATE catalogue_syncs SET finished_at = NULL WHERE id = :i"), {"i": sync_id})
        n = 0
        for state_, count in families.items():
            for _ in range(count):
                n += 1
                conn.execute(text("INSERT INTO catalogue_sync_families (sync_id, sku, state) VALUES (:i, :sku, :st)"),
                             {"i": sync_id, "sku": f"{supplier}-{sync_id}-{n}", "st": state_})
        for outcome, count in images.items():
            for _ in range(count):
                n += 1
                image_id = conn.execute(text("INSERT INTO catalogue_images (source_url) VALUES (:u) RETURNING id"),
                                        {"u": f"https://img.example/{supplier}/{sync_id}/{n}.jpg"}).scalar_one()
                conn.execute(text("""INSERT INTO catalogue_sync_images (sync_id, image_id, claimed_by, outcome)
                                     VALUES (:i, :img, 'x', :o)"""), {"i": sync_id, "img": image_id, "o": outcome})
    return sync_id


def seed(engine) -> None:
    """A little of everything: cursors, staged batches, backfills, targets, catalogue, analysis, jobs."""
    run(engine, """
        INSERT INTO farcaster_shard_cursors
            (shard_index, next_event_id, hub_head_event_id, last_block_number, updated_at)
        VALUES (1, :c1, :c1, 99, '2024-05-01T00:00:00Z'), (2, :c2, :c2, NULL, '2024-05-01T00:00:10Z')
    """, {"c1": 100 << SEQ_BITS, "c2": 50 << SEQ_BITS})
    stage(engine, 1, 1000, 5, age_s=7200, applied=True)  # settled and folded
    stage(engine, 1, 2000, 7, age_s=30, applied=True)  # recent
    stage(engine, 1, 3000, 3, age_s=20, applied=False)  # pending
    stage(engine, 2, 1000, 11, age_s=3600, applied=False)  # old and still pending
    run(engine, """
        INSERT INTO farcaster_backfill_requests (fid, reason, state) VALUES
            (1, 'manual', 'pending'), (2, 'manual', 'pending'), (3, 'follow', 'running'),
            (4, 'follow', 'done'), (5, 'follow', 'failed')
    """)
    run(engine, """
        INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, client_app_fid, followed_by_root) VALUES
            (7, true, true, true, NULL, false), (8, false, false, false, NULL, true),
            (9, true, false, false, 189, true), (10, false, true, false, NULL, false)
    """)
    run(engine, "INSERT INTO catalogue_suppliers (code, last_sync_at) VALUES "
                "('A23', '2024-05-01T00:00:00Z'), ('B11', NULL)")
    run(engine, """
        INSERT INTO catalogue_products (sku, supplier_id, active, names, descriptions)
        SELECT 'A23-' || g, (SELECT id FROM catalogue_suppliers WHERE code = 'A23'), g <= 4, '{}', '{}'
        FROM generate_series(1, 5) g
    """)
    add_sync(engine, "A23", "done", finished_ago_s=3600, families={"done": 3, "failed": 1},
             images={"uploaded": 4, "skipped": 2}, unchanged=10, deactivated=1)
    add_sync(engine, "A23", "fanned_out", finished_ago_s=None, families={"queued": 2, "done": 1, "retrying": 1},
             images={"queued": 1, "uploaded": 1, "failed": 1}, unchanged=5)
    add_sync(engine, "B11", "aborted", finished_ago_s=60, families={}, images={})
    run(engine, """
        INSERT INTO analysis_jobs (id, tool_id, priority, status) VALUES
            ('a1', 't', 'high', 'queued'), ('a2', 't', 'low', 'queued'), ('a3', 't', 'normal', 'running'),
            ('a4', 't', 'normal', 'completed'), ('a5', 't', 'normal', 'failed'), ('a6', 't', 'normal', 'completed')
    """)
    run(engine, """
        INSERT INTO jobs (id, name, queue, state) VALUES
            ('j1', 'farcaster.backfill_fid', 'backfill', 'STARTED'),
            ('j2', 'farcaster.backfill_fid', 'backfill', 'PENDING'),
            ('j3', 'farcaster.backfill_fid', 'backfill', 'SUCCESS'),
            ('j4', 'analysis.analyze', 'analysis', 'FAILURE'),
            ('j5', 'x', NULL, 'PENDING')
    """)


def test_one_scrape_reads_postgresql_and_redis(db, engine, redis_client, registry, worker_pools):
    for pool in ("backfill", "analysis"):  # earlier suites' workers would consume what this test queues
        worker_pools.stop(pool)
    seed(engine)
    redis_client.rpush("backfill", *["m"] * 3)
    redis_client.rpush("analysis", "m")
    redis_client.rpush("analysis:6", *["m"] * 2)
    install(registry, hub_client_factory=None)
    s = scrape(registry)

    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 0
    assert s.value("switchyard_metrics_scrape_error", source="redis") == 0
    assert not any(k[0] == "switchyard_metrics_scrape_error" and dict(k[1])["source"] == "hub" for k in s)
    # farcaster
    assert s.value("switchyard_farcaster_shard_cursor_event_id", shard=1) == 100 << SEQ_BITS
    assert s.value("switchyard_farcaster_shard_last_block", shard=1) == 99
    assert ("switchyard_farcaster_shard_last_block", (("shard", "2"),)) not in s
    assert s.value("switchyard_farcaster_shard_polled_timestamp_seconds", shard=2) == 1714521610
    assert s.value("switchyard_farcaster_events_indexed_total", shard=1) == 12
    assert s.value("switchyard_farcaster_events_indexed_total", shard=2) == 0
    assert s.value("switchyard_farcaster_events_pending", shard=1) == 3
    assert s.value("switchyard_farcaster_events_pending", shard=2) == 11
    assert 3590 < s.value("switchyard_farcaster_events_pending_age_seconds", shard=2) < 3700
    assert 15 < s.value("switchyard_farcaster_events_pending_age_seconds", shard=1) < 100
    assert s.value("switchyard_farcaster_backfills_waiting") == 2
    assert s.value("switchyard_farcaster_backfills_running") == 1
    assert s.value("switchyard_farcaster_targets") == 4
    assert s.by("switchyard_farcaster_targets_by_kind", "kind") == {
        "root": 2, "manual": 2, "client_app": 1, "followed_by_root": 2}
    # catalogue
    assert s.value("switchyard_catalogue_families", supplier="A23", active="true") == 4
    assert s.value("switchyard_catalogue_families", supplier="A23", active="false") == 1
    assert s.by("switchyard_catalogue_families_synced_total", "supplier") == {"A23": 4, "B11": 0}
    assert s.value("switchyard_catalogue_families_failed_total", supplier="A23") == 1
    assert s.value("switchyard_catalogue_families_unchanged_total", supplier="A23") == 15
    assert s.value("switchyard_catalogue_families_deactivated_total", supplier="A23") == 1
    assert s.value("switchyard_catalogue_families_pending", supplier="A23") == 3
    assert s.value("switchyard_catalogue_images_uploaded_total", supplier="A23") == 5
    assert s.value("switchyard_catalogue_images_skipped_total", supplier="A23") == 2
    assert s.value("switchyard_catalogue_images_failed_total", supplier="A23") == 1
    assert s.value("switchyard_catalogue_images_pending", supplier="A23") == 1
    assert s.by("switchyard_catalogue_syncs_running", "supplier") == {"A23": 1, "B11": 0}
    assert s.by("switchyard_catalogue_last_sync_timestamp_seconds", "supplier") == {"A23": 1714521600}
    # analysis and the platform
    assert s.by("switchyard_analysis_jobs", "state") == {
        "queued": 2, "running": 1, "retrying": 0, "completed": 2, "failed": 1}
    assert s.value("switchyard_jobs", queue="backfill", state="STARTED") == 1
    assert s.value("switchyard_jobs", queue="backfill", state="PENDING") == 1
    assert s.value("switchyard_jobs", queue="analysis", state="FAILURE") == 1
    assert s.value("switchyard_jobs", queue="analysis", state="SUCCESS") == 0
    assert s.value("switchyard_jobs", queue="none", state="PENDING") == 1
    assert s.value("switchyard_queue_waiting", queue="backfill", priority=0) == 3
    assert s.value("switchyard_queue_waiting", queue="analysis", priority=0) == 1
    assert s.value("switchyard_queue_waiting", queue="analysis", priority=6) == 2
    assert s.value("switchyard_queue_waiting", queue="events", priority=3) == 0
    # every metric says what it means
    for name, _, _, help_ in business_metrics.METRICS:
        assert s.help.get(name, help_) == help_ and len(help_) > 30


def test_counters_survive_pruning_and_new_work_and_count_each_batch_once(db, engine, redis_client, registry):
    stage(engine, 1, 1000, 5, age_s=7200, applied=True)
    stage(engine, 1, 2000, 7, age_s=10, applied=True)
    install(registry, hub_client_factory=None)
    assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 12
    # Old applied batches pruned: already folded in, the counter keeps them.
    run(engine, "DELETE FROM farcaster_staged_batches WHERE first_event_id = 1000")
    assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 12
    # New work, pending then applied; recent rows are read again each scrape but never added twice.
    stage(engine, 1, 3000, 4, age_s=0, applied=False)
    s = scrape(registry)
    assert s.value("switchyard_farcaster_events_indexed_total", shard=1) == 12
    assert s.value("switchyard_farcaster_events_pending", shard=1) == 4
    run(engine, "UPDATE farcaster_staged_batches SET applied_at = now()")
    for _ in range(3):
        assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 16
    # Batches settle as they age: folded once.
    run(engine, "UPDATE farcaster_staged_batches SET created_at = now() - interval '2 hours'")
    for _ in range(3):
        assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 16


def test_a_new_process_folds_a_long_history_in_chunks_before_reporting_counters(db, engine, redis_client, registry):
    for i in range(7):
        stage(engine, 1 + i % 2, 1000 * i, i + 1, age_s=7200, applied=True)
    stage(engine, 1, 99000, 100, age_s=0, applied=True)
    for _ in range(5):
        add_sync(engine, "A23", "done", finished_ago_s=7200, families={"done": 1}, images={"uploaded": 2})
    add_sync(engine, "A23", "fanned_out", finished_ago_s=None, families={"done": 1}, images={})
    install(registry, hub_client_factory=None, staged_chunk=3, sync_chunk=2)
    partial = [scrape(registry) for _ in range(2)]
    for s in partial:  # catching up: counters left out rather than reported low; gauges are there
        assert not s.has("switchyard_farcaster_events_indexed_total")
        assert not s.has("switchyard_catalogue_families_synced_total")
        assert s.has("switchyard_farcaster_targets") and s.has("switchyard_catalogue_syncs_running")
    s = scrape(registry)
    assert s.value("switchyard_farcaster_events_indexed_total", shard=1) == 1 + 3 + 5 + 7 + 100
    assert s.value("switchyard_farcaster_events_indexed_total", shard=2) == 2 + 4 + 6
    s = scrape(registry)  # 6 syncs in chunks of 2: complete on the 4th scrape
    assert s.value("switchyard_catalogue_families_synced_total", supplier="A23") == 6
    assert s.value("switchyard_catalogue_images_uploaded_total", supplier="A23") == 10
    assert s.value("switchyard_catalogue_syncs_running", supplier="A23") == 1


def test_staged_table_emptied_starts_over(db, engine, redis_client, registry):
    for i in range(3):
        stage(engine, 1, 1000 * i, 2, age_s=7200, applied=True)
    install(registry, hub_client_factory=None)
    assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 6
    run(engine, "TRUNCATE farcaster_staged_batches RESTART IDENTITY")
    stage(engine, 1, 0, 1, age_s=7200, applied=True)
    scrape(registry)  # notices the reset
    assert scrape(registry).value("switchyard_farcaster_events_indexed_total", shard=1) == 1


def test_lag_against_the_hub(db, engine, redis_client, registry):
    from simulators.hub.testing import running_hub

    from app.farcaster.hub_client import HubClient

    with running_hub(num_fids=20, seed=3) as hub:
        hub.advance(10)
        info = HubClient(hub.url, attempts=1).info()
        heads = {s["shardId"]: s["maxHeight"] for s in info["shardInfos"] if s["shardId"] > 0}
        # shard 1 is 4 blocks behind (4 simulated seconds of block time), shard 2 caught up
        run(engine, "INSERT INTO farcaster_shard_cursors (shard_index, next_event_id) VALUES (1, :c1), (2, :c2)",
            {"c1": (heads[1] - 3) << SEQ_BITS, "c2": (heads[2] + 1) << SEQ_BITS})
        install(registry, hub_client_factory=lambda: HubClient(hub.url, attempts=1, timeout=1),
                hub_cache_seconds=0)
        s = scrape(registry)
        assert s.value("switchyard_metrics_scrape_error", source="hub") == 0
        assert s.value("switchyard_farcaster_hub_head_block", shard=1) == heads[1]
        assert s.value("switchyard_farcaster_lag_blocks", shard=1) == 4
        assert s.value("switchyard_farcaster_lag_seconds", shard=1) == 3  # newest block's time - oldest unread's
        assert s.value("switchyard_farcaster_lag_blocks", shard=2) == 0
        assert s.value("switchyard_farcaster_lag_seconds", shard=2) == 0
        hub.advance(2)
        s = scrape(registry)
        assert s.value("switchyard_farcaster_lag_blocks", shard=1) == 6
        assert s.value("switchyard_farcaster_lag_seconds", shard=1) == 5
        assert s.value("switchyard_farcaster_lag_blocks", shard=2) == 2


def test_hub_down_is_a_scrape_error_and_is_not_retried_every_scrape(db, engine, redis_client, registry):
    from app.farcaster.hub_client import HubClient

    run(engine, "INSERT INTO farcaster_shard_cursors (shard_index, next_event_id) VALUES (1, 16384)")
    requests = []

    class CountingClient(HubClient):
        def get(self, path, **params):
            requests.append(path)
            return super().get(path, **params)

    def factory():
        return CountingClient(f"http://127.0.0.1:{free_port()}", attempts=1, timeout=1)

    collector = install(registry, hub_client_factory=factory)
    s = scrape(registry)
    assert s.value("switchyard_metrics_scrape_error", source="hub") == 1
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 0
    assert not s.has("switchyard_farcaster_lag_blocks")  # unknown, not zero
    assert s.value("switchyard_farcaster_shard_cursor_event_id", shard=1) == 16384
    asked = len(requests)
    assert asked >= 1
    assert scrape(registry).value("switchyard_metrics_scrape_error", source="hub") == 1
    assert len(requests) == asked and collector._hub._failed_at is not None  # left alone until the retry time


def test_no_cursors_means_no_hub_requests(db, engine, redis_client, registry):
    def factory():
        raise AssertionError("the hub must not be asked when the indexer has no cursors")

    install(registry, hub_client_factory=factory)
    s = scrape(registry)
    assert not any(k[0] == "switchyard_metrics_scrape_error" and dict(k[1])["source"] == "hub" for k in s)


def test_postgresql_down_still_scrapes_with_an_error_gauge(db, redis_client, registry):
    redis_client.rpush("events", "m")
    install(registry, database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere",
            hub_client_factory=None)
    s = scrape(registry)
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 1
    assert s.value("switchyard_metrics_scrape_error", source="redis") == 0
    assert s.value("switchyard_queue_waiting", queue="events", priority=0) == 1
    assert not s.has("switchyard_jobs") and not s.has("switchyard_farcaster_targets")


def test_missing_tables_still_scrape_with_an_error_gauge(db, engine, redis_client, registry):
    install(registry, hub_client_factory=None)
    assert scrape(registry).value("switchyard_metrics_scrape_error", source="postgresql") == 0
    run(engine, "ALTER TABLE farcaster_targets RENAME TO farcaster_targets_hidden")
    try:
        s = scrape(registry)
        assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 1
        assert s.has("switchyard_queue_waiting")
    finally:
        run(engine, "ALTER TABLE farcaster_targets_hidden RENAME TO farcaster_targets")
    assert scrape(registry).value("switchyard_metrics_scrape_error", source="postgresql") == 0


def test_a_locked_table_cannot_hang_the_scrape(db, engine, redis_client, registry):
    install(registry, hub_client_factory=None, statement_timeout_ms=300)
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
        s = scrape(registry)  # returns (bench/timing_checks.py times it), its query cancelled by the timeout
        conn.rollback()
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 1
    assert scrape(registry).value("switchyard_metrics_scrape_error", source="postgresql") == 0


def test_redis_down_still_scrapes_with_an_error_gauge(db, engine, registry):
    seed(engine)
    install(registry, redis_url=f"redis://127.0.0.1:{free_port()}/0", hub_client_factory=None)
    s = scrape(registry)
    assert s.value("switchyard_metrics_scrape_error", source="redis") == 1
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 0
    assert not s.has("switchyard_queue_waiting")
    assert s.value("switchyard_farcaster_backfills_waiting") == 2


def test_install_is_idempotent_and_reads_nothing(registry):
    first = install(registry, database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
                    redis_url=f"redis://127.0.0.1:{free_port()}/0", hub_client_factory=None)
    assert install(registry) is first
    # a registry that describes collectors at registration (like the default one) gets names, no reads
    describing = CollectorRegistry(auto_describe=True)
    try:
        install(describing, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x", hub_client_factory=None)
        assert "switchyard_jobs" in describing._names_to_collectors
        assert "switchyard_farcaster_events_indexed_total" in describing._names_to_collectors
    finally:
        uninstall(describing)


def test_jobs_metrics_stay_fast_with_a_large_jobs_table(db, engine, redis_client, registry):
    run(engine, """
        INSERT INTO jobs (id, name, queue, state)
        SELECT 'bulk-' || g, 'catalogue.upload_image', (ARRAY['image-upload', 'product-family', 'events'])[1 + g % 3],
               (ARRAY['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE', 'PENDING'])[1 + g % 5]
        FROM generate_series(1, 150000) g
    """)
    run(engine, """
        INSERT INTO analysis_jobs (id, tool_id, priority, status)
        SELECT 'bulk-' || g, 't', 'normal', CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END
        FROM generate_series(1, 50000) g
    """)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE jobs"))
        conn.execute(text("VACUUM ANALYZE analysis_jobs"))
    install(registry, hub_client_factory=None)
    scrape(registry)  # connect once
    s = scrape(registry)
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 0
    assert sum(v for (n, _), v in s.items() if n == "switchyard_jobs") == 150000
    assert s.value("switchyard_jobs", queue="events", state="PENDING") == 10000
    assert s.value("switchyard_analysis_jobs", state="failed") == 5000
    assert s.value("switchyard_metrics_scrape_duration_seconds", source="postgresql") < 1.0


def test_exposed_with_flowers_own_metrics_on_the_default_registry(database):
    """What Flower's /metrics renders (prometheus_client.generate_latest() of REGISTRY): both sets."""
    script = (
        "from flower.events import get_prometheus_metrics; get_prometheus_metrics()\n"
        "from app.dashboard.business_metrics import install; install(hub_client_factory=None); install()\n"
        "import prometheus_client; print(prometheus_client.generate_latest().decode())\n"
    )
    env = {**os.environ, **TEST_ENV}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    s = Scrape(out.stdout)
    assert s.help.get("flower_events") is not None
    assert s.value("switchyard_metrics_scrape_error", source="postgresql") == 0
    assert s.has("switchyard_jobs") and s.has("switchyard_queue_waiting")
    json.dumps(s.help)  # every HELP line parsed


def test_catching_up_takes_smaller_chunks_after_a_failed_scrape(db, engine, redis_client, registry):
    for i in range(8):
        stage(engine, 1, 1000 * i, 1, age_s=7200, applied=True)
    collector = install(registry, hub_client_factory=None, staged_chunk=4, statement_timeout_ms=300)
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE farcaster_staged_batches IN ACCESS EXCLUSIVE MODE"))
        assert scrape(registry).value("switchyard_metrics_scrape_error", source="postgresql") == 1
        conn.rollback()
    assert collector.staged_chunk == 2
    counts = [scrape(registry) for _ in range(5)]
    assert [s.has("switchyard_farcaster_events_indexed_total") for s in counts][:3] == [False, False, True]
    assert counts[-1].value("switchyard_farcaster_events_indexed_total", shard=1) == 8
    assert collector.staged_chunk == 4
