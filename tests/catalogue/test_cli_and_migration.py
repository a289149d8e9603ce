"""`switchyard catalogue ...` as an operator runs it, and the 0002 migration's downgrade."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import create_engine, inspect, text

from simulators.promidata import FeedModel
from simulators.promidata.model import DEFAULT_SUPPLIERS
from simulators.promidata.testing import running_promidata
from tests.conftest import PG_SERVER, ROOT, TEST_DATABASE, TEST_ENV


def switchyard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **TEST_ENV, **(env or {})}, timeout=240)


def test_direct_sync_status_failures_and_suppliers(db: str, feed: Any, tmp_path: Any) -> None:
    env = {"CATALOGUE_STORAGE_DIR": str(tmp_path), "CATALOGUE_HTTP_ATTEMPTS": "1"}
    broken = feed.model.live_skus("A403")[0]
    feed.faults.update(malformed=[broken])
    done = switchyard("--json", "catalogue", "sync", "--direct", "--import-url", feed.import_url, env=env)
    assert done.returncode == 1, done.stderr  # one family failed: the exit status says so
    syncs = {s["supplier_code"]: s for s in json.loads(done.stdout)}
    assert syncs["A403"]["families_failed"] == 1 and syncs["A23"]["families_failed"] == 0
    assert all(s["mode"] == "direct" and s["state"] == "done" for s in syncs.values())

    status = switchyard("catalogue", "status")
    assert status.returncode == 0 and "A403" in status.stdout and "UPLOADED" in status.stdout
    assert "BAD LINES" in status.stdout and "DUP LINES" in status.stdout

    # Images stored by this sync were decoded on the way in: nothing is left for the repair command.
    verified = switchyard("--json", "catalogue", "verify-images", env=env)
    assert verified.returncode == 0 and json.loads(verified.stdout) == {"checked": 0, "intact": 0, "broken": []}

    failures = switchyard("--json", "catalogue", "failures", str(syncs["A403"]["id"]))
    [family] = json.loads(failures.stdout)["families"]
    assert family["sku"] == broken and "not valid JSON" in family["error"]

    suppliers = json.loads(switchyard("--json", "catalogue", "suppliers", "--deactivate", "A36").stdout)
    by_code = {s["code"]: s for s in suppliers}
    assert by_code["A23"]["display_name"] == "XD Connects (Xindao)" and by_code["A23"]["products"] == 8
    assert by_code["A36"]["active"] is False
    assert by_code["A403"]["last_sync_outcome"].startswith("done: 7 families stored, 1 failed")

    missing = switchyard("catalogue", "status", "999999")
    assert missing.returncode == 1 and "no catalogue sync 999999" in missing.stderr


def test_sync_wait_refuses_at_once_when_no_worker_consumes_supplier_sync(db: str, worker_pools: Any,
                                                                         redis_client: Any) -> None:
    from app.platform.jobs import queries

    worker_pools.stop("supplier-sync")
    refused = switchyard("catalogue", "sync", "--wait", "--import-url", "http://127.0.0.1:9/Import/Import.txt")
    assert refused.returncode == 2, refused.stderr
    assert "no worker consumes the supplier-sync queue" in refused.stderr
    assert queries.list_jobs(name="catalogue.sync_all") == []  # refused before anything was enqueued


def test_sync_wait_exits_1_with_a_summary_when_an_image_failed_and_0_once_it_is_stored(
        db: str, s3_store: Any, catalogue_workers: Any) -> None:
    with running_promidata(FeedModel(seed=5, suppliers=DEFAULT_SUPPLIERS[:3], families_per_supplier=2)) as feed:
        _sync_wait_exit_codes(feed)


def _sync_wait_exit_codes(feed: Any) -> None:
    url = sorted(feed.model.ground_truth("A36")["image_urls"])[0]
    feed.faults.update(truncate_images={url.rsplit("/", 1)[1]: -1})
    failed = switchyard("catalogue", "sync", "--wait", "--timeout", "200", "--import-url", feed.import_url)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "A36): 0 families and 1 images failed; see `switchyard catalogue failures" in failed.stderr
    assert "A23" in failed.stdout and "A403" in failed.stdout  # the table of every supplier's sync

    feed.faults.update(truncate_images={})
    fixed = switchyard("--json", "catalogue", "sync", "--wait", "--timeout", "200", "--import-url", feed.import_url)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    syncs = {s["supplier_code"]: s for s in json.loads(fixed.stdout)}
    assert syncs["A36"]["images_uploaded"] == 1 and sum(s["families_queued"] for s in syncs.values()) == 0


def test_sync_with_a_bad_supplier_code_is_refused_by_the_task(db: str) -> None:
    from app.platform.arguments import InvalidTaskArguments
    from tasks.catalogue import sync_family, sync_supplier

    for call, message in ((lambda: sync_supplier.run("23"), "supplier_code: must be an A-number"),
                          (lambda: sync_family.run(0, "A23-1", "http://x/A23-1.json", "0" * 40), "sync_id"),
                          (lambda: sync_family.run(1, "A23-1", "ftp://x", "0" * 40), "json_url"),
                          (lambda: sync_family.run(1, "A23-1", "http://x/A23-1.json", "zz"), "feed_hash")):
        try:
            call()
        except InvalidTaskArguments as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"accepted bad arguments ({message})")


def test_migration_downgrades_cleanly() -> None:
    from app.db.migrate import downgrade, upgrade

    name = f"{TEST_DATABASE}_catalogue_migration"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        upgrade(url, "0002_catalogue")
        engine = create_engine(url)
        assert "catalogue_products" in inspect(engine).get_table_names()
        downgrade(url, "0001_platform")
        assert not [t for t in inspect(engine).get_table_names() if t.startswith("catalogue_")]
        assert "jobs" in inspect(engine).get_table_names()
        upgrade(url, "0002_catalogue")
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
