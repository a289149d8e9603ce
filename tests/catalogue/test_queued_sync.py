"""The acceptance scenarios on real workers: supplier-sync -> product-family -> image-upload into moto's S3."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.catalogue.status import recent_syncs
from app.db import get_engine
from app.platform.jobs import queries
from tasks.catalogue import new_run_id, sync_all, sync_supplier
from tests.catalogue.helpers import image_urls, product_hashes, table_counts, totals
from tests.support import wait_until

SUPPLIERS = ("A23", "A36", "A403")


def jobs_named(name: str) -> list[dict[str, Any]]:
    return queries.list_jobs(name=name, limit=10_000)


def wait_for_run(run_id: str, expected_syncs: int, timeout: float = 60) -> list[dict[str, Any]]:
    def finished() -> list[dict[str, Any]] | None:
        syncs = recent_syncs(get_engine(), run_id=run_id, limit=100)
        final = len(syncs) == expected_syncs and all(s["state"] in ("done", "aborted", "failed") for s in syncs)
        return syncs if final else None

    return wait_until(finished, timeout=timeout, interval=0.2, message=f"catalogue run {run_id} to finish")


def first_sync(feed: Any) -> list[dict[str, Any]]:
    run_id = new_run_id()
    sync_all.apply_async(kwargs={"import_url": feed.import_url, "run_id": run_id})
    return wait_for_run(run_id, expected_syncs=len(SUPPLIERS))


def sync_suppliers(feed: Any, *codes: str) -> tuple[list[dict[str, Any]], list[str]]:
    run_id = new_run_id()
    ids = [sync_supplier.apply_async(args=[c], kwargs={"run_id": run_id, "import_url": feed.import_url}).id
           for c in codes]
    return wait_for_run(run_id, expected_syncs=len(codes)), ids


def test_first_sync_stores_everything_exactly_once(db: str, feed: Any, s3_store: Any,
                                                  catalogue_workers: Any) -> None:
    feed.faults.update(bad_hash_lines={"A36": 2}, duplicate_lines=feed.model.live_skus("A403")[:1], junk_lines=1)
    syncs = first_sync(feed)
    truth = feed.model.ground_truth()
    assert sorted(s["supplier_code"] for s in syncs) == list(SUPPLIERS)
    assert all(s["state"] == "done" and s["families_failed"] == 0 for s in syncs), syncs
    # One feed index download for the run, shared by its three supplier syncs.
    assert (feed.requests["import"], feed.requests["categories"]) == (1, 1)
    counts = table_counts()
    assert counts["families"] == truth["families"] == totals(syncs, "families_done")
    assert counts["variants"] == truth["variants"]
    assert counts["price_tiers"] == truth["price_tiers"]
    assert image_urls() == truth["image_urls"] and truth["imprint_image_urls"] <= truth["image_urls"]
    assert counts["stored_images"] == len(truth["image_urls"])
    # Uploads equal distinct images: in the sync counters, the upload jobs and the bucket.
    assert totals(syncs, "images_uploaded") == len(truth["image_urls"])
    assert totals(syncs, "images_skipped") == 0
    assert len(s3_store.keys()) == len(truth["image_urls"])
    assert len(jobs_named("catalogue.upload_image")) == len(truth["image_urls"])
    # The fan-out is visible in the jobs table: families are children of their supplier sync.
    supplier_jobs = {j["id"] for j in jobs_named("catalogue.sync_supplier")}
    family_jobs = jobs_named("catalogue.sync_family")
    assert len(family_jobs) == truth["families"]
    assert {j["parent_id"] for j in family_jobs} == supplier_jobs
    done = wait_until(lambda: len(ok := [j for j in jobs_named("catalogue.sync_supplier")
                                         if j["state"] == "SUCCESS"]) == 3 and ok,
                      timeout=20, message="3 supplier jobs to succeed")
    assert len(done) == 3 and all(j["progress"] == 100 for j in done)
    # The final counters reach the supplier jobs' rows in the jobs table (what `switchyard job` shows).
    def counters_final() -> list[dict[str, Any]] | None:
        jobs = jobs_named("catalogue.sync_supplier")
        return jobs if all((j["progress_info"] or {}).get("step") == "done" for j in jobs) else None

    final = wait_until(counters_final, timeout=20, message="final counters on the supplier jobs")
    assert sum(j["progress_info"]["families_done"] for j in final) == truth["families"]
    # Each supplier's job shows its own bad and repeated Import.txt lines (the junk line names none).
    lines = {j["args"][0]: (j["progress_info"]["malformed_lines"], j["progress_info"]["duplicate_lines"])
             for j in final}
    assert lines == {"A23": (0, 0), "A36": (2, 0), "A403": (0, 1)}
    assert sum(j["progress_info"]["images_uploaded"] for j in final) == len(truth["image_urls"])


def test_second_sync_reprocesses_only_changed_families(db: str, feed: Any, s3_store: Any,
                                                       catalogue_workers: Any) -> None:
    first_sync(feed)
    stored_before = len(s3_store.keys())
    changed = feed.model.live_skus("A23")[:2] + feed.model.live_skus("A36")[:2] + feed.model.live_skus("A403")[:1]
    feed.model.change_families(changed)
    family_jobs_before = {j["id"] for j in jobs_named("catalogue.sync_family")}

    syncs, _ = sync_suppliers(feed, *SUPPLIERS)
    assert all(s["state"] == "done" for s in syncs)
    assert totals(syncs, "families_queued") == totals(syncs, "families_done") == 5
    assert totals(syncs, "families_unchanged") == feed.model.ground_truth()["families"] - 5
    new_jobs = [j for j in jobs_named("catalogue.sync_family") if j["id"] not in family_jobs_before]
    assert sorted(j["args"][1] for j in new_jobs) == sorted(changed)
    # Each changed family got one new main image; only those are uploaded.
    assert totals(syncs, "images_uploaded") == 5 == len(s3_store.keys()) - stored_before
    assert table_counts()["price_tiers"] == feed.model.ground_truth()["price_tiers"]
    for sku in changed:
        assert product_hashes(sku.split("-")[0])[sku][0] == feed.model.feed_hash(sku)


def test_feed_that_lost_most_families_aborts_and_changes_nothing(db: str, feed: Any, s3_store: Any,
                                                                catalogue_workers: Any) -> None:
    first_sync(feed)
    before = product_hashes("A36")
    feed.model.remove_families(feed.model.live_skus("A36")[:5])  # 5 of 8: more than 60 % lost
    family_jobs_before = len(jobs_named("catalogue.sync_family"))

    [sync], [job_id] = sync_suppliers(feed, "A36")
    assert sync["state"] == "aborted"
    job = wait_until(lambda: (j := queries.get_job(job_id)) and j["state"] == "FAILURE" and j,
                     timeout=20, message="the aborted supplier job to be recorded")
    assert "MassDisableAborted" in job["error"] and "refusing to deactivate" in job["error"]
    assert product_hashes("A36") == before
    assert len(jobs_named("catalogue.sync_family")) == family_jobs_before


def test_malformed_family_fails_visibly_without_holding_up_others(db: str, feed: Any, s3_store: Any,
                                                                   catalogue_workers: Any) -> None:
    first_sync(feed)
    broken, fine = feed.model.live_skus("A23")[:1], feed.model.live_skus("A23")[1:4]
    old_hash = product_hashes("A23")[broken[0]][0]
    feed.model.change_families(broken + fine)
    feed.faults.update(malformed=broken)

    [sync], _ = sync_suppliers(feed, "A23")
    assert sync["state"] == "done"
    assert (sync["families_queued"], sync["families_done"], sync["families_failed"]) == (4, 3, 1)
    # The sync is done once the family's failure is recorded; the job's FAILURE follows from its signal.
    [failed_job] = wait_until(lambda: [j for j in jobs_named("catalogue.sync_family")
                                       if j["args"][1] == broken[0] and j["state"] == "FAILURE"],
                              timeout=20, message="the malformed family's job to be FAILURE")
    assert failed_job["attempts"] == 1  # malformed is permanent: not retried
    assert "MalformedFamily" in failed_job["error"] and "not valid JSON" in failed_job["error"]
    with get_engine().connect() as conn:
        error = conn.execute(text("SELECT error FROM catalogue_sync_families WHERE sync_id=:s AND sku=:k"),
                             {"s": sync["id"], "k": broken[0]}).scalar_one()
    assert f"family {broken[0]}: not valid JSON" in error
    hashes = product_hashes("A23")
    assert hashes[broken[0]][0] == old_hash  # the stored version is kept, and retried on the next sync
    assert all(hashes[sku][0] == feed.model.feed_hash(sku) for sku in fine)


def test_truncated_image_is_retried_then_recorded_failed_and_never_stored(db: str, feed: Any, s3_store: Any,
                                                                       catalogue_workers: Any) -> None:
    truth = feed.model.ground_truth("A403")
    cut, flaky = sorted(truth["imprint_image_urls"])[:2]
    feed.faults.update(truncate_images={cut.rsplit("/", 1)[1]: -1, flaky.rsplit("/", 1)[1]: 1})
    syncs = {s["supplier_code"]: s for s in first_sync(feed)}
    assert (syncs["A403"]["images_failed"], syncs["A403"]["state"]) == (1, "done")
    assert totals(list(syncs.values()), "images_uploaded") == len(feed.model.ground_truth()["image_urls"]) - 1
    with get_engine().connect() as conn:
        stored = dict(conn.execute(text("SELECT source_url, stored_at IS NOT NULL FROM catalogue_images "
                                        "WHERE source_url IN (:a, :b)"), {"a": cut, "b": flaky}).all())
    assert stored == {cut: False, flaky: True}
    assert len(s3_store.keys()) == len(feed.model.ground_truth()["image_urls"]) - 1
    [job] = wait_until(lambda: [j for j in jobs_named("catalogue.upload_image")
                                if j["args"][1] == cut and j["state"] == "FAILURE"],
                       timeout=20, message="the truncated image's job to be FAILURE")
    assert job["attempts"] == 3 and "does not decode completely" in job["error"]
