"""The consumption-stall check flags a queue with messages waiting, a free slot and no start for
N seconds, and nothing else (busy pools, empty queues, queues that consume)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.platform.consumption import ConsumptionWatch, QueueActivity, queue_activity

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_stall_needs_waiting_messages_a_free_slot_and_no_start_for_the_whole_period():
    watch = ConsumptionWatch(60, capacity=lambda queue: 2)
    assert watch.check([QueueActivity("q", 1, None, 0)], now=at(0)) == []
    assert watch.check([QueueActivity("q", 1, None, 0)], now=at(59)) == []
    [stall] = watch.check([QueueActivity("q", 1, None, 0)], now=at(61))
    assert stall.queue == "q" and "no task started for 61 s" in stall.reason
    # Starting tasks resets the clock; an emptied queue forgets it.
    assert watch.check([QueueActivity("q", 3, at(50), 0)], now=at(100)) == []
    assert watch.check([QueueActivity("q", 3, at(50), 0)], now=at(111))
    assert watch.check([QueueActivity("q", 0, at(50), 0)], now=at(200)) == []
    assert watch.check([QueueActivity("q", 1, at(50), 0)], now=at(230)) == []


def test_a_pool_whose_slots_are_all_busy_is_not_stalled():
    watch = ConsumptionWatch(60, capacity=lambda queue: 2)
    watch.check([QueueActivity("long", 5, at(-500), 2)], now=at(0))
    assert watch.check([QueueActivity("long", 5, at(-500), 2)], now=at(600)) == []
    assert watch.check([QueueActivity("long", 5, at(-500), 1)], now=at(600))


def test_stall_after_must_be_positive():
    with pytest.raises(ValueError):
        ConsumptionWatch(0, capacity=lambda queue: 1)


def test_activity_comes_from_the_jobs_table(db):
    from app.db import get_engine

    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO jobs (id, name, queue, state, started_at) VALUES
              ('a', 't', 'analysis', 'STARTED', now() - interval '10 seconds'),
              ('b', 't', 'analysis', 'SUCCESS', now() - interval '20 seconds'),
              ('c', 't', 'analysis', 'STARTED', now() - interval '2 hours'),  -- its worker is long gone
              ('d', 't', 'backfill', 'PENDING', NULL)
        """))
    activity = {a.queue: a for a in queue_activity(engine, {"analysis": 4, "backfill": 1}, {"analysis": 120})}
    assert activity["analysis"].running == 1 and activity["analysis"].waiting == 4
    assert activity["analysis"].last_started is not None
    assert activity["backfill"] == QueueActivity("backfill", 1, None, 0)
