"""Cyclic garbage collection tuned for worker processes.

A worker decodes hub pages and feed files into tens of thousands of short-lived dicts and
lists. With CPython's default thresholds (a collection every 700 net container allocations)
the collector ran dozens of times per 1,000-event page, and its older generations walked every
object the process holds (Celery, SQLAlchemy, pydantic: hundreds of thousands). Decoding a page
took ~5x as long as with the collector off (20 ms against 4), decoding and parsing it 1.6-1.8x
as long as tuned (bench/gc_tuning.py). The data is acyclic, so collecting less often frees it
just the same (reference counting does), while the rare cycles wait a little longer.

``gc.freeze()`` moves what the process holds at start-up into a generation the collector never
walks; done in the prefork parent, it also keeps collections from touching (and so copying)
the pages the children share with it.
"""
from __future__ import annotations

import gc

PYTHON_DEFAULT_GEN0 = 700


def tune(gen0_threshold: int) -> None:
    """Collect the youngest generation every ``gen0_threshold`` allocations (0 keeps Python's
    default) and freeze everything allocated so far."""
    if gen0_threshold <= 0:
        return
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
    gc.freeze()


def tune_worker_process() -> None:
    """What every worker process runs at start (the Celery hooks; the benches' stand-ins)."""
    from app.settings import get_settings

    tune(get_settings().gc_gen0_threshold)
