"""CATALOGUE_SYNC_SCHEDULE: a five-field cron expression (UTC) for beat, and the slot a scheduled run belongs to."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from celery.schedules import ParseException, crontab

FIELDS = "minute hour day-of-month month day-of-week"
MAX_LOOKBACK_MINUTES = 366 * 24 * 60  # a yearly schedule's previous slot is at most this far back


def parse_cron(expression: str) -> crontab:
    """A celery crontab from ``"0 3 * * *"``; ValueError naming what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields ({FIELDS}), e.g. '0 3 * * *', got {expression!r}")
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                       day_of_week=day_of_week)
    except (ParseException, ValueError) as exc:
        raise ValueError(f"not a cron expression ({FIELDS}): {expression!r}: {exc}") from None


def _matches(cron: crontab, at: datetime) -> bool:
    return (at.minute in cron.minute and at.hour in cron.hour and at.day in cron.day_of_month
            and at.month in cron.month_of_year and at.isoweekday() % 7 in cron.day_of_week)


def latest_slot(cron: crontab, now: datetime | None = None) -> datetime:
    """The most recent time at or before ``now`` (UTC, whole minute) the schedule was due."""
    at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(second=0, microsecond=0)
    for _ in range(MAX_LOOKBACK_MINUTES):
        if _matches(cron, at):
            return at
        at -= timedelta(minutes=1)
    raise ValueError(f"{cron!r} was never due in the last year")


def scheduled_run_id(slot: datetime) -> str:
    """One id per slot: the second delivery of a slot finds the first one's run."""
    return f"schedule-{slot.astimezone(timezone.utc):%Y%m%dT%H%M}Z"
