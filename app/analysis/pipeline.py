"""One analysis, start to finish, without Celery: fetch, extract, analyse, in reported steps."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from app.analysis.analyzer import analyze
from app.analysis.extractor import PageFacts, extract
from app.analysis.fetcher import FetchLimits, fetch
from app.analysis.request import AnalysisRequest

ProgressCallback = Callable[[int, str], None]  # (percent, step)

# Progress at the start of each step (the store keeps progress monotonic across attempts).
STEPS = {"fetch": 10, "extract": 50, "analyze": 75, "store": 90}
MAX_LINKS_IN_RESULT = 100


def run_analysis(request: AnalysisRequest, limits: FetchLimits,
                 on_progress: ProgressCallback = lambda percent, step: None) -> dict[str, Any]:
    """The result document stored for a completed job. Raises FetchError from the fetch step."""
    facts: PageFacts | None = None
    if request.url is not None:
        on_progress(STEPS["fetch"], "fetch")
        page = fetch(request.url, limits)
        on_progress(STEPS["extract"], "extract")
        facts = extract(page)
    on_progress(STEPS["analyze"], "analyze")
    analysis = analyze(description=request.description, facts=facts)
    page_summary = None
    if facts is not None:
        page_summary = facts.as_dict()
        page_summary.pop("technologies")  # reported once, under analysis
        page_summary["links"] = page_summary["links"][:MAX_LINKS_IN_RESULT]
    return {
        "toolId": request.tool_id,
        "url": request.url,
        "analyzedAt": datetime.now(timezone.utc).isoformat(),
        "page": page_summary,
        "analysis": analysis,
    }
