"""The base of every dashboard page and action: Flower's BaseHandler, so Flower's auth applies unchanged."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

import tornado.web
from flower.views import BaseHandler
from flower.views.auth import is_safe_redirect
from tornado.ioloop import IOLoop

from app.dashboard import access

T = TypeVar("T")

NOTICE_COOKIE = "dashboard_notice"

STATE_BADGES = {
    "SUCCESS": "text-bg-success", "FAILURE": "text-bg-danger", "STARTED": "text-bg-primary",
    "RETRY": "text-bg-warning", "PENDING": "text-bg-secondary", "REVOKED": "text-bg-dark",
    "REJECTED": "text-bg-dark",
}


def state_badge(state: str | None) -> str:
    label = tornado.escape.xhtml_escape(state or "unknown")
    return f'<span class="badge {STATE_BADGES.get(state or "", "text-bg-light")}" data-state="{label}">{label}</span>'


def when(value: datetime | None) -> str:
    """UTC, to the second: operators compare these with worker logs."""
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def query_string(**params: Any) -> str:
    """A URL query of the parameters that have a value."""
    return urlencode({key: value for key, value in params.items() if value not in (None, "")})


def as_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def progress_text(info: Any) -> str:
    """A task's progress details for people: "step 2 of 3 · pages 40 · families 1,200" (not JSON).

    `step`/`of` read as "step N of M"; numbers get thousands separators; nested values are
    shown compactly, so a task's own keys still appear however it names them.
    """
    if not isinstance(info, dict):
        return "" if info is None else str(info)
    parts = []
    step, of = info.get("step"), info.get("of")
    if step is not None:
        parts.append(f"step {_number(step)} of {_number(of)}" if of is not None else f"step {_number(step)}")
    for key, value in info.items():
        if key in ("step", "of") and step is not None:
            continue
        label = str(key).replace("_", " ")
        if isinstance(value, dict):
            value = ", ".join(f"{k} {_number(v)}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(_number(v) for v in value)
        parts.append(f"{label} {_number(value)}")
    return " · ".join(parts)


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


class DashboardHandler(BaseHandler):
    def check_xsrf_cookie(self) -> None:
        super().check_xsrf_cookie()  # Flower: refuses cross-site and cross-origin requests when auth is on
        # ...and every dashboard form carries tornado's _xsrf token, with or without auth.
        tornado.web.RequestHandler.check_xsrf_cookie(self)

    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Database and Redis calls run on Flower's executor, never on its event loop."""
        return await IOLoop.current().run_in_executor(None, partial(fn, *args, **kwargs))

    def get_query_argument_int(self, name: str, default: int) -> int:
        try:
            return int(self.get_query_argument(name, str(default)))
        except ValueError:
            raise tornado.web.HTTPError(400, f"{name} must be a whole number") from None

    @property
    def redis(self) -> Any:
        return self.application.settings["dashboard_redis"]

    @property
    def user(self) -> str | None:
        return access.user_label(self)

    @property
    def viewer(self) -> bool:
        return access.is_viewer(self)

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(state_badge=state_badge, when=when, as_json=as_json, query_string=query_string,
                         progress_text=progress_text,
                         viewer=self.viewer, user=self.user)
        return namespace

    # --- one-shot notices after an action (a signed cookie, read once) ---------------------
    def notify(self, text: str, level: str = "success") -> None:
        self.set_secure_cookie(NOTICE_COOKIE, json.dumps({"text": text, "level": level}), expires_days=None)

    @property
    def notice(self) -> dict[str, str] | None:
        if not hasattr(self, "_notice"):
            raw = self.get_secure_cookie(NOTICE_COOKIE, max_age_days=1)
            self._notice = json.loads(raw) if raw else None
            if raw:
                self.clear_cookie(NOTICE_COOKIE)
        return self._notice

    def redirect_back(self, default: str) -> None:
        target = self.get_body_argument("next", None) or ""
        self.redirect(target if is_safe_redirect(target) else default)
