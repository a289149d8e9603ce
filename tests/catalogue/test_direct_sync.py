"""Direct mode (the same steps inline, no workers) against the simulator and a local-directory store."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.catalogue import pipeline
from app.catalogue.direct import run_direct
from app.catalogue.feed_client import FeedClient
from app.catalogue.storage import LocalDirectoryStore
from app.db import get_engine
from simulators.promidata import FeedModel
from simulators.promidata.model import DEFAULT_SUPPLIERS
from simulators.promidata.testing import running_promidata
from tests.catalogue.helpers import product_hashes, table_counts, totals


def limits(**overrides: Any) -> pipeline.Limits:
    base = dict(index_bytes=1 << 24, family_bytes=1 << 22, image_bytes=1 << 22, mass_disable_ratio=0.5,
                key_prefix="")
    return pipeline.Limits(**{**base, **overrides})


def direct(feed: Any, store: LocalDirectoryStore, **kwargs: Any) -> list[dict[str, Any]]:
    client = FeedClient(timeout=5, attempts=2, backoff_max=0.1, backoff_initial=0.05)
    return run_direct(get_engine(), client, store, import_url=feed.import_url, limits=limits(), **kwargs)


def test_direct_sync_stores_everything_once_and_skips_unchanged(db: str, feed: Any, tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    feed.faults.update(junk_lines=2)
    first = direct(feed, store)
    truth = feed.model.ground_truth()
    assert [s["state"] for s in first] == ["done"] * 3
    assert [s["malformed_lines"] for s in first] == [0] * 3  # junk lines name no supplier
    counts = table_counts()
    assert counts["families"] == truth["families"] == totals(first, "families_done")
    assert counts["variants"] == truth["variants"]
    assert counts["price_tiers"] == truth["price_tiers"]
    assert counts["stored_images"] == counts["images"] == len(truth["image_urls"])
    assert totals(first, "images_uploaded") == len(truth["image_urls"]) == len(store.keys())
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM catalogue_categories")).scalar_one() == 6
        assert conn.execute(text("SELECT count(*) FROM catalogue_product_images")).scalar_one() > 0

    again = direct(feed, store)
    assert totals(again, "families_queued") == 0
    assert totals(again, "families_unchanged") == truth["families"]
    assert table_counts() == counts


def test_pattern_a_supplier_variant_shares_the_family_sku(db: str, tmp_path: Any) -> None:
    model = FeedModel(seed=3, suppliers=(DEFAULT_SUPPLIERS[4],), families_per_supplier=3)  # A360
    with running_promidata(model) as feed:
        [sync] = direct(feed, LocalDirectoryStore(tmp_path))
    assert sync["families_done"] == 3
    with get_engine().connect() as conn:
        same = conn.execute(text("SELECT count(*) FROM catalogue_variants v JOIN catalogue_products p "
                                 "ON p.id = v.product_id WHERE v.sku = p.sku")).scalar_one()
    assert same == 3


def test_content_dedupe_reuses_the_stored_object(db: str, feed: Any, tmp_path: Any) -> None:
    """Two URLs with the same bytes: one object, the second URL points at it."""
    store = LocalDirectoryStore(tmp_path)
    direct(feed, store)
    url = sorted(feed.model.ground_truth()["image_urls"])[0]
    copy = url + "?copy=1"  # another URL, the same bytes
    with get_engine().begin() as conn:
        conn.execute(text("INSERT INTO catalogue_images (source_url) VALUES (:u)"), {"u": copy})
    result = pipeline.process_image(get_engine(), FeedClient(timeout=5), store,
                                    _any_sync_id(), copy, limits())
    assert result.outcome == "skipped"
    with get_engine().connect() as conn:
        keys = conn.execute(text("SELECT storage_key FROM catalogue_images WHERE source_url IN (:a, :b)"),
                            {"a": url, "b": copy}).scalars().all()
    assert len(keys) == 2 and keys[0] == keys[1]


def _any_sync_id() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT max(id) FROM catalogue_syncs")).scalar_one()


def test_mass_disable_guard_changes_nothing(db: str, feed: Any, tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    direct(feed, store)
    before = product_hashes("A36")
    lost = feed.model.live_skus("A36")[:5]  # 5 of 8 = 62 %
    feed.model.remove_families(lost)
    feed.model.change_families(feed.model.live_skus("A36"))  # the survivors changed too: still untouched
    results = {s["supplier_code"]: s for s in direct(feed, store)}
    aborted = results["A36"]
    assert aborted["state"] == "aborted"
    assert "5 of the 8 active ones are missing" in aborted["error"] and "Nothing was changed" in aborted["error"]
    assert aborted["families_queued"] == 0
    assert product_hashes("A36") == before
    assert results["A23"]["state"] == "done"
    with get_engine().connect() as conn:
        outcome = conn.execute(text("SELECT last_sync_outcome FROM catalogue_suppliers WHERE code='A36'")).scalar()
    assert outcome.startswith("aborted: supplier A36")

    feed.model.restore_families(lost[:3])  # now 2 of 8 gone (25 %): allowed, and they are deactivated
    results = {s["supplier_code"]: s for s in direct(feed, store, supplier_codes=["A36"])}
    assert results["A36"]["state"] == "done" and results["A36"]["families_deactivated"] == 2
    assert sum(1 for _, active in product_hashes("A36").values() if not active) == 2


@pytest.mark.parametrize("junk", [b"", b"\xff\xfe not an image"])
def test_bad_image_bytes_are_refused(junk: bytes) -> None:
    from app.catalogue.errors import BadImage
    from app.catalogue.image_check import check_image

    with pytest.raises(BadImage, match="not a JPEG, PNG, GIF or WebP"):
        check_image(junk, "http://x/y.jpg", max_pixels=1000)


def test_failed_image_is_retried_by_the_next_sync_of_an_unchanged_family(db: str, feed: Any,
                                                                         tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    url = sorted(feed.model.ground_truth("A23")["image_urls"])[0]
    feed.faults.update(fail_next={url.rsplit("/", 1)[1]: [500, 500]})  # both attempts of the client
    first = {s["supplier_code"]: s for s in direct(feed, store)}
    assert first["A23"]["images_failed"] == 1 and first["A23"]["state"] == "done"
    with get_engine().connect() as conn:
        error = conn.execute(text("SELECT last_error FROM catalogue_images WHERE source_url = :u"),
                             {"u": url}).scalar_one()
    assert "answered 500" in error

    second = {s["supplier_code"]: s for s in direct(feed, store)}
    assert second["A23"]["families_queued"] == 0
    assert (second["A23"]["images_queued"], second["A23"]["images_uploaded"]) == (1, 1)
    assert table_counts()["stored_images"] == len(feed.model.ground_truth()["image_urls"])
