"""The catalogue sync (Promidata) as one pipeline: supplier-sync -> product-family -> image-upload."""
from __future__ import annotations

from app.catalogue.demo import DEMO_SIMULATOR_COMMAND
from app.catalogue.settings import CatalogueSettings
from app.platform.pipeline import Demo, DemoProcess, Pipeline
from app.platform.pool import Pool

POOLS = (
    Pool("supplier-sync", ("supplier-sync",), concurrency=1, prefetch_multiplier=1,
         soft_time_limit=1750, time_limit=1800, max_tasks_per_child=50,
         description="Catalogue: parse the feed, diff one supplier, fan out"),
    Pool("product-family", ("product-family",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=280, time_limit=300, max_tasks_per_child=500,
         description="Catalogue: upsert one product family"),
    Pool("image-upload", ("image-upload",), concurrency=10, prefetch_multiplier=4,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=1000,
         description="Catalogue: download, dedupe and store one image"),
)

PIPELINE = Pipeline(
    name="catalogue",
    task_modules=("tasks.catalogue",),
    pools=POOLS,
    settings=CatalogueSettings,
    cli=("app.catalogue.cli:register",),
    models=("app.catalogue.models",),
    # The default CATALOGUE_IMPORT_URL points at this feed simulator.
    demo=Demo(processes=(DemoProcess("promidata-sim", DEMO_SIMULATOR_COMMAND),),
              seed="app.catalogue.demo:seed_demo"),
)
