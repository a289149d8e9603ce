"""The dashboard application: Flower's own tornado app, same process and port, plus our routes.

Flower builds its app and routes as usual; we add the Switchyard pages ahead of
Flower's catch-all 404 (tornado's add_handlers), swap Flower's handlers for
read-only-aware subclasses, and serve templates from ours with Flower's behind.
"""
from __future__ import annotations

from typing import Any

import redis
from flower.app import Flower, rewrite_handler
from tornado.web import url

from app.dashboard import action_handlers as act
from app.dashboard import pages
from app.dashboard.flower_guard import guard_flower_handlers
from app.dashboard.template_loader import DashboardTemplateLoader

ROUTES = [
    url(r"/queues", pages.QueuesPage, name="dashboard-queues"),
    url(r"/queues/([^/]+)", pages.QueuePage, name="dashboard-queue"),
    url(r"/queues/([^/]+)/pause", act.PauseQueue, name="dashboard-pause"),
    url(r"/queues/([^/]+)/resume", act.ResumeQueue, name="dashboard-resume"),
    url(r"/queues/([^/]+)/retry-failed", act.RetryFailed, name="dashboard-retry-failed"),
    url(r"/queues/([^/]+)/clean", act.CleanQueue, name="dashboard-clean"),
    url(r"/queues/([^/]+)/purge", act.PurgeQueue, name="dashboard-purge"),
    url(r"/failed", pages.FailedJobsPage, name="dashboard-failed"),
    url(r"/jobs", pages.JobsPage, name="dashboard-jobs"),
    url(r"/jobs/new", act.AddJob, name="dashboard-add-job"),
    url(r"/jobs/([^/]+)", pages.JobPage, name="dashboard-job"),
    url(r"/find-job", pages.FindJobPage, name="dashboard-find-job"),
    url(r"/charts", pages.ChartsPage, name="dashboard-charts"),
    url(r"/schedules", pages.SchedulesPage, name="dashboard-schedules"),
    url(r"/schedules/([^/]+)", act.SwitchSchedule, name="dashboard-schedule"),
    url(r"/jobs/([^/]+)/retry", act.RetryJob, name="dashboard-retry"),
    url(r"/jobs/([^/]+)/run-now", act.RunJobNow, name="dashboard-run-now"),
    url(r"/jobs/([^/]+)/remove", act.RemoveJob, name="dashboard-remove"),
    url(r"/jobs/([^/]+)/retry-edited", act.RetryJobEdited, name="dashboard-retry-edited"),
    url(r"/jobs/([^/]+)/cancel", act.CancelJob, name="dashboard-cancel"),
]


class Dashboard(Flower):
    """Flower plus Switchyard's queues, jobs and actions, behind Flower's authentication."""

    def __init__(self, *, redis_url: str, viewers: frozenset[str] = frozenset(),
                 metrics_scrape_token: str | None = None, **kwargs: Any) -> None:
        super().__init__(template_loader=DashboardTemplateLoader(), dashboard_viewers=frozenset(viewers),
                         metrics_scrape_token=metrics_scrape_token,
                         dashboard_redis_url=redis_url,
                         dashboard_redis=redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10),
                         **kwargs)
        guard_flower_handlers(self)
        prefix = self.options.url_prefix
        self.add_handlers(r".*", [rewrite_handler(route, prefix) for route in ROUTES] if prefix else ROUTES)
