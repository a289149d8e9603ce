"""Read-only viewers on Flower's own pages and API: no POST to /api/task/... or worker control.

Flower's handlers are kept, in place and in order; each is swapped for a
subclass that refuses viewers any method but GET/HEAD/OPTIONS and renders
Flower's templates with read_only=True for them, which hides Flower's buttons.
"""
from __future__ import annotations

from typing import Any

import tornado.web
from flower.views import BaseHandler
from flower.views.auth import LoginHandler

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

        Guarded.__name__ = Guarded.__qualname__ = f"ReadOnlyAware{handler_class.__name__}"
        _guarded[handler_class] = Guarded
    return _guarded[handler_class]


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
