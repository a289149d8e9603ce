"""Beat's schedule as the dashboard steers it: switches remembered in PostgreSQL, applied to the
entry RedBeat keeps in Redis (the running beat) and to a starting beat's entries; run now."""
from __future__ import annotations

import copy
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.schedules import crontab

from app.platform import schedules
from app.platform.celery_app import celery
from app.platform.jobs import queries
from tests.support import wait_until


@pytest.fixture
def beat_conf():
    """The app's beat entries, restored after the test (the hook changes them in place)."""
    saved = copy.deepcopy(celery.conf.beat_schedule)
    yield celery.conf.beat_schedule
    celery.conf.beat_schedule = saved


def test_schedule_rows_describe_every_entry(db, redis_client, beat_conf):
    rows = {r.name: r for r in schedules.schedule_rows(celery)}
    assert set(rows) == set(beat_conf)
    prune = rows["prune-jobs"]
    assert (prune.task, prune.every, prune.enabled) == ("maintenance.prune_jobs", "every 60 min", True)
    assert schedules.describe(timedelta(seconds=1)) == "every 1 s"
    assert schedules.describe(crontab(minute="0", hour="3")).startswith("<crontab: 0 3")


def test_a_switch_is_remembered_and_reaches_the_running_and_the_next_beat(db, redis_client, beat_conf):
    from redbeat.schedulers import RedBeatSchedulerEntry

    stored = RedBeatSchedulerEntry("prune-jobs", "maintenance.prune_jobs", timedelta(hours=1), app=celery).save()
    schedules.set_enabled(celery, "prune-jobs", False, by="ops")
    # the running beat: its Redis entry is disabled (is_due is never true)
    assert RedBeatSchedulerEntry.from_key(stored.key, app=celery).enabled is False
    row = {r.name: r for r in schedules.schedule_rows(celery)}["prune-jobs"]
    assert (row.enabled, row.changed_by, row.next_run_at) == (False, "ops", None)
    # a beat that starts later (or after Redis lost its data) stores it disabled
    schedules.BeatSwitches().beat_boot(sender=SimpleNamespace(app=celery))
    assert beat_conf["prune-jobs"]["enabled"] is False
    schedules.set_enabled(celery, "prune-jobs", True, by="ops")
    schedules.BeatSwitches().beat_boot(sender=SimpleNamespace(app=celery))
    assert beat_conf["prune-jobs"]["enabled"] is True
    assert RedBeatSchedulerEntry.from_key(stored.key, app=celery).enabled is True
    with pytest.raises(schedules.UnknownEntry):
        schedules.set_enabled(celery, "nope", False)
    redis_client.delete(stored.key)


def test_run_now_sends_the_entry_s_task(db, redis_client, beat_conf):
    job_id = schedules.run_now(celery, "prune-jobs", by="ops")
    job = wait_until(lambda: queries.get_job(job_id), message="the job to be recorded")
    assert (job["name"], job["queue"]) == ("maintenance.prune_jobs", "maintenance")
    with pytest.raises(schedules.UnknownEntry):
        schedules.run_now(celery, "nope")
