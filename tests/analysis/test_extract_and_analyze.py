"""Extraction and analysis of pages (pure functions: no network, Celery or database)."""
from __future__ import annotations

from app.analysis.analyzer import SIGNALS, analyze
from app.analysis.extractor import MAX_LINKS, extract
from app.analysis.fetcher import FetchedPage, FetchLimits
from app.analysis.pipeline import run_analysis
from app.analysis.request import AnalysisRequest

MATURE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>  CodePad —
 code in your browser </title>
<meta name="description" content="A collaborative online IDE with AI help.">
<meta property="og:title" content="CodePad"><script type="application/ld+json">{}</script>
<script src="/_next/static/chunks/main.js"></script><script src="https://js.stripe.com/v3"></script>
<link rel="stylesheet" href="/css/bootstrap.min.css"></head><body>
<h1>Code, <em>collaborate</em>, deploy</h1><h2>The CodePad API</h2><h3>SOC 2 compliant</h3><h4>ignored</h4>
<a href="/docs#intro">Docs</a><a href="/docs">Docs again</a><a href="/pricing">Pricing</a>
<a href="/changelog">Changelog</a><a href="https://github.com/codepad">GitHub</a>
<a href="https://status.codepad.example/">Status</a><a href="/privacy">Privacy</a>
<a href="mailto:hi@codepad.example">Mail</a><a href="javascript:void(0)">JS</a><a href="http://[bad">bad</a>
</body></html>"""


def _page(markup: str, url: str = "https://codepad.example/", cookies: tuple[str, ...] = (),
          **headers: str) -> FetchedPage:
    return FetchedPage(requested_url=url, url=url, status=200, headers={k.lower(): v for k, v in headers.items()},
                       set_cookie_names=cookies, body=markup.encode(), charset="utf-8",
                       elapsed_seconds=0.2)


def test_extract_finds_title_description_headings_links_and_technologies():
    facts = extract(_page(MATURE, cookies=("csrftoken",), **{"Server": "nginx/1.25", "Strict-Transport-Security": "max-age=1",
                                     "Content-Security-Policy": "default-src 'self'", "CF-Ray": "1"}))
    assert facts.title == "CodePad — code in your browser"
    assert facts.description == "A collaborative online IDE with AI help."
    assert facts.language == "en"
    assert [(h.level, h.text) for h in facts.headings] == [
        (1, "Code, collaborate , deploy"), (2, "The CodePad API"), (3, "SOC 2 compliant")]
    assert [link.url for link in facts.links] == [
        "https://codepad.example/docs", "https://codepad.example/pricing", "https://codepad.example/changelog",
        "https://github.com/codepad", "https://status.codepad.example/", "https://codepad.example/privacy"]
    assert [link.internal for link in facts.links] == [True, True, True, False, False, True]
    assert {t.name: t.category for t in facts.technologies} == {
        "nginx": "web server", "Cloudflare": "CDN", "Django": "web framework", "Next.js": "web framework",
        "Bootstrap": "UI framework", "Stripe": "payments"}
    assert facts.security_headers == ["strict-transport-security", "content-security-policy"]
    assert facts.has_open_graph and facts.has_structured_data


def test_a_mature_page_scores_high_with_evidence_for_every_signal():
    facts = extract(_page(MATURE, **{"Strict-Transport-Security": "max-age=1",
                                     "Content-Security-Policy": "default-src 'self'"}))
    analysis = analyze(description="Browser IDE for teams", facts=facts)
    assert analysis["maturityScore"] == 1.0
    assert analysis["limitations"] == []
    assert "Public documentation" in analysis["strengths"] and "Offers a developer API" in analysis["strengths"]
    assert [e["signal"] for e in analysis["evidence"]] == [s.key for s in SIGNALS]
    assert all(e["found"] and e["detail"] for e in analysis["evidence"])
    use_cases = [u["useCase"] for u in analysis["useCases"]]
    assert use_cases[0] == "Team collaboration"  # "collaborative", "collaborate", "teams"
    assert "Writing and running code" in use_cases and "Building AI features" in use_cases


def test_a_bare_page_gets_limitations_and_a_low_score():
    facts = extract(_page("<html><body><p>Coming soon</p></body></html>", url="http://bare.example/"))
    analysis = analyze(description=None, facts=facts)
    assert analysis["maturityScore"] == 0.0
    assert analysis["strengths"] == []
    assert analysis["limitations"] == [
        "Not served over HTTPS", "No documentation linked from the page", "No pricing information found",
        "No changelog, release notes or blog linked", "No terms of service or privacy policy linked",
        "No meta description", "The page has no title"]
    assert analysis["useCases"] == [] and analysis["technologies"] == []


def test_links_are_capped_and_garbage_markup_does_not_break_extraction():
    many = "".join(f'<a href="/p{i}">p{i}</a>' for i in range(MAX_LINKS + 50))
    facts = extract(_page("<html><title>x</title><body>" + many + "<div><<<>>&&& \x00 <a href=>"))
    assert len(facts.links) == MAX_LINKS
    assert extract(_page("\xff\xfe not html at all")).title == ""


def test_without_a_url_the_analysis_uses_the_description_only():
    request = AnalysisRequest(tool_id="x", description="Payments and billing API for SaaS")
    steps = []
    result = run_analysis(request, FetchLimits(), lambda percent, step: steps.append((percent, step)))
    assert steps == [(75, "analyze")]
    assert result["page"] is None
    assert result["analysis"]["limitations"] == ["No URL given: analysed from the description only"]
    assert [u["useCase"] for u in result["analysis"]["useCases"]] == ["Payments and billing"]
