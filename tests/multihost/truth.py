"""What a finished run must look like, compared with the simulators' ground truth and by effect."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.farcaster.helpers import compare_with_truth, target_set
from tests.multihost.cluster import Cluster

# Every analysis completion is logged by a trigger: exactly one row per job means one write won.
EFFECT_LOG = """
CREATE TABLE IF NOT EXISTS test_analysis_completions (job_id text, at timestamptz DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION test_log_completion() RETURNS trigger AS $$
BEGIN
  IF NEW.status = 'completed' AND NEW.result IS NOT NULL
     AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR OLD.result IS DISTINCT FROM NEW.result) THEN
    INSERT INTO test_analysis_completions (job_id) VALUES (NEW.id);
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS test_log_completion ON analysis_jobs;
CREATE TRIGGER test_log_completion AFTER INSERT OR UPDATE ON analysis_jobs
  FOR EACH ROW EXECUTE FUNCTION test_log_completion();
"""


def install_effect_log(cluster: Cluster) -> None:
    with cluster.engine.begin() as conn:
        conn.execute(text(EFFECT_LOG))


def pending_work(cluster: Cluster, sent: dict[str, Any]) -> dict[str, Any]:
    """What is not finished yet (empty when the run is done)."""
    with cluster.engine.connect() as conn:
        left = {
            "backfills": conn.execute(text(
                "SELECT count(*) FROM farcaster_backfill_requests WHERE state NOT IN ('done', 'failed')")).scalar(),
            "app_scans": conn.execute(text(
                "SELECT count(*) FROM farcaster_client_apps WHERE users_scanned_at IS NULL")).scalar(),
            "analyses": conn.execute(text(
                "SELECT count(*) FROM analysis_jobs WHERE status NOT IN ('completed', 'failed')")).scalar(),
            "catalogue_syncs": 0 if not sent.get("catalogue_run") else conn.execute(text(
                "SELECT count(*) FROM catalogue_syncs WHERE finished_at IS NULL")).scalar(),
        }
    return {k: v for k, v in left.items() if v}


def catalogue_done(cluster: Cluster) -> bool:
    truth = cluster.feed.model.ground_truth()
    return cluster.scalar("SELECT count(*) FROM catalogue_images WHERE stored_at IS NOT NULL") >= len(truth["image_urls"])


def problems(cluster: Cluster, sent: dict[str, Any], app_fid: int) -> list[str]:
    found: list[str] = []
    engine = cluster.engine
    # Farcaster: the hub's truth for the roots and the client app.
    truth = cluster.hub.ground_truth(roots=list(sent["roots"]), client_apps=[app_fid])
    if target_set(engine) != set(truth.targets):
        found.append(f"farcaster targets differ: {sorted(set(truth.targets) ^ target_set(engine))[:10]}")
    found += compare_with_truth(engine, truth, set(), set(truth.targets))[:10]
    failed = cluster.scalar("SELECT count(*) FROM farcaster_backfill_requests WHERE state = 'failed'")
    if failed:
        found.append(f"{failed} backfills failed")
    # Catalogue: the feed's truth.
    feed = cluster.feed.model.ground_truth()
    with engine.connect() as conn:
        counts = {
            "families": conn.execute(text("SELECT count(*) FROM catalogue_products WHERE active")).scalar(),
            "variants": conn.execute(text("SELECT count(*) FROM catalogue_variants")).scalar(),
            "price_tiers": conn.execute(text("SELECT count(*) FROM catalogue_price_tiers")).scalar(),
        }
        urls = set(conn.execute(text("SELECT source_url FROM catalogue_images WHERE stored_at IS NOT NULL")).scalars())
    for name, count in counts.items():
        if count != feed[name]:
            found.append(f"catalogue {name}: {count} stored, feed has {feed[name]}")
    if urls != feed["image_urls"]:
        found.append(f"catalogue images: {len(feed['image_urls'] - urls)} missing, {len(urls - feed['image_urls'])} extra")
    # Analyses: every job completed, and completed exactly once by effect.
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM analysis_jobs")).all())
        completions = dict(conn.execute(text(
            "SELECT job_id, count(*) FROM test_analysis_completions GROUP BY 1")).all())
    for job_id in sent.get("analyses", []):
        if statuses.get(job_id) != "completed":
            found.append(f"analysis {job_id}: {statuses.get(job_id)}")
        elif completions.get(job_id, 0) != 1:
            found.append(f"analysis {job_id} completed {completions.get(job_id, 0)} times")
    return found
