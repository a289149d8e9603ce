"""The demo workload: three made-up tools' home pages, served locally, analysed at mixed priorities.

Two ways to run it: `switchyard analyze demo` serves the pages, submits and waits
in one command; the local run serves them with `switchyard analyze demo-pages`
(a long-running process) and calls `seed_demo()` once the pools answer. Either
way the analysis worker needs ANALYSIS_ALLOW_PRIVATE_ADDRESSES=true (127.0.0.1).
"""
from __future__ import annotations

import functools

from app.analysis.page_server import PageServer, Response, html

PAGES: dict[str, str] = {
    "/codepad": """<!doctype html><html lang="en"><head><title>CodePad - code in your browser</title>
<meta name="description" content="A collaborative online IDE: write, run and deploy code with AI help.">
<meta property="og:title" content="CodePad"><script src="/_next/static/chunks/main.js"></script>
<script src="https://js.stripe.com/v3"></script></head><body><h1>Code, collaborate, deploy</h1>
<h2>An API for every workspace</h2><a href="/docs">Docs</a> <a href="/pricing">Pricing</a>
<a href="/changelog">Changelog</a> <a href="https://github.com/codepad">GitHub</a>
<a href="https://status.codepad.example">Status</a> <a href="/privacy">Privacy</a></body></html>""",
    "/metricly": """<!doctype html><html lang="en"><head><title>Metricly analytics</title>
<meta name="generator" content="WordPress 6.5"><link rel="stylesheet" href="/css/bootstrap.min.css">
<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body>
<h1>Product analytics and dashboards</h1><h2>Track metrics without SQL</h2>
<a href="/pricing">Plans</a> <a href="/blog">Blog</a></body></html>""",
    "/tinyform": """<html><head><title>TinyForm</title></head><body><h1>Forms that automate workflows</h1>
<p>Beta.</p></body></html>""",
}
DEMO_PAGES_PORT = 8790
HEADERS = {"Server": "nginx", "Strict-Transport-Security": "max-age=31536000"}

# (toolId, page, priority): low ones first, so the high one visibly overtakes them.
DEMO_JOBS: tuple[tuple[str, str, str], ...] = (
    ("tinyform", "/tinyform", "low"),
    ("metricly", "/metricly", "normal"),
    ("codepad", "/codepad", "high"),
)


def _page(markup: str) -> Response:
    return html(markup, 200, **HEADERS)


def demo_server(port: int = 0) -> PageServer:
    return PageServer({path: functools.partial(_page, markup) for path, markup in PAGES.items()}, port=port)


def submit_demo_jobs(base_url: str) -> list[str]:
    """Queue DEMO_JOBS against pages served at base_url; returns their job ids."""
    from app.analysis.request import parse_request
    from app.analysis.submission import submit
    from app.settings import get_settings

    allow_private = get_settings().analysis_allow_private_addresses
    return [submit(parse_request({"tool_id": tool, "url": base_url + path, "priority": priority},
                                 allow_private=allow_private))["id"]
            for tool, path, priority in DEMO_JOBS]


def seed_demo() -> str:
    """The local run's seeder: analyse the pages `switchyard analyze demo-pages` serves."""
    base_url = f"http://127.0.0.1:{DEMO_PAGES_PORT}"
    ids = submit_demo_jobs(base_url)
    return (f"queued {len(ids)} analyses of {base_url} (low, normal, high); "
            f"see `switchyard analyze list` or GET /v1/analyze/<jobId>")
