"""Who is asking, and may they act? Flower authenticates; this adds read-only viewers.

Flower checks basic-auth credentials (and OAuth's signed cookie) but keeps only
"someone valid"; the user name is read here from the same Authorization header
or cookie. A viewer is a user named in FLOWER_READONLY_USERS, or anyone when
Flower runs with --read_only.
"""
from __future__ import annotations

from base64 import b64decode
from typing import Any

import tornado.web

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def basic_auth_user(handler: tornado.web.RequestHandler) -> str | None:
    header = handler.request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme != "Basic" or not credentials:
        return None
    try:
        return b64decode(credentials.strip()).decode().split(":", 1)[0] or None
    except (ValueError, UnicodeDecodeError):
        return None


def user_names(handler: Any) -> set[str]:
    """The authenticated names of this request (basic-auth user, OAuth email); empty without auth."""
    options = handler.application.options
    names = set()
    if options.basic_auth:
        names.add(basic_auth_user(handler))
    if options.auth and isinstance(handler.current_user, str):
        names.add(handler.current_user)
    names.discard(None)
    return names  # type: ignore[return-value]


def user_label(handler: Any) -> str | None:
    """A name for logs and audit rows."""
    names = sorted(user_names(handler))
    return ",".join(names) if names else None


def is_viewer(handler: Any) -> bool:
    if handler.application.options.read_only:
        return True
    viewers = handler.application.settings.get("dashboard_viewers") or frozenset()
    return bool(user_names(handler) & viewers)


def refuse_viewer(handler: Any) -> None:
    """403 for read-only users; call after authentication, before any change."""
    if is_viewer(handler):
        who = user_label(handler) or "this dashboard"
        raise tornado.web.HTTPError(403, f"{who} has read-only access: actions are not allowed "
                                         f"(FLOWER_READONLY_USERS / --read_only)")
