"""From page facts to a structured analysis: strengths, limitations, use cases, maturity, evidence.

Deterministic and explainable: every conclusion comes from a named signal, and
each signal is listed in the evidence with what was (or was not) found.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.analysis.extractor import PageFacts

SLOW_RESPONSE_SECONDS = 3.0


@dataclass(frozen=True)
class Signal:
    key: str
    weight: float  # contribution to the maturity score; the weights add up to 1
    strength: str  # said when found
    limitation: str | None  # said when missing (None: absence is unremarkable)
    test: Callable[[PageFacts], str | None]  # evidence when found, else None


def _link_matching(pattern: str, *, hosts: bool = False) -> Callable[[PageFacts], str | None]:
    regex = re.compile(pattern, re.IGNORECASE)

    def test(facts: PageFacts) -> str | None:
        for link in facts.links:
            target = (urlsplit(link.url).hostname or "") if hosts else f"{urlsplit(link.url).path} {link.text}"
            if regex.search(target):
                return f"link {link.url}" + (f" ({link.text})" if link.text else "")
        return None

    return test


def _text_matching(pattern: str) -> Callable[[PageFacts], str | None]:
    regex = re.compile(pattern, re.IGNORECASE)

    def test(facts: PageFacts) -> str | None:
        for where, text in _texts(facts):
            match = regex.search(text)
            if match:
                return f"{where} mentions {match.group(0)!r}"
        return _link_matching(pattern)(facts)

    return test


def _texts(facts: PageFacts) -> list[tuple[str, str]]:
    return [("title", facts.title), ("description", facts.description)] + \
        [(f"heading h{h.level}", h.text) for h in facts.headings]


def _https(facts: PageFacts) -> str | None:
    return f"final URL {facts.url}" if facts.url.startswith("https://") else None


def _header(name: str) -> Callable[[PageFacts], str | None]:
    return lambda facts: f"header {name}" if name in facts.security_headers else None


def _described(facts: PageFacts) -> str | None:
    return f"meta description: {facts.description[:80]!r}" if facts.description else None


def _social_metadata(facts: PageFacts) -> str | None:
    kinds = [k for k, present in (("Open Graph", facts.has_open_graph),
                                  ("JSON-LD", facts.has_structured_data)) if present]
    return " and ".join(kinds) + " metadata" if kinds else None


SIGNALS: tuple[Signal, ...] = (
    Signal("https", 0.10, "Served over HTTPS", "Not served over HTTPS", _https),
    Signal("hsts", 0.05, "Enforces HTTPS with HSTS", None, _header("strict-transport-security")),
    Signal("csp", 0.05, "Sets a Content-Security-Policy", None, _header("content-security-policy")),
    Signal("documentation", 0.15, "Public documentation", "No documentation linked from the page",
           _link_matching(r"\b(docs?|documentation|guides?|developers?|manual|reference|learn)\b")),
    Signal("api", 0.10, "Offers a developer API", None, _text_matching(r"\bAPIs?\b|\bSDKs?\b")),
    Signal("pricing", 0.10, "Published pricing", "No pricing information found",
           _link_matching(r"\b(pricing|plans|prices?)\b")),
    Signal("changelog", 0.10, "Visible release activity (changelog, releases or blog)",
           "No changelog, release notes or blog linked",
           _link_matching(r"\b(changelog|change-log|releases?|release-notes|what'?s-new|blog|news)\b")),
    Signal("source", 0.10, "Source code or SDKs published on a public forge", None,
           _link_matching(r"(^|\.)(github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)$", hosts=True)),
    Signal("status", 0.05, "Public status page", None,
           lambda f: _link_matching(r"^status\.", hosts=True)(f) or _link_matching(r"\bstatus\b")(f)),
    Signal("security", 0.05, "Publishes security or compliance information", None,
           _text_matching(r"\b(security|trust center|soc ?2|iso ?27001|gdpr|hipaa)\b")),
    Signal("legal", 0.05, "Terms and privacy policy published", "No terms of service or privacy policy linked",
           _link_matching(r"\b(privacy|terms|legal|tos)\b")),
    Signal("description", 0.05, "Describes itself in page metadata", "No meta description", _described),
    Signal("metadata", 0.05, "Rich link metadata (Open Graph / structured data)", None, _social_metadata),
)

USE_CASES: tuple[tuple[str, str], ...] = (
    ("Writing and running code", r"\b(ide|code editor|editor|coding|compiler|notebooks?|repl|programming)\b"),
    ("Deploying and hosting applications", r"\b(deploy\w*|hosting|serverless|edge functions?|cdn)\b"),
    ("Building AI features", r"\b(ai|llms?|gpt|machine learning|ml models?|embeddings?|agents?)\b"),
    ("Analytics and product metrics", r"\b(analytics|metrics|dashboards?|insights?|tracking)\b"),
    ("Payments and billing", r"\b(payments?|billing|checkout|invoic\w+|subscriptions?)\b"),
    ("Team collaboration", r"\b(collaborat\w+|teams?|workspaces?|chat|messaging)\b"),
    ("Storing and querying data", r"\b(databases?|sql|postgres\w*|storage|data warehouse|queries)\b"),
    ("Automating workflows", r"\b(automat\w+|workflows?|integrations?|no-code|low-code)\b"),
    ("Testing and CI/CD", r"\b(testing|tests?|ci/cd|continuous integration|pipelines?)\b"),
    ("Monitoring and observability", r"\b(monitoring|observability|logging|logs|alerts?|uptime|tracing)\b"),
    ("Design and prototyping", r"\b(design|prototyp\w+|wireframes?|mockups?)\b"),
    ("Authentication and identity", r"\b(authentication|auth|login|sso|identity|oauth)\b"),
)
MAX_USE_CASES = 5


def _use_cases(texts: list[tuple[str, str]]) -> list[dict[str, Any]]:
    scored = []
    for order, (label, pattern) in enumerate(USE_CASES):
        regex = re.compile(pattern, re.IGNORECASE)
        hits = [(where, m.group(0)) for where, text in texts for m in regex.finditer(text)]
        if hits:
            scored.append((-len(hits), order, label, hits))
    scored.sort()
    return [{"useCase": label, "evidence": [f"{where}: {term!r}" for where, term in hits[:3]]}
            for _, _, label, hits in scored[:MAX_USE_CASES]]


def analyze(*, description: str | None, facts: PageFacts | None) -> dict[str, Any]:
    """The structured analysis of one tool (facts is None when no URL was given)."""
    texts = ([("request description", description)] if description else []) + (_texts(facts) if facts else [])
    strengths: list[str] = []
    limitations: list[str] = []
    evidence: list[dict[str, Any]] = []
    score = 0.0
    if facts is None:
        limitations.append("No URL given: analysed from the description only")
    else:
        for signal in SIGNALS:
            detail = signal.test(facts)
            evidence.append({"signal": signal.key, "found": detail is not None, "weight": signal.weight,
                             "detail": detail})
            if detail is not None:
                score += signal.weight
                strengths.append(signal.strength)
            elif signal.limitation:
                limitations.append(signal.limitation)
        if facts.response_seconds > SLOW_RESPONSE_SECONDS:
            limitations.append(f"Slow first response ({facts.response_seconds:.1f}s)")
        if not facts.title:
            limitations.append("The page has no title")
    technologies = [t.as_dict() for t in facts.technologies] if facts else []
    return {
        "strengths": strengths,
        "limitations": limitations,
        "useCases": _use_cases([(w, t) for w, t in texts if t]),
        "maturityScore": round(min(score, 1.0), 2),
        "technologies": technologies,
        "evidence": evidence,
    }
