"""Per-queue throughput and timing over the last hours, from the jobs table, drawn as inline SVG.

One grouped query per chart over the window (ix_jobs_finished_at), so the page costs what
the window holds, not what the table holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import text

from app.db import get_engine

MAX_HOURS = 48

_THROUGHPUT = text("""
    SELECT queue, date_trunc('minute', finished_at) AS minute,
           count(*) FILTER (WHERE state = 'SUCCESS') AS completed,
           count(*) FILTER (WHERE state = 'FAILURE') AS failed
    FROM jobs WHERE finished_at >= :since AND queue IS NOT NULL
    GROUP BY queue, minute
""")
_TIMINGS = text("""
    SELECT queue, count(*) AS jobs,
           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP
               (ORDER BY extract(epoch FROM started_at - created_at)) AS wait,
           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP
               (ORDER BY extract(epoch FROM finished_at - started_at)) AS run
    FROM jobs
    WHERE finished_at >= :since AND queue IS NOT NULL AND started_at IS NOT NULL AND state = 'SUCCESS'
    GROUP BY queue
""")


@dataclass
class QueueChart:
    queue: str
    completed: list[int] = field(default_factory=list)  # per minute, oldest first
    failed: list[int] = field(default_factory=list)
    jobs: int = 0
    wait: list[float] = field(default_factory=list)  # seconds: p50, p95, p99
    run: list[float] = field(default_factory=list)

    @property
    def total_completed(self) -> int:
        return sum(self.completed)

    @property
    def total_failed(self) -> int:
        return sum(self.failed)


def queue_charts(hours: float, now: datetime | None = None) -> list[QueueChart]:
    if not 0 < hours <= MAX_HOURS:
        raise ValueError(f"hours: from more than 0 to {MAX_HOURS}")
    now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    minutes = int(hours * 60)
    since = now - timedelta(minutes=minutes - 1)
    charts: dict[str, QueueChart] = {}

    def chart(queue: str) -> QueueChart:
        if queue not in charts:
            charts[queue] = QueueChart(queue, [0] * minutes, [0] * minutes)
        return charts[queue]

    with get_engine().connect() as conn:
        for row in conn.execute(_THROUGHPUT, {"since": since}):
            index = int((row.minute - since).total_seconds() // 60)
            if 0 <= index < minutes:
                chart(row.queue).completed[index] += row.completed
                chart(row.queue).failed[index] += row.failed
        for row in conn.execute(_TIMINGS, {"since": since}):
            c = chart(row.queue)
            c.jobs, c.wait, c.run = row.jobs, [float(v) for v in row.wait], [float(v) for v in row.run]
    return sorted(charts.values(), key=lambda c: c.queue)


def bars_svg(completed: list[int], failed: list[int], width: int = 480, height: int = 60) -> str:
    """Stacked bars per minute: completed (green) under failed (red); the tallest minute fills the height."""
    peak = max([c + f for c, f in zip(completed, failed)] or [0]) or 1
    step = width / max(len(completed), 1)
    parts = [f'<svg class="throughput" viewBox="0 0 {width} {height}" width="100%" height="{height}" '
             f'preserveAspectRatio="none" role="img" aria-label="completed and failed per minute">']
    for i, (c, f) in enumerate(zip(completed, failed)):
        x = i * step
        hc, hf = height * c / peak, height * f / peak
        if c:
            parts.append(f'<rect x="{x:.1f}" y="{height - hc:.1f}" width="{max(step, 1):.1f}" height="{hc:.1f}" '
                         f'fill="#198754"><title>{c} completed</title></rect>')
        if f:
            parts.append(f'<rect x="{x:.1f}" y="{height - hc - hf:.1f}" width="{max(step, 1):.1f}" '
                         f'height="{hf:.1f}" fill="#dc3545"><title>{f} failed</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def seconds(value: Any) -> str:
    if value is None:
        return "—"
    value = float(value)
    return f"{value * 1000:.0f} ms" if value < 1 else (f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min")
