"""The dashboard's actions (POST forms): each refuses read-only viewers, checks the form's _xsrf token,
calls app.dashboard.actions / cleanup / pauses, and redirects with a notice.

Purge and clean ask first: their GET shows what would go, and their POST needs
the confirmation field that page sets.
"""
from __future__ import annotations

from typing import Any

from tornado import web

from app.dashboard import actions, cleanup
from app.platform import pauses, schedules
from app.dashboard.access import refuse_viewer
from app.dashboard.actions import ActionError
from app.dashboard.handler_base import DashboardHandler
from app.dashboard.pages import AddJobPage, known_queue
from app.platform.queues import waiting

AGE_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


class ActionHandler(DashboardHandler):
    def prepare(self) -> Any:
        result = super().prepare()
        if self.request.method == "POST" and self.current_user:
            refuse_viewer(self)
        return result

    async def act(self, fn: Any, *args: Any, done: str, default_next: str, **kwargs: Any) -> Any:
        """Run an action; notify what it did (done.format(result=...)) or why it was refused."""
        try:
            result = await self.blocking(fn, *args, **kwargs)
        except ActionError as exc:
            self.notify(str(exc), "danger")
            result = None
        else:
            self.notify(done.format(result=result))
        self.redirect_back(default_next)
        return result


class RetryJob(ActionHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        await self.act(actions.retry_job, job_id, by=self.user, done="Retried as job {result}.",
                       default_next=self.reverse_url("dashboard-job", job_id))


class RetryJobEdited(ActionHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        await self.act(actions.retry_with_arguments, job_id, self.get_body_argument("args", ""),
                       self.get_body_argument("kwargs", ""), by=self.user,
                       done="Retried with edited arguments as job {result}.",
                       default_next=self.reverse_url("dashboard-job", job_id))


class RunJobNow(ActionHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        await self.act(actions.run_now, job_id, redis_client=self.redis, by=self.user,
                       done="Sent to run now as job {result}; the delayed one is revoked.",
                       default_next=self.reverse_url("dashboard-job", job_id))


class RemoveJob(ActionHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        await self.act(actions.remove_job, job_id, redis_client=self.redis, by=self.user,
                       done=f"Job {job_id} {{result}}.", default_next=self.reverse_url("dashboard-jobs"))


class CancelJob(ActionHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        await self.act(actions.cancel_job, job_id, by=self.user, done="Cancelled: {result}.",
                       default_next=self.reverse_url("dashboard-job", job_id))


class SwitchSchedule(ActionHandler):
    """Enable or disable one beat entry (remembered across restarts), or run it now."""

    @web.authenticated
    async def post(self, name: str) -> None:
        what = self.get_body_argument("do", "")
        app = self.application.capp
        done = self.reverse_url("dashboard-schedules")
        try:
            if what in ("enable", "disable"):
                await self.blocking(schedules.set_enabled, app, name, what == "enable", by=self.user)
                self.notify(f"{name}: {what}d.")
            elif what == "run":
                job_id = await self.blocking(schedules.run_now, app, name, by=self.user)
                self.notify(f"{name}: sent now as job {job_id}.")
            else:
                raise web.HTTPError(400, "do: one of enable, disable, run")
        except schedules.UnknownEntry as exc:
            raise web.HTTPError(404, str(exc)) from None
        self.redirect_back(done)


class RetryFailed(ActionHandler):
    @web.authenticated
    async def post(self, queue: str) -> None:
        queue = known_queue(queue)
        await self.act(actions.retry_failed, queue, by=self.user, done=f"Retried {{result}} failed jobs of {queue}.",
                       default_next=self.reverse_url("dashboard-failed") + f"?queue={queue}")


class PauseQueue(ActionHandler):
    @web.authenticated
    async def post(self, queue: str) -> None:
        queue = known_queue(queue)
        outcome = await self.blocking(pauses.pause, queue, by=self.user)
        self.notify(f"Paused {queue}: {outcome.answered} running workers told to stop consuming it; "
                    f"workers started later will not consume it either.")
        self.redirect_back(self.reverse_url("dashboard-queue", queue))


class ResumeQueue(ActionHandler):
    @web.authenticated
    async def post(self, queue: str) -> None:
        queue = known_queue(queue)
        outcome = await self.blocking(pauses.resume, queue)
        workers = ", ".join(outcome.changed) or "no running worker"
        self.notify(f"Resumed {queue}: consumed again by {workers}.")
        self.redirect_back(self.reverse_url("dashboard-queue", queue))


class PurgeQueue(ActionHandler):
    """GET asks (how many messages would go), POST with confirm=<queue name> purges."""

    @web.authenticated
    async def get(self, queue: str) -> None:
        queue = known_queue(queue)
        refuse_viewer(self)
        n = (await self.blocking(waiting, self.application.settings["dashboard_redis_url"], [queue]))[queue]
        self.render("confirm.html", active_tab="queues", queue=queue, action="purge",
                    title=f"Purge {queue}?",
                    message=f"Delete all {n:,} messages waiting in {queue} (every priority). "
                            f"They will not run; their job records become REVOKED. This cannot be undone.",
                    fields={}, post_url=self.reverse_url("dashboard-purge", queue))

    @web.authenticated
    async def post(self, queue: str) -> None:
        queue = known_queue(queue)
        if self.get_body_argument("confirm", "") != queue:
            raise web.HTTPError(400, f"purge not confirmed: type the queue name ({queue}) to confirm")
        await self.act(cleanup.purge_queue, queue, redis_client=self.redis, by=self.user,
                       done=f"Purged {{result}} waiting messages from {queue}.",
                       default_next=self.reverse_url("dashboard-queue", queue))


class CleanQueue(ActionHandler):
    """GET asks (how many records would go), POST with confirm=<queue name> deletes them."""

    def _form(self) -> tuple[str, float, str]:
        kind = self.get_argument("kind", "completed")
        unit = self.get_argument("unit", "days")
        try:
            amount = float(self.get_argument("age", "7"))
        except ValueError:
            raise web.HTTPError(400, "age must be a number") from None
        if unit not in AGE_UNITS or amount < 0:
            raise web.HTTPError(400, f"age: a number of {', '.join(AGE_UNITS)}, 0 or more")
        return kind, amount * AGE_UNITS[unit], f"{amount:g} {unit}"

    @web.authenticated
    async def get(self, queue: str) -> None:
        queue = known_queue(queue)
        refuse_viewer(self)
        kind, seconds, age = self._form()
        try:
            n = await self.blocking(cleanup.count_cleanable, queue, kind, seconds)
        except ActionError as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.render("confirm.html", active_tab="queues", queue=queue, action="clean",
                    title=f"Clean {kind} jobs of {queue}?",
                    message=f"Delete {n:,} {kind} job records of {queue} last changed more than {age} ago "
                            f"from the job history. This cannot be undone.",
                    fields={"kind": kind, "age": self.get_argument("age", "7"), "unit": self.get_argument("unit", "days")},
                    post_url=self.reverse_url("dashboard-clean", queue))

    @web.authenticated
    async def post(self, queue: str) -> None:
        queue = known_queue(queue)
        kind, seconds, age = self._form()
        if self.get_body_argument("confirm", "") != queue:
            raise web.HTTPError(400, f"clean not confirmed: type the queue name ({queue}) to confirm")
        await self.act(cleanup.clean_jobs, queue, kind, seconds, by=self.user,
                       done=f"Deleted {{result}} {kind} job records of {queue} older than {age}.",
                       default_next=self.reverse_url("dashboard-queue", queue))


class AddJob(ActionHandler, AddJobPage):
    @web.authenticated
    async def post(self) -> None:
        values = {name: self.get_body_argument(name, "") for name in ("task", "args", "kwargs", "priority", "delay")}
        try:
            priority = int(values["priority"]) if values["priority"].strip() else None
            delay = float(values["delay"]) if values["delay"].strip() else None
        except ValueError:
            self.set_status(400)
            self.render_form("priority and delay must be numbers", **values)
            return
        try:
            job_id = await self.blocking(actions.add_job, values["task"], values["args"], values["kwargs"],
                                         priority=priority, countdown=delay, by=self.user)
        except ActionError as exc:
            self.set_status(400)
            self.render_form(str(exc), **values)
            return
        self.notify(f"Added job {job_id} ({values['task'].strip()}).")
        self.redirect(self.reverse_url("dashboard-job", job_id))
