"""The catalogue sync (Promidata) as one pipeline: supplier-sync -> product-family -> image-upload."""
from __future__ import annotations

from typing import Any

from app.catalogue.demo import DEMO_SIMULATOR_COMMAND
from app.catalogue.settings import CatalogueSettings
from app.platform.pipeline import BeatEntries, Demo, DemoProcess, Pipeline
from app.platform.pool import Pool

POOLS = (
    Pool("supplier-sync", ("supplier-sync",), concurrency=1, prefetch_multiplier=1,
         soft_time_limit=1750, time_limit=1800, max_tasks_per_child=50,
         description="Catalogue: parse the feed, diff one supplier, fan out"),
    Pool("product-family", ("product-family",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=280, time_limit=300, max_tasks_per_child=500,
         description="Catalogue: upsert one product family"),
    # An upload waits on the image host and the object store nearly all its time: 32 threads in one
    # process beat 10 prefork processes (bench/catalogue_sync.py --image-pool, bench/RESULTS.md) and
    # use one process's memory. Threads enforce no time limits: every call is bounded by its own
    # timeout (CATALOGUE_HTTP_TIMEOUT_SECONDS per request, boto3's connect/read timeouts).
    Pool("image-upload", ("image-upload",), concurrency=32, prefetch_multiplier=4,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=1000, pool_type="threads",
         description="Catalogue: download, check, dedupe and store one image"),
)

def beat_entries(settings: Any) -> BeatEntries:
    if not settings.catalogue_sync_schedule:
        return {}
    from app.catalogue.schedule import parse_cron

    # The task names its run after the slot and skips a slot already started or a run still going.
    return {"catalogue-sync": {"task": "catalogue.sync_all", "schedule": parse_cron(settings.catalogue_sync_schedule),
                               "kwargs": {"trigger": "schedule"}}}


PIPELINE = Pipeline(
    name="catalogue",
    task_modules=("tasks.catalogue",),
    pools=POOLS,
    settings=CatalogueSettings,
    beat=beat_entries,
    cli=("app.catalogue.cli:register",),
    models=("app.catalogue.models",),
    # The default CATALOGUE_IMPORT_URL points at this feed simulator.
    demo=Demo(processes=(DemoProcess("promidata-sim", DEMO_SIMULATOR_COMMAND),),
              seed="app.catalogue.demo:seed_demo"),
)
