"""Detect technologies from response headers, cookies and markup (a small, explainable rule set).

Each rule names one place to look and a pattern; a technology is reported once,
with the first piece of evidence that matched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Source = Literal["header", "cookie", "script", "stylesheet", "meta-generator", "markup"]


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    source: Source
    pattern: str  # case-insensitive regex
    header: str | None = None  # for source="header": which header

    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


@dataclass(frozen=True)
class Technology:
    name: str
    category: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "category": self.category, "evidence": self.evidence}


RULES: tuple[Rule, ...] = (
    # Servers, CDNs and hosting, from headers.
    Rule("nginx", "web server", "header", r"nginx", header="server"),
    Rule("Apache", "web server", "header", r"apache", header="server"),
    Rule("Caddy", "web server", "header", r"caddy", header="server"),
    Rule("Microsoft IIS", "web server", "header", r"microsoft-iis", header="server"),
    Rule("Cloudflare", "CDN", "header", r".", header="cf-ray"),
    Rule("Fastly", "CDN", "header", r".", header="x-fastly-request-id"),
    Rule("Amazon CloudFront", "CDN", "header", r".", header="x-amz-cf-id"),
    Rule("Vercel", "hosting", "header", r".", header="x-vercel-id"),
    Rule("Netlify", "hosting", "header", r".", header="x-nf-request-id"),
    Rule("GitHub Pages", "hosting", "header", r"github\.com", header="server"),
    Rule("Heroku", "hosting", "header", r"heroku|vegur", header="via"),
    # Application stacks.
    Rule("PHP", "language", "header", r"php", header="x-powered-by"),
    Rule("Express", "web framework", "header", r"express", header="x-powered-by"),
    Rule("ASP.NET", "web framework", "header", r"asp\.net", header="x-powered-by"),
    Rule("Next.js", "web framework", "header", r"next\.js", header="x-powered-by"),
    Rule("Django", "web framework", "cookie", r"^csrftoken$"),
    Rule("Laravel", "web framework", "cookie", r"^laravel_session$"),
    Rule("Ruby on Rails", "web framework", "cookie", r"^_[a-z0-9_]+_session$"),
    Rule("PHP", "language", "cookie", r"^PHPSESSID$"),
    # Front-end frameworks and libraries, from markup.
    Rule("Next.js", "web framework", "markup", r"__NEXT_DATA__|/_next/static/"),
    Rule("Nuxt", "web framework", "markup", r"__NUXT__|/_nuxt/"),
    Rule("Gatsby", "static site generator", "markup", r"___gatsby"),
    Rule("React", "JavaScript framework", "markup", r"data-reactroot|react(?:-dom)?(?:\.production)?(?:\.min)?\.js"),
    Rule("Vue.js", "JavaScript framework", "markup", r"data-v-[0-9a-f]{6,}|vue(?:\.global)?(?:\.prod)?(?:\.min)?\.js"),
    Rule("Angular", "JavaScript framework", "markup", r"ng-version="),
    Rule("Svelte", "JavaScript framework", "markup", r"class=\"[^\"]*svelte-[a-z0-9]+"),
    Rule("Astro", "static site generator", "markup", r"astro-island|data-astro-"),
    Rule("jQuery", "JavaScript library", "script", r"jquery[.-]"),
    Rule("Bootstrap", "UI framework", "stylesheet", r"bootstrap(?:\.min)?\.css"),
    Rule("Tailwind CSS", "UI framework", "stylesheet", r"tailwind"),
    Rule("Google Analytics", "analytics", "script", r"googletagmanager\.com/gtag|google-analytics\.com"),
    Rule("Google Tag Manager", "tag manager", "script", r"googletagmanager\.com/gtm\.js"),
    Rule("Plausible", "analytics", "script", r"plausible\.io/js"),
    Rule("Segment", "analytics", "script", r"cdn\.segment\.com"),
    Rule("Stripe", "payments", "script", r"js\.stripe\.com"),
    Rule("Intercom", "customer messaging", "script", r"widget\.intercom\.io|js\.intercomcdn\.com"),
    Rule("Sentry", "error monitoring", "script", r"browser\.sentry-cdn\.com|sentry\.io"),
    Rule("Shopify", "e-commerce", "script", r"cdn\.shopify\.com"),
    # CMSs and site builders.
    Rule("WordPress", "CMS", "meta-generator", r"wordpress"),
    Rule("WordPress", "CMS", "markup", r"/wp-content/|/wp-includes/"),
    Rule("Drupal", "CMS", "meta-generator", r"drupal"),
    Rule("Ghost", "CMS", "meta-generator", r"ghost"),
    Rule("Hugo", "static site generator", "meta-generator", r"hugo"),
    Rule("Docusaurus", "documentation", "meta-generator", r"docusaurus"),
    Rule("Webflow", "site builder", "meta-generator", r"webflow"),
    Rule("Wix", "site builder", "meta-generator", r"wix\.com"),
    Rule("Squarespace", "site builder", "markup", r"static1\.squarespace\.com"),
)

_COMPILED = tuple((rule, rule.regex()) for rule in RULES)


def detect(*, headers: dict[str, str], cookie_names: tuple[str, ...], scripts: list[str],
           stylesheets: list[str], generator: str | None, markup: str) -> list[Technology]:
    """Technologies found, in rule order, each once."""
    found: dict[str, Technology] = {}
    for rule, regex in _COMPILED:
        if rule.name in found:
            continue
        evidence = _match(rule, regex, headers, cookie_names, scripts, stylesheets, generator, markup)
        if evidence:
            found[rule.name] = Technology(rule.name, rule.category, evidence)
    return list(found.values())


def _match(rule: Rule, regex: re.Pattern[str], headers: dict[str, str], cookie_names: tuple[str, ...],
           scripts: list[str], stylesheets: list[str], generator: str | None, markup: str) -> str | None:
    if rule.source == "header":
        value = headers.get(rule.header or "")
        if value is not None and regex.search(value):
            return f"header {rule.header}: {value[:100]}"
    elif rule.source == "cookie":
        for name in cookie_names:
            if regex.search(name):
                return f"cookie {name}"
    elif rule.source in ("script", "stylesheet"):
        for src in scripts if rule.source == "script" else stylesheets:
            if regex.search(src):
                return f"{rule.source} {src[:200]}"
    elif rule.source == "meta-generator":
        if generator and regex.search(generator):
            return f"meta generator: {generator[:100]}"
    elif rule.source == "markup":
        match = regex.search(markup)
        if match:
            return f"markup contains {match.group(0)[:80]!r}"
    return None
