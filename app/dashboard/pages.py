"""The dashboard's pages (GET): queues, one queue, failed jobs, jobs, one job, the add-job form."""
from __future__ import annotations

from typing import Any

from tornado import web

from app.dashboard import actions, charts, job_queries, queue_overview, waiting_messages
from app.platform import schedules
from app.dashboard.cleanup import CLEANABLE
from app.dashboard.handler_base import DashboardHandler
from app.platform.pauses import UnknownQueue, check_queue, paused_queues
from app.platform.jobs.models import JobState
from workers.pools import QUEUES

PAGE_SIZE = 50


def known_queue(queue: str) -> str:
    try:
        return check_queue(queue)
    except UnknownQueue as exc:
        raise web.HTTPError(404, str(exc)) from None


class QueuesPage(DashboardHandler):
    @web.authenticated
    async def get(self) -> None:
        summaries = await self.blocking(queue_overview.queue_summaries, self.application.settings["dashboard_redis_url"])
        self.render("queues.html", active_tab="queues", queues=summaries)


class QueuePage(DashboardHandler):
    @web.authenticated
    async def get(self, queue: str) -> None:
        queue = known_queue(queue)
        offset = max(0, self.get_query_argument_int("offset", 0))
        summary = (await self.blocking(queue_overview.queue_summaries,
                                       self.application.settings["dashboard_redis_url"], (queue,)))[0]
        messages, total = await self.blocking(waiting_messages.read_page, self.redis, queue, offset, PAGE_SIZE)
        delayed = await self.blocking(job_queries.scheduled_jobs, queue)
        self.render("queue.html", active_tab="queues", queue=summary, messages=messages, total=total,
                    offset=offset, page_size=PAGE_SIZE, delayed=delayed, cleanable=list(CLEANABLE))


class JobsPage(DashboardHandler):
    """Jobs newest change first, filtered by state, queue and task name; /failed is state FAILURE."""

    failed_only = False

    @web.authenticated
    async def get(self) -> None:
        queue = self.get_query_argument("queue", "") or None
        if queue:
            known_queue(queue)
        state = JobState.FAILURE if self.failed_only else (self.get_query_argument("state", "") or None)
        if state and state not in JobState.ALL:
            raise web.HTTPError(400, f"unknown state {state!r}; one of {', '.join(JobState.ALL)}")
        name = self.get_query_argument("name", "") or None
        periodic = self.get_query_argument("periodic", "") == "1"
        hide = frozenset() if periodic else job_queries.periodic_task_names(self.application.capp)
        search = self.get_query_argument("q", "").strip() or None
        if search and len(search) > job_queries.MAX_SEARCH:
            raise web.HTTPError(400, f"q: at most {job_queries.MAX_SEARCH} characters")
        if search:
            hide = frozenset()  # asked for by what is inside them: every task
        after = job_queries.Cursor.decode(self.get_query_argument("after", ""))
        try:
            page = await self.blocking(job_queries.list_jobs, state=state, queue=queue, name=name, after=after,
                                       limit=PAGE_SIZE, hide=hide, search=search)
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        counts = await self.blocking(job_queries.count_failed, queue) if self.failed_only else None
        totals = None if self.failed_only else await self.blocking(job_queries.count_by_state, queue)
        self.render("jobs.html", active_tab="failed" if self.failed_only else "jobs", page=page,
                    failed_only=self.failed_only, counts=counts, queue=queue, state=state, name=name,
                    periodic=periodic, search=search, totals=totals,
                    queues=QUEUES, states=JobState.ALL, first_page=after is None,
                    paused=await self.blocking(paused_queues))


class FailedJobsPage(JobsPage):
    failed_only = True


class JobPage(DashboardHandler):
    @web.authenticated
    async def get(self, job_id: str) -> None:
        await self.show(job_id)

    async def show(self, job_id: str) -> None:
        job = await self.blocking(job_queries.job_detail, job_id)
        if job is None:
            await self.find(job_id)
            return
        self.render("job.html", active_tab="jobs", job=job, queues=QUEUES,
                    in_flower=self.flower_knows(job["id"]),
                    flow=await self.blocking(job_queries.flow_tree, job["id"]) if job["children_by_state"] else [],
                    retryable=job["state"] in actions.RETRYABLE,
                    removable=job["state"] in actions.REMOVABLE,
                    cancellable=job["state"] in actions.CANCELLABLE,
                    stops_at_once=actions.stops_at_once(self.application.capp.tasks.get(job["name"])),
                    delayed=job["state"] in actions.DELAYED and job["eta"] is not None)


    def flower_knows(self, job_id: str) -> bool:
        """Flower's task page exists only for tasks whose events it received since it started."""
        events = getattr(self.application, "events", None)
        tasks = getattr(getattr(events, "state", None), "tasks", None)
        try:
            return tasks is not None and job_id in tasks
        except TypeError:
            return False

    async def find(self, prefix: str) -> None:
        """An id's first characters: its job when exactly one has them, else the candidates."""
        try:
            matches = await self.blocking(job_queries.ids_with_prefix, prefix, 20)
        except job_queries.BadJobPrefix as exc:
            raise web.HTTPError(404, f"no job {prefix!r} in the jobs table ({exc})") from None
        if len(matches) == 1:
            self.redirect(self.reverse_url("dashboard-job", matches[0]["id"]))
            return
        if not matches:
            raise web.HTTPError(404, f"no job {prefix!r} in the jobs table (never recorded, or cleaned)")
        self.render("job_choices.html", active_tab="jobs", prefix=prefix, matches=matches)


class FindJobPage(JobPage):
    """The navbar's job box: /find-job?id=<id or its first characters>."""

    @web.authenticated
    async def get(self) -> None:  # type: ignore[override]
        wanted = self.get_query_argument("id", "").strip()
        if not wanted:
            raise web.HTTPError(400, "id: give a job id or its first characters")
        await self.show(wanted)


class SchedulesPage(DashboardHandler):
    @web.authenticated
    async def get(self) -> None:
        rows = await self.blocking(schedules.schedule_rows, self.application.capp)
        self.render("schedules.html", active_tab="schedules", rows=rows)


class ChartsPage(DashboardHandler):
    @web.authenticated
    async def get(self) -> None:
        try:
            hours = float(self.get_query_argument("hours", "6"))
            charts_ = await self.blocking(charts.queue_charts, hours)
        except ValueError as exc:
            raise web.HTTPError(400, f"hours: {exc}") from None
        self.render("charts.html", active_tab="charts", charts=charts_, hours=hours, bars_svg=charts.bars_svg,
                    seconds=charts.seconds)


class AddJobPage(DashboardHandler):
    @web.authenticated
    async def get(self) -> None:
        self.render_form()

    def render_form(self, error: str | None = None, **values: Any) -> None:
        defaults = {"task": self.get_query_argument("task", ""), "args": "[]", "kwargs": "{}", "priority": "",
                    "delay": ""}
        self.render("add_job.html", active_tab="add-job", tasks=actions.known_tasks(), error=error,
                    values={**defaults, **values})
