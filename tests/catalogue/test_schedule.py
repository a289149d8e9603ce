"""Scheduled syncs: CATALOGUE_SYNC_SCHEDULE in beat, one run per slot, never over a run still going."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from app.platform.beat import build_schedule
from app.catalogue.runs import claim_scheduled_slot
from app.catalogue.schedule import latest_slot, parse_cron, scheduled_run_id
from app.db import get_engine
from app.platform.jobs import queries
from app.settings import Settings
from tests.platform.test_beat import start_beat
from tests.support import stop_process, wait_until

HOUR = timedelta(hours=1)


def test_cron_expression_setting_and_slots() -> None:
    assert "catalogue-sync" not in build_schedule(Settings())  # off by default
    entry = build_schedule(Settings(catalogue_sync_schedule="30 3 * * 1-5"))["catalogue-sync"]
    assert entry["task"] == "catalogue.sync_all" and entry["kwargs"] == {"trigger": "schedule"}
    assert entry["schedule"] == parse_cron("30 3 * * 1-5")
    monday_2am = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
    assert latest_slot(entry["schedule"], monday_2am) == datetime(2026, 12, 4, 3, 30, tzinfo=timezone.utc)  # Friday
    assert scheduled_run_id(datetime(2026, 12, 4, 3, 30, 59, tzinfo=timezone.utc)) == "schedule-20261204T0330Z"
    for bad in ("* * *", "61 * * * *", "0 3 * * funday"):
        with pytest.raises(ValueError):
            Settings(catalogue_sync_schedule=bad)


def test_a_slot_starts_one_run_and_never_over_a_run_still_going(db: str) -> None:
    engine = get_engine()
    assert claim_scheduled_slot(engine, "schedule-A", "http://x/Import.txt", stale_after=HOUR) is None
    assert "has started already" in claim_scheduled_slot(engine, "schedule-A", "http://x/Import.txt",
                                                         stale_after=HOUR)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO catalogue_syncs (run_id, supplier_code, mode, state) "
                          "VALUES ('schedule-A', 'A23', 'queued', 'fanned_out')"))
    assert "run schedule-A is still going (1 supplier sync(s)" in claim_scheduled_slot(
        engine, "schedule-B", "http://x/Import.txt", stale_after=HOUR)
    with engine.begin() as conn:  # a sync stranded for longer than stale_after no longer blocks
        conn.execute(text("UPDATE catalogue_syncs SET started_at = now() - interval '2 hours'"))
    assert claim_scheduled_slot(engine, "schedule-B", "http://x/Import.txt", stale_after=HOUR) is None


def test_scheduled_sync_all_delivered_twice_runs_once(db: str, feed: Any, redis_client: Any) -> None:
    from tasks.catalogue import sync_all

    first = sync_all.run(import_url=feed.import_url, trigger="schedule")
    again = sync_all.run(import_url=feed.import_url, trigger="schedule")
    assert first["run_id"].startswith("schedule-") and first["suppliers"] == ["A23", "A36", "A403"]
    assert again == {"run_id": first["run_id"], "skipped": f"run {first['run_id']} of this slot has started already"}
    assert feed.requests["import"] == 1


@pytest.mark.slow
def test_the_schedule_fires_once_per_slot_with_two_beats_running(db: str, redis_client: Any, tmp_path: Any) -> None:
    redis_client.delete(*redis_client.keys("switchyard:redbeat*") or ["-"])
    env = {"CATALOGUE_SYNC_SCHEDULE": "* * * * *", "CANARY_INTERVAL_SECONDS": "1", "BEAT_LOCK_TIMEOUT_SECONDS": "30"}
    beats = [start_beat(tmp_path / "beat1.log", env), start_beat(tmp_path / "beat2.log", env)]
    try:
        # Every minute is a slot: wait for the next one (at most a minute away).
        [fired] = wait_until(lambda: queries.list_jobs(name="catalogue.sync_all"), timeout=90,
                             message="the scheduled sync to fire")
        assert fired["kwargs"] == {"trigger": "schedule"}
        canaries = len(queries.list_jobs(name="canary.maintenance", limit=10_000))
        # Both beats tick several more times after the slot (bounded by a count, not a sleep).
        wait_until(lambda: len(queries.list_jobs(name="canary.maintenance", limit=10_000)) >= canaries + 5,
                   timeout=30, message="five more beat ticks")
        assert all(beat.poll() is None for beat in beats)
        assert len(queries.list_jobs(name="catalogue.sync_all")) == 1
    finally:
        for beat in beats:
            beat.terminate()
        for beat in beats:
            stop_process(beat, 15)
