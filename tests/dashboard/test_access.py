"""Who a request is and whether they may act: basic-auth names, OAuth emails, FLOWER_READ_ONLY."""
from __future__ import annotations

from base64 import b64encode
from types import SimpleNamespace

import pytest
import tornado.web

from app.dashboard import access


def request(*, basic: str | None = None, oauth_user: str | None = None, basic_auth: list[str] | None = None,
            auth: str = "", read_only: bool = False, viewers: frozenset[str] = frozenset()) -> SimpleNamespace:
    headers = {"Authorization": "Basic " + b64encode(basic.encode()).decode()} if basic else {}
    options = SimpleNamespace(basic_auth=basic_auth, auth=auth, read_only=read_only)
    application = SimpleNamespace(options=options, settings={"dashboard_viewers": viewers})
    return SimpleNamespace(request=SimpleNamespace(headers=headers), application=application,
                           current_user=oauth_user or True)


def test_basic_auth_user_names_decide_who_is_a_viewer():
    viewers = frozenset({"viewer"})
    admin = request(basic="admin:pw:with:colons", basic_auth=["admin:pw:with:colons"], viewers=viewers)
    viewer = request(basic="viewer:pw", basic_auth=["viewer:pw"], viewers=viewers)
    assert access.user_label(admin) == "admin" and not access.is_viewer(admin)
    assert access.user_label(viewer) == "viewer" and access.is_viewer(viewer)
    with pytest.raises(tornado.web.HTTPError) as refused:
        access.refuse_viewer(viewer)
    assert refused.value.status_code == 403 and "viewer has read-only access" in refused.value.log_message
    access.refuse_viewer(admin)


def test_oauth_emails_and_flowers_read_only_mode():
    viewers = frozenset({"watcher@example.com"})
    assert access.is_viewer(request(oauth_user="watcher@example.com", auth=".*@example.com", viewers=viewers))
    assert not access.is_viewer(request(oauth_user="ops@example.com", auth=".*@example.com", viewers=viewers))
    assert access.is_viewer(request(read_only=True))  # FLOWER_READ_ONLY: everyone only looks


def test_without_authentication_nobody_is_named_and_everyone_may_act():
    anonymous = request()
    assert access.user_names(anonymous) == set() and access.user_label(anonymous) is None
    assert not access.is_viewer(anonymous)
    assert access.basic_auth_user(request(basic="garbage")) == "garbage"
    assert access.basic_auth_user(SimpleNamespace(request=SimpleNamespace(headers={"Authorization": "Basic %%%"}))) is None
