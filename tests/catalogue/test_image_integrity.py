"""Every image, intact: imprint images synced and linked; truncated bodies never stored; the repair command."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.catalogue.image_repair import verify_stored_images
from app.catalogue.storage import LocalDirectoryStore
from app.db import get_engine
from simulators.promidata.images import image_file
from tests.catalogue.helpers import table_counts, totals
from tests.catalogue.test_direct_sync import direct


def rows(sql: str, **params: Any) -> list[Any]:
    with get_engine().connect() as conn:
        return list(conn.execute(text(sql), params))


def test_imprint_images_are_stored_once_and_linked_to_their_variant_and_position(db: str, feed: Any,
                                                                              tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    syncs = direct(feed, store)
    truth = feed.model.ground_truth()
    assert truth["imprint_image_urls"] and truth["imprint_positions"] > len(truth["imprint_image_urls"])
    assert all(s["images_failed"] == 0 for s in syncs)
    assert table_counts()["stored_images"] == len(truth["image_urls"]) == len(store.keys())
    # What the database links, (variant, position code, image URL), is exactly what the documents say.
    linked = {(r.sku, r.code, r.source_url) for r in rows(
        "SELECT v.sku, ip.code, i.source_url FROM catalogue_imprint_positions ip "
        "JOIN catalogue_variants v ON v.id = ip.variant_id "
        "JOIN catalogue_imprint_images ii ON ii.imprint_position_id = ip.id "
        "JOIN catalogue_images i ON i.id = ii.image_id WHERE i.stored_at IS NOT NULL")}
    expected = {(child["Sku"], position["PositionCode"], image["Url"])
                for sku in feed.model.live_skus() for child in feed.model.family_document(sku)["ChildProducts"]
                for position in child["ImprintPositions"]
                for lang in position["ImprintLocationTexts"].values() for image in lang["Images"]}
    assert linked == expected
    [(positions, area)] = rows("SELECT count(*), min(max_print_area) FROM catalogue_imprint_positions")
    assert positions == truth["imprint_positions"] and area == "100 x 60 mm"

    # A changed family's positions are replaced, not duplicated; an unchanged run leaves them alone.
    sku = next(s for s in feed.model.live_skus("A23") if feed.model.imprint_position_count(s))
    feed.model.change_families([sku])
    direct(feed, store)
    [(again,)] = rows("SELECT count(*) FROM catalogue_imprint_positions")
    assert again == positions


def test_a_body_cut_short_under_a_200_is_retried_and_stored_whole(db: str, feed: Any, tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    url = sorted(feed.model.ground_truth("A23")["imprint_image_urls"])[0]
    name = url.rsplit("/", 1)[1]
    feed.faults.update(truncate_images={name: 1})  # the first response is cut, the second is whole
    syncs = direct(feed, store)
    assert totals(syncs, "images_failed") == 0
    [(key, verified)] = rows("SELECT storage_key, verified_at IS NOT NULL FROM catalogue_images WHERE source_url = :u",
                             u=url)
    assert verified and store.get(key) == image_file(name)[0]  # type: ignore[index]
    assert feed.faults.truncate_images[name] == 0  # the cut response was served


def test_a_body_always_cut_short_is_a_recorded_failure_and_never_stored(db: str, feed: Any, tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    truth = feed.model.ground_truth("A36")
    url = sorted(truth["image_urls"] - truth["imprint_image_urls"])[0]
    feed.faults.update(truncate_images={url.rsplit("/", 1)[1]: -1})
    syncs = {s["supplier_code"]: s for s in direct(feed, store)}
    assert syncs["A36"]["images_failed"] == 1 and syncs["A36"]["state"] == "done"
    [(stored, key, error)] = rows("SELECT stored_at, storage_key, last_error FROM catalogue_images "
                                  "WHERE source_url = :u", u=url)
    assert stored is None and key is None and "does not decode completely" in error
    [(reason,)] = rows("SELECT error FROM catalogue_sync_images si JOIN catalogue_images i ON i.id = si.image_id "
                       "WHERE i.source_url = :u", u=url)
    assert "CorruptImage" in reason
    assert len(store.keys()) == table_counts()["stored_images"] == len(feed.model.ground_truth()["image_urls"]) - 1


def test_verify_images_checks_old_images_once_and_unstores_broken_ones(db: str, feed: Any, tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    direct(feed, store)
    stored = table_counts()["stored_images"]
    # Images stored before decoding was checked: unverified, one of them cut short in storage.
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE catalogue_images SET verified_at = NULL"))
        url, key = conn.execute(text("SELECT source_url, storage_key FROM catalogue_images "
                                     "WHERE source_url LIKE '%.png' ORDER BY id LIMIT 1")).one()
    good = store.get(key)
    (tmp_path / key).write_bytes(good[: len(good) // 2])

    report = verify_stored_images(get_engine(), store, max_pixels=10_000)
    assert (report.checked, report.intact, len(report.broken)) == (stored, stored - 1, 1)
    assert report.broken[0]["urls"] == [url] and "does not decode completely" in str(report.broken[0]["reason"])
    assert not store.exists(key)
    assert verify_stored_images(get_engine(), store, max_pixels=10_000).checked == 0  # once

    again = {s["supplier_code"]: s for s in direct(feed, store)}  # the next sync downloads it again
    assert totals(list(again.values()), "images_uploaded") == 1
    assert store.get(key) == good and table_counts()["stored_images"] == stored


def test_bad_and_repeated_lines_are_counted_for_their_supplier(db: str, feed: Any, tmp_path: Any) -> None:
    repeated = feed.model.live_skus("A36")[:2]
    feed.faults.update(junk_lines=3, bad_hash_lines={"A23": 2}, duplicate_lines=repeated)
    syncs = {s["supplier_code"]: s for s in direct(feed, LocalDirectoryStore(tmp_path))}
    assert {c: (s["malformed_lines"], s["duplicate_lines"]) for c, s in syncs.items()} == {
        "A23": (2, 0), "A36": (0, 2), "A403": (0, 0)}
    assert syncs["A36"]["families_done"] == 8  # a repeated family is synced once
