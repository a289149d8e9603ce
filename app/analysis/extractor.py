"""Turn a fetched page into facts: title, description, headings, links, technologies, headers.

Everything is capped (counts and lengths) so a hostile page cannot make a
result row, or this process, arbitrarily large.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup

from app.analysis.fetcher import FetchedPage
from app.analysis.technologies import Technology, detect

MAX_HEADINGS = 50
MAX_LINKS = 200
MAX_TEXT = 300  # characters kept of a title, heading or link text
MAX_DESCRIPTION = 1000
SECURITY_HEADERS = ("strict-transport-security", "content-security-policy", "x-frame-options",
                    "x-content-type-options", "referrer-policy")

_SPACES = re.compile(r"\s+")


def _clean(text: str | None, limit: int = MAX_TEXT) -> str:
    return _SPACES.sub(" ", text or "").strip()[:limit]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    internal: bool


@dataclass
class PageFacts:
    url: str
    status: int
    title: str
    description: str
    language: str | None
    headings: list[Heading] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    technologies: list[Technology] = field(default_factory=list)
    security_headers: list[str] = field(default_factory=list)
    has_open_graph: bool = False
    has_structured_data: bool = False
    response_seconds: float = 0.0
    bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the API's camelCase keys."""
        data = asdict(self)
        data["technologies"] = [t.as_dict() for t in self.technologies]
        return {_camel(key): value for key, value in data.items()}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _meta(soup: BeautifulSoup, *, name: str | None = None, prop: str | None = None) -> str | None:
    attrs: dict[str, Any] = {"name": re.compile(f"^{name}$", re.I)} if name else {"property": re.compile(f"^{prop}$", re.I)}
    tag = soup.find("meta", attrs=attrs)
    content = tag.get("content") if tag else None
    return content if isinstance(content, str) else None


def _links(soup: BeautifulSoup, base_url: str) -> list[Link]:
    base_host = (urlsplit(base_url).hostname or "").lower()
    seen: set[str] = set()
    links: list[Link] = []
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"]
        if not isinstance(href, str):
            continue
        try:
            absolute = urldefrag(urljoin(base_url, href.strip()))[0]
            host = (urlsplit(absolute).hostname or "").lower()
        except ValueError:
            continue  # a malformed href (bad IPv6 literal, ...) is skipped, not fatal
        if not absolute.startswith(("http://", "https://")) or absolute in seen:
            continue
        seen.add(absolute)
        links.append(Link(absolute[:2048], _clean(anchor.get_text(" ")), host == base_host))
        if len(links) >= MAX_LINKS:
            break
    return links


def _sources(soup: BeautifulSoup, tag: str, attr: str, **filters: Any) -> list[str]:
    values = [el.get(attr) for el in soup.find_all(tag, **filters)]
    return [v for v in values if isinstance(v, str)][:MAX_LINKS]


def extract(page: FetchedPage) -> PageFacts:
    soup = BeautifulSoup(page.body, "html.parser", from_encoding=page.charset)
    title_tag = soup.find("title")
    title = _clean(title_tag.get_text(" ") if title_tag else None) or _clean(_meta(soup, prop="og:title"))
    description = _clean(_meta(soup, name="description") or _meta(soup, prop="og:description"), MAX_DESCRIPTION)
    html_tag = soup.find("html")
    language = html_tag.get("lang") if html_tag else None
    headings = [Heading(int(h.name[1]), text) for h in soup.find_all(["h1", "h2", "h3"])
                if (text := _clean(h.get_text(" ")))][:MAX_HEADINGS]
    markup = str(soup)  # decoded once; the technology rules search it
    technologies = detect(
        headers=page.headers,
        cookie_names=page.set_cookie_names,
        scripts=_sources(soup, "script", "src"),
        stylesheets=_sources(soup, "link", "href", rel="stylesheet"),
        generator=_meta(soup, name="generator"),
        markup=markup,
    )
    return PageFacts(
        url=page.url,
        status=page.status,
        title=title,
        description=description,
        language=_clean(language, 20) if isinstance(language, str) else None,
        headings=headings,
        links=_links(soup, page.url),
        technologies=technologies,
        security_headers=[h for h in SECURITY_HEADERS if h in page.headers],
        has_open_graph=soup.find("meta", attrs={"property": re.compile("^og:", re.I)}) is not None,
        has_structured_data=soup.find("script", attrs={"type": "application/ld+json"}) is not None,
        response_seconds=page.elapsed_seconds,
        bytes=len(page.body),
    )
