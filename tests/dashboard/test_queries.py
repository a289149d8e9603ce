"""The pages' reads against real PostgreSQL and Redis: counts, waiting messages, keyset pages, job links."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.dashboard import job_queries, queue_overview, waiting_messages
from app.dashboard.models import Resend
from app.platform.pauses import PausedQueue
from app.db import get_engine
from app.platform.jobs.models import Job
from tests.conftest import TEST_ENV
from tests.dashboard.fixtures import idle_maintenance  # noqa: F401 - a fixture
from tests.dashboard.rows import ago, job_row, kombu_message


def test_queue_summaries_count_broker_and_history_by_state(idle_maintenance):
    redis_client = idle_maintenance
    for state, n in (("SUCCESS", 3), ("FAILURE", 3), ("STARTED", 1), ("RETRY", 1), ("REVOKED", 1)):
        for _ in range(n):
            job_row(state=state)
    job_row(state="PENDING", eta=ago(minutes=-10))  # scheduled
    job_row(state="PENDING")  # plain waiting: counted by the broker, not as scheduled
    job_row(queue="events", state="FAILURE")
    redis_client.lpush("maintenance", kombu_message("maintenance.fail", ["a"], {}))
    redis_client.lpush("maintenance:6", kombu_message("maintenance.fail", ["b"], {}),
                       kombu_message("maintenance.fail", ["c"], {}))
    with get_engine().begin() as conn:
        conn.execute(PausedQueue.__table__.insert().values(queue="events", paused_by="ops"))
        failed = conn.execute(select(Job.__table__.c.id).where(Job.__table__.c.state == "FAILURE").limit(1)).scalar()
        conn.execute(Resend.__table__.insert().values(job_id="a-retry", original_id=failed, reason="retry"))

    summaries = {q.name: q for q in queue_overview.queue_summaries(TEST_ENV["REDIS_URL"])}

    m = summaries["maintenance"]
    assert (m.waiting, m.waiting_by_priority) == (3, {0: 1, 3: 0, 6: 2, 9: 0})
    assert (m.active, m.scheduled, m.retrying, m.completed, m.failed, m.discarded) == (1, 1, 1, 3, 2, 1)
    assert m.retried_failures == 1  # failed counts only those not retried yet
    assert m.pool == "maintenance" and m.paused is None
    assert summaries["events"].failed == 1 and summaries["events"].paused.paused_by == "ops"
    assert summaries["realtime"].waiting == 0 and summaries["realtime"].by_state == {}


def test_waiting_messages_are_paged_in_run_order_across_priorities(idle_maintenance):
    redis_client = idle_maintenance
    # kombu LPUSHes and workers BRPOP the highest priority list first: run order is each list's tail first.
    ids = {}
    for step, label in ((6, "low-1"), (6, "low-2"), (0, "high-1"), (0, "high-2"), (3, "normal-1")):
        ids[label] = job_row(state="PENDING", args=[label], created_at=ago(seconds=30))
        key = "maintenance" if step == 0 else f"maintenance:{step}"
        redis_client.lpush(key, kombu_message("maintenance.fail", [label], {"k": 1}, job_id=ids[label]))
    redis_client.lpush("maintenance", kombu_message("maintenance.fail", [], {}, content_type="application/x-python-serialize"))

    everything, total = waiting_messages.read_page(redis_client, "maintenance", 0, 50)
    assert total == 6
    assert [m.args[0] if m.args else None for m in everything] == \
        ["high-1", "high-2", None, "normal-1", "low-1", "low-2"]
    assert [m.priority for m in everything] == [0, 0, 0, 3, 6, 6]
    assert everything[2].error == "body not shown (application/x-python-serialize)"  # pickle is never decoded
    assert everything[0].kwargs == {"k": 1} and everything[0].task == "maintenance.fail"
    assert everything[0].enqueued_at is not None  # from the job history

    pages = [waiting_messages.read_page(redis_client, "maintenance", offset, 2)[0] for offset in (0, 2, 4, 6)]
    assert [m.position for page in pages for m in page] == list(range(6))
    assert [[m.args[0] if m.args else None for m in page] for page in pages] == \
        [["high-1", "high-2"], [None, "normal-1"], ["low-1", "low-2"], []]


def test_remove_takes_one_waiting_message_out_by_id(idle_maintenance):
    redis_client = idle_maintenance
    keep, drop = kombu_message("maintenance.fail", ["keep"], {}), kombu_message("maintenance.fail", ["drop"], {}, job_id="drop-me")
    redis_client.lpush("maintenance:3", keep, drop)
    assert waiting_messages.remove(redis_client, "maintenance", "drop-me") is True
    assert waiting_messages.remove(redis_client, "maintenance", "drop-me") is False
    assert redis_client.lrange("maintenance:3", 0, -1) == [keep]


def test_job_lists_page_by_keyset_newest_change_first(db):
    ids = [job_row(state="FAILURE", updated_at=ago(seconds=i)) for i in range(120)]
    job_row(state="SUCCESS")
    job_row(state="FAILURE", queue="events")

    seen, after, pages = [], None, 0
    while True:
        page = job_queries.failed_jobs(queue="maintenance", after=after, limit=50)
        seen += [row["id"] for row in page.rows]
        pages += 1
        if page.next is None:
            break
        after = job_queries.Cursor.decode(page.next.encode())
    assert pages == 3 and seen == ids  # ids were made newest first
    assert len(job_queries.list_jobs(limit=500).rows) == 122
    assert {r["state"] for r in job_queries.list_jobs(state="SUCCESS").rows} == {"SUCCESS"}
    assert job_queries.Cursor.decode("garbage") is None


def test_job_detail_links_parent_children_and_resends(db):
    sync = job_row(name="catalogue.sync_supplier", queue="supplier-sync", state="SUCCESS")
    family = job_row(name="catalogue.sync_family", queue="product-family", state="SUCCESS", parent_id=sync, root_id=sync)
    images = [job_row(name="catalogue.upload_image", queue="image-upload", state=s, parent_id=family, root_id=sync)
              for s in ("SUCCESS", "SUCCESS", "FAILURE")]
    retry = job_row(name="catalogue.upload_image", queue="image-upload", state="SUCCESS")
    with get_engine().begin() as conn:
        conn.execute(Resend.__table__.insert().values(job_id=retry, original_id=images[2], reason="retry",
                                                      requested_by="admin"))

    detail = job_queries.job_detail(family)
    assert detail["parent"]["id"] == sync and detail["parent"]["name"] == "catalogue.sync_supplier"
    assert detail["root"] is None  # the root is the parent: shown once
    assert [c["id"] for c in detail["children"]] == images
    assert detail["children_by_state"] == {"SUCCESS": 2, "FAILURE": 1}

    image = job_queries.job_detail(images[2])
    assert image["root"]["id"] == sync and image["parent"]["id"] == family
    assert image["resent_as"]["id"] == retry and image["resent_as"]["state"] == "SUCCESS"
    assert job_queries.job_detail(retry)["resend_of"]["id"] == images[2]
    assert job_queries.count_failed("image-upload") == {"failed": 1, "not_retried": 0}
    assert job_queries.job_detail("nope") is None

    orphan = job_row(parent_id="cleaned-away")
    assert job_queries.job_detail(orphan)["parent"] == {"id": "cleaned-away", "name": None, "state": None}


def test_scheduled_jobs_are_the_ones_waiting_for_an_eta(db):
    later = job_row(state="PENDING", eta=ago(minutes=-30))
    sooner = job_row(state="RETRY", eta=ago(minutes=-1))
    job_row(state="PENDING")
    job_row(state="SUCCESS", eta=ago(minutes=5))
    assert [j["id"] for j in job_queries.scheduled_jobs("maintenance")] == [sooner, later]


def test_progress_details_read_as_text_not_json():
    from app.dashboard.handler_base import progress_text

    assert progress_text({"step": 2, "of": 3}) == "step 2 of 3"
    assert progress_text({"step": "parse", "pages": 1200, "families": {"done": 3, "failed": 1}}) == \
        "step parse · pages 1,200 · families done 3, failed 1"
    assert progress_text({"ratio": 0.25, "ok": True}) == "ratio 0.25 · ok True"
    assert progress_text(None) == "" and progress_text("raw") == "raw"


def test_periodic_tasks_are_known_and_hidden_from_lists_unless_named(db):
    from app.platform.celery_app import celery

    periodic = job_queries.periodic_task_names(celery)
    assert {"farcaster.poll_shard", "farcaster.poll_shards", "canary.maintenance", "maintenance.prune_jobs"} <= periodic
    assert "farcaster.backfill_fid" not in periodic and "analysis.analyze" not in periodic
    poll = job_row(name="farcaster.poll_shard", queue="realtime", state="SUCCESS")
    real = job_row(name="maintenance.fail")
    assert {r["id"] for r in job_queries.list_jobs(hide=periodic).rows} == {real}
    assert {r["id"] for r in job_queries.list_jobs().rows} == {real, poll}
    assert [r["id"] for r in job_queries.list_jobs(name="farcaster.poll_shard", hide=periodic).rows] == [poll]


def test_jobs_are_found_by_a_value_in_their_arguments_or_result(db, monkeypatch):
    from sqlalchemy import text

    from app.platform.jobs.models import SEARCH_DOCUMENT

    family = job_row(name="catalogue.sync_family", args=[7, "A23-100804"], kwargs={"supplier": "A23"})
    backfill = job_row(name="farcaster.backfill_fid", kwargs={"fid": 190000, "reason": "root"},
                       result={"messages": 12, "fids": [190000, 3]})
    analysis = job_row(name="analysis.analyze", args=["replit"], state="SUCCESS", result={"tool": "replit"})

    def found(q: str) -> set[str]:
        return {r["id"] for r in job_queries.list_jobs(search=q).rows}

    assert found("A23") == {family} and found("A23-100804") == {family}
    assert found("190000") == {backfill} and found("replit") == {analysis}
    assert found("root 190000") == {backfill} and found("root replit") == set()  # every word
    assert found("nothing-like-it") == set() and found("  ") == {family, backfill, analysis}
    assert {r["id"] for r in job_queries.list_jobs(search="190000", state="SUCCESS").rows} == set()
    with get_engine().connect() as conn:  # the search is an index lookup, not a scan of every row
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(conn.execute(text(
            f"EXPLAIN SELECT id FROM jobs WHERE {SEARCH_DOCUMENT} @@ plainto_tsquery('simple'::regconfig, 'A23')"
        )).scalars())
    assert "ix_jobs_search" in plan, plan
    with get_engine().begin() as conn:  # a word 20,000 jobs contain, and 1 ms to list them: a clear refusal
        conn.execute(text("INSERT INTO jobs (id, name, queue, state, args) SELECT 'common-' || i, "
                          "'maintenance.fail', 'maintenance', 'SUCCESS', '[\"common\"]' FROM generate_series(1, 20000) i"))
    monkeypatch.setattr(job_queries, "SEARCH_TIMEOUT_MS", 1)
    with pytest.raises(ValueError, match="too many jobs contain 'common'"):
        job_queries.list_jobs(search="common")


def test_charts_count_completed_and_failed_per_minute_and_time_percentiles(db):
    from datetime import datetime, timedelta, timezone

    from app.dashboard import charts

    now = datetime.now(timezone.utc).replace(second=30, microsecond=0)
    for i in range(4):  # waited 1..4 s, ran 10 s, finished 2 minutes ago
        job_row(state="SUCCESS", created_at=now - timedelta(minutes=2, seconds=11 + i),
                started_at=now - timedelta(minutes=2, seconds=10), finished_at=now - timedelta(minutes=2))
    job_row(state="FAILURE", finished_at=now)
    job_row(state="SUCCESS", finished_at=now - timedelta(hours=7))  # outside the window
    [chart] = charts.queue_charts(6, now=now)
    assert chart.queue == "maintenance" and len(chart.completed) == 360
    assert (chart.completed[-3], chart.failed[-1], chart.total_completed, chart.total_failed) == (4, 1, 4, 1)
    assert chart.jobs == 4 and chart.run[0] == 10.0 and 2.0 <= chart.wait[0] <= 3.0
    assert 'fill="#dc3545"' in charts.bars_svg(chart.completed, chart.failed)
    with pytest.raises(ValueError):
        charts.queue_charts(0)


def test_flow_tree_counts_descendants_level_by_level(db):
    sync = job_row(name="catalogue.sync_supplier", state="SUCCESS")
    families = [job_row(name="catalogue.sync_family", state="SUCCESS", parent_id=sync) for _ in range(3)]
    for family in families:
        for state in ("SUCCESS", "SUCCESS", "FAILURE"):
            job_row(name="catalogue.upload_image", state=state, parent_id=family)
    job_row(name="catalogue.sync_family", parent_id="someone-else")
    levels = job_queries.flow_tree(sync, shown=4)
    assert [(level["depth"], level["total"]) for level in levels] == [(1, 3), (2, 9)]
    assert levels[0]["counts"] == {("catalogue.sync_family", "SUCCESS"): 3}
    assert levels[1]["counts"] == {("catalogue.upload_image", "SUCCESS"): 6, ("catalogue.upload_image", "FAILURE"): 3}
    assert len(levels[1]["jobs"]) == 4  # the newest few listed, the counts cover them all
    assert job_queries.flow_tree(sync, depth=1)[-1]["depth"] == 1 and job_queries.flow_tree(families[0])[0]["total"] == 3
