"""Catalogue runs: the feed index (Import.txt, CAT.csv) is fetched once per run and stored with it.

A run is one "sync all", one scheduled slot or one CLI call. Its first step downloads Import.txt,
refreshes CAT.csv and stores the text on the run's row; every supplier sync of the run parses the
stored text instead of downloading it again. The row lock taken while fetching makes concurrent
supplier syncs of one run wait for that single download. A scheduled run's id names its slot,
so a slot delivered twice (two beats, a redelivered message) starts one run.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from app.catalogue.import_index import ImportIndex, parse_import_txt
from app.catalogue.models import Run, Sync

log = logging.getLogger(__name__)
runs = Run.__table__
syncs = Sync.__table__
RETENTION = timedelta(days=30)  # a run's stored index is useless once its syncs are long done
GOING_STATES = ("running", "fanned_out")
IndexFetcher = Callable[[str], tuple[str, ImportIndex, int]]  # url -> (Import.txt text, parsed, CAT.csv rows stored)


@dataclass(frozen=True)
class RunIndex:
    index: ImportIndex
    fetched: bool  # this call downloaded it (False: read from the run's row)
    categories: int


def index_for_run(engine: Engine, run_id: str, import_url: str, fetch: IndexFetcher, *,
                  trigger: str = "manual") -> RunIndex:
    """The run's Import.txt, parsed: from its row, or fetched (and CAT.csv refreshed) and stored there."""
    with engine.begin() as conn:
        conn.execute(insert(runs).values(run_id=run_id, trigger=trigger, import_url=import_url)
                     .on_conflict_do_nothing(index_elements=[runs.c.run_id]))
        row = conn.execute(select(runs.c.import_txt, runs.c.categories).where(runs.c.run_id == run_id)
                           .with_for_update()).one()
        if row.import_txt is not None:
            return RunIndex(parse_import_txt(row.import_txt), fetched=False, categories=row.categories or 0)
        body, index, categories = fetch(import_url)
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(
            import_txt=body, categories=categories, malformed_unattributed=index.malformed_unattributed,
            fetched_at=func.now()))
        conn.execute(delete(runs).where(runs.c.created_at < func.now() - RETENTION))
    return RunIndex(index, fetched=True, categories=categories)


def claim_scheduled_slot(engine: Engine, run_id: str, import_url: str, *, stale_after: timedelta) -> str | None:
    """Start the run of one schedule slot: None when it may start, else why not.

    Refused when the slot's run exists already (delivered twice) or when a supplier sync of an
    earlier run is still going (one older than ``stale_after`` is taken as stranded, not going)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('catalogue-scheduled-run'))"))
        if conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first():
            return f"run {run_id} of this slot has started already"
        going = conn.execute(
            select(syncs.c.run_id, func.count()).where(
                syncs.c.state.in_(GOING_STATES), syncs.c.started_at > func.now() - stale_after)
            .group_by(syncs.c.run_id).order_by(syncs.c.run_id).limit(1)).first()
        if going is not None:
            return f"run {going[0]} is still going ({going[1]} supplier sync(s) not finished)"
        conn.execute(insert(runs).values(run_id=run_id, trigger="schedule", import_url=import_url))
    return None
