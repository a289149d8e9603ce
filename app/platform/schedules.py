"""Beat's schedule as operators see and steer it: each entry's interval, last and next run,
enabled or not (remembered in PostgreSQL across restarts), and run now.

A switch is stored in ``beat_switches`` and written onto the entry RedBeat keeps in Redis, which
the running beat reads every tick; a beat that starts reads the switches before it stores its
entries (the BeatSwitches extension), so a disabled entry stays disabled after a restart or a
lost Redis.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, DateTime, String, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from app.db import get_engine
from app.db.base import Base
from app.platform.extensions import Extension

log = logging.getLogger(__name__)


class BeatSwitch(Base):
    __tablename__ = "beat_switches"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # the beat entry's name
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


switches = BeatSwitch.__table__


class UnknownEntry(ValueError):
    pass


@dataclass
class ScheduleRow:
    name: str
    task: str
    every: str
    enabled: bool
    last_run_at: datetime | None
    next_run_at: datetime | None
    changed_by: str | None


def describe(schedule: Any) -> str:
    if isinstance(schedule, timedelta):
        seconds = schedule.total_seconds()
        if seconds < 120:
            return f"every {seconds:g} s"
        return f"every {seconds / 60:g} min" if seconds < 7200 else f"every {seconds / 3600:g} h"
    run_every = getattr(schedule, "run_every", None)
    if isinstance(run_every, timedelta) and type(schedule).__name__ == "schedule":
        return describe(run_every)
    return str(schedule)  # a crontab prints as <crontab: m h dom mon dow>


def stored_switches() -> dict[str, dict[str, Any]]:
    with get_engine().connect() as conn:
        return {r["name"]: dict(r) for r in conn.execute(select(switches)).mappings()}


def _redis_entry(app: Any, name: str) -> Any:
    from redbeat.schedulers import RedBeatSchedulerEntry, ensure_conf

    ensure_conf(app)  # RedBeat's settings, as a beat process has them
    try:
        return RedBeatSchedulerEntry.from_key(RedBeatSchedulerEntry.generate_key(app, name), app=app)
    except KeyError:
        return None


def schedule_rows(app: Any) -> list[ScheduleRow]:
    known = stored_switches()
    rows = []
    for name, entry in sorted((app.conf.beat_schedule or {}).items()):
        switch = known.get(name)
        last = next_ = None
        try:
            stored = _redis_entry(app, name)
            if stored is not None:
                last = stored.last_run_at
                next_ = stored.due_at if stored.enabled else None
        except Exception:  # noqa: BLE001 - Redis down: the page still shows the schedule
            log.warning("schedules: could not read %s from Redis", name, exc_info=True)
        enabled = switch["enabled"] if switch else entry.get("enabled", True)
        rows.append(ScheduleRow(name, entry["task"], describe(entry["schedule"]), bool(enabled), last,
                                next_ if enabled else None, switch["changed_by"] if switch else None))
    return rows


def set_enabled(app: Any, name: str, enabled: bool, *, by: str | None = None) -> None:
    if name not in (app.conf.beat_schedule or {}):
        raise UnknownEntry(f"no beat entry {name!r}")
    stmt = insert(switches).values(name=name, enabled=enabled, changed_by=by)
    stmt = stmt.on_conflict_do_update(index_elements=[switches.c.name],
                                      set_={"enabled": enabled, "changed_by": by, "changed_at": func.now()})
    with get_engine().begin() as conn:
        conn.execute(stmt)
    stored = _redis_entry(app, name)
    if stored is not None:  # the running beat reads it on its next tick
        stored.enabled = enabled
        stored.save()
    log.info("schedules: %s %s beat entry %s", by or "-", "enabled" if enabled else "disabled", name)


def run_now(app: Any, name: str, *, by: str | None = None) -> str:
    entry = (app.conf.beat_schedule or {}).get(name)
    if entry is None:
        raise UnknownEntry(f"no beat entry {name!r}")
    options = {k: v for k, v in (entry.get("options") or {}).items() if k != "expires"}
    result = app.send_task(entry["task"], entry.get("args") or (), entry.get("kwargs") or {}, **options)
    log.info("schedules: %s ran beat entry %s now as %s", by or "-", name, result.id)
    return str(result.id)


class BeatSwitches(Extension):
    """A starting beat applies the stored switches to its entries before storing them in Redis."""

    name = "beat switches"

    def beat_boot(self, sender: Any = None, **_: Any) -> None:
        app = getattr(sender, "app", None)
        if app is None:
            return
        try:
            known = stored_switches()
        except Exception:  # noqa: BLE001 - no database: every entry as declared
            log.exception("schedules: could not read beat_switches; entries run as declared")
            return
        for name, entry in (app.conf.beat_schedule or {}).items():
            if name in known:
                entry["enabled"] = known[name]["enabled"]
