"""`switchyard flower`: Flower's own start-up (options, env, auth, logging), serving app.dashboard.web.Dashboard.

The steps are flower.command's, called one by one, so every Flower option and
FLOWER_* variable works as documented; only the application class differs.
"""
from __future__ import annotations

import atexit
import signal
import sys

from flower import command as flower_command
from flower.urls import settings as flower_settings
from tornado.options import options

from app.settings import Settings, get_settings


class AuthenticationRequired(SystemExit):
    pass


def require_authentication(environment: str, *, basic_auth: object, oauth: object) -> None:
    """Outside local development and tests the dashboard never runs open (it can purge queues)."""
    if environment not in ("development", "test") and not (basic_auth or oauth):
        raise AuthenticationRequired(
            f"switchyard flower: refusing to start without authentication (ENVIRONMENT={environment}). "
            "Set FLOWER_BASIC_AUTH=user:password[,viewer:password] (and FLOWER_READONLY_USERS=viewer for "
            "read-only users), or OAuth with FLOWER_AUTH, FLOWER_AUTH_PROVIDER and FLOWER_OAUTH2_KEY/"
            "_SECRET/_REDIRECT_URI.")


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    argv = sys.argv[1:] if argv is None else argv
    flower_command.apply_env_options()
    flower_command.apply_options("switchyard flower", argv)
    require_authentication(settings.environment, basic_auth=options.basic_auth, oauth=options.auth)
    flower_command.extract_settings()
    flower_command.setup_logging()

    from app.platform.celery_app import celery
    from app.dashboard import business_metrics
    from app.dashboard.web import Dashboard

    business_metrics.install()  # Switchyard's collectors, on the registry Flower serves at /metrics
    dashboard = Dashboard(capp=celery, options=options, redis_url=settings.redis_url,
                          viewers=settings.flower_viewers, metrics_scrape_token=settings.metrics_scrape_token,
                          **flower_settings)
    atexit.register(dashboard.stop)
    signal.signal(signal.SIGTERM, flower_command.sigterm_handler)
    port = dashboard.start_http_server()
    flower_command.print_banner(celery, "ssl_options" in flower_settings, port)
    try:
        dashboard.start()
    except (KeyboardInterrupt, SystemExit):
        pass
