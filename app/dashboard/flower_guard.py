"""Read-only viewers on Flower's own pages and API: no POST to /api/task/... or worker control.

Flower's handlers are kept, in place and in order; each is swapped for a
subclass that refuses viewers any method but GET/HEAD/OPTIONS and renders
Flower's templates with read_only=True for them, which hides Flower's buttons.
Flower serves /metrics without authentication; with authentication configured
it asks for a login or the scrape token here (the metrics name suppliers and counts).
"""
from __future__ import annotations

import hmac
from typing import Any

import tornado.web
from flower.views import BaseHandler
from flower.views.auth import LoginHandler
from flower.views.monitor import Metrics

from app.dashboard.access import READ_METHODS, is_viewer, refuse_viewer

_guarded: dict[type, type] = {}


def guarded(handler_class: type) -> type:
    """The handler class with viewer checks (one subclass per Flower class)."""
    if handler_class not in _guarded:
        class Guarded(handler_class):  # type: ignore[valid-type, misc]
            def prepare(self) -> Any:
                result = super().prepare()  # Flower's API handlers check their own preconditions here
                if self.request.method not in READ_METHODS and self.current_user:
                    refuse_viewer(self)
                return result

            def render(self, template_name: str, **kwargs: Any) -> Any:
                if "read_only" in kwargs and is_viewer(self):
                    kwargs["read_only"] = True
                return super().render(template_name, **kwargs)

        guarded_class: type = _authenticated_metrics(Guarded) if issubclass(handler_class, Metrics) else Guarded
        guarded_class.__name__ = guarded_class.__qualname__ = f"ReadOnlyAware{handler_class.__name__}"
        _guarded[handler_class] = guarded_class
    return _guarded[handler_class]


def _authenticated_metrics(handler_class: type) -> type:
    class AuthenticatedMetrics(handler_class):  # type: ignore[valid-type, misc]
        def prepare(self) -> Any:
            token = self.settings.get("metrics_scrape_token")
            sent = self.request.headers.get("Authorization", "")
            if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return super().prepare()
            options = self.application.options
            # current_user raises 401 for missing or wrong basic-auth credentials; for OAuth it is
            # None without the login cookie.
            if (options.basic_auth or options.auth) and not self.current_user:
                raise tornado.web.HTTPError(401)
            return super().prepare()

    return AuthenticatedMetrics


def guard_flower_handlers(application: tornado.web.Application) -> int:
    """Swap every Flower handler of the application's routes for its guarded subclass."""
    swapped = 0
    already = set(_guarded.values())  # Flower's url() rules are shared module objects: swap them once
    for rule in application.wildcard_router.rules:
        target = rule.target
        if isinstance(target, type) and issubclass(target, BaseHandler) and target is not LoginHandler \
                and target not in already:
            rule.target = guarded(target)
            if hasattr(rule, "handler_class"):  # URLSpec keeps a second reference
                rule.handler_class = rule.target
            swapped += 1
    return swapped
