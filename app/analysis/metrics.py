"""The analysis jobs' business metrics: requests by status."""
from __future__ import annotations

from typing import Any

from app.analysis.models import AnalysisStatus
from app.platform.metrics import Families, MetricsPart


class AnalysisMetrics(MetricsPart):
    METRICS = (
        ("switchyard_analysis_jobs", "gauge", ("state",),
         "Analysis requests by status (analysis_jobs): queued, running, retrying, completed, failed."),
    )
    FIELDS = (
        """'analysis', (SELECT json_object_agg(status, n) FROM (
        SELECT status, count(*) AS n FROM analysis_jobs GROUP BY status) a)""",
    )

    def emit(self, families: Families, data: dict[str, Any]) -> None:
        analysis = data.get("analysis") or {}
        for state in dict.fromkeys((*AnalysisStatus.ALL, *analysis)):
            families.add("switchyard_analysis_jobs", (state,), analysis.get(state, 0))
