"""The worker processes' collector tuning: what the Celery hooks set, and 0 = Python's defaults."""
from __future__ import annotations

import gc

import pytest

from app.platform import gc_tuning
from app.settings import get_settings


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.parametrize("hook", ["worker_boot", "worker_process_boot"])
def test_worker_hooks_tune_the_collector_and_freeze_the_start_up_heap(restore_gc, hook):
    from app.platform import celery_app
    from app.platform.worker_hooks import GcTuning

    _, gen1, gen2 = gc.get_threshold()
    [extension] = [e for e in celery_app.EXTENSIONS if isinstance(e, GcTuning)]
    getattr(extension, hook)()
    assert gc.get_threshold() == (get_settings().gc_gen0_threshold, gen1, gen2)
    assert get_settings().gc_gen0_threshold > gc_tuning.PYTHON_DEFAULT_GEN0
    assert gc.get_freeze_count() > 1000  # the imported modules' objects


def test_zero_keeps_pythons_collector(restore_gc):
    before = gc.get_threshold()
    gc_tuning.tune(0)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_garbage_cycles_are_still_collected(restore_gc):
    import weakref

    gc_tuning.tune(1000)

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # a cycle: reference counting alone never frees it
    kept = [[] for _ in range(2000)]  # live allocations past the threshold trigger a collection
    assert gone() is None and len(kept) == 2000
