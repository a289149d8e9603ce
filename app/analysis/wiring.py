"""Analysis jobs as one pipeline: the HTTP API, the analysis pool (priorities), the demo pages."""
from __future__ import annotations

from app.analysis.settings import AnalysisSettings
from app.platform.pipeline import Demo, DemoProcess, Pipeline, Process
from app.platform.pool import Pool

POOLS = (
    Pool("analysis", ("analysis",), concurrency=2, prefetch_multiplier=1,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=200,
         description="Analysis jobs: fetch and analyse a tool's URL (priorities)"),
)

PIPELINE = Pipeline(
    name="analysis",
    task_modules=("tasks.analysis",),
    pools=POOLS,
    settings=AnalysisSettings,
    cli=("app.analysis.cli:register",),
    models=("app.analysis.models",),
    processes=(Process("api", "switchyard api", "switchyard api --host 0.0.0.0 --port 8080",
                       ports=("${ANALYSIS_API_PORT:-8080}:8080",)),),
    # Local pages to analyse; the analysis worker may fetch 127.0.0.1 only in the demo.
    demo=Demo(processes=(DemoProcess("analysis-pages", "switchyard analyze demo-pages",
                                     env={"ANALYSIS_ALLOW_PRIVATE_ADDRESSES": "true"}),),
              seed="app.analysis.demo:seed_demo"),
)
