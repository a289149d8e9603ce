"""The HTTP API on a real socket: auth, validation (400 with the failing fields), status, health."""
from __future__ import annotations

import pytest
import requests

from app.analysis import store
from app.platform.celeryconfig import PRIORITY_STEPS
from tests.analysis.conftest import TOKEN, ApiClient, running_api

# Jobs queued here name real hosts: no worker may run them.
pytestmark = pytest.mark.usefixtures("stopped_analysis_worker")


def test_every_route_but_the_openapi_document_requires_the_token(api, api_url):
    anonymous, wrong = ApiClient(api_url, None), ApiClient(api_url, "not-the-token")
    for client in (anonymous, wrong):
        for response in (client.post("/v1/analyze", json={"toolId": "x", "description": "y"}),
                         client.get("/v1/analyze/some-id"), client.get("/queue/health")):
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json() == {"error": "missing or invalid bearer token", "fields": []}
    assert store.list_recent() == []  # nothing was submitted
    document = anonymous.get("/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert {p for p in paths if not p.startswith("/v1/farcaster/")} == {
        "/v1/analyze", "/v1/analyze/{jobId}", "/queue/health"}
    assert all(op["security"] == [{"AnalysisToken": []}] for p in ("/v1/analyze", "/queue/health")
               for op in paths[p].values())


def test_without_a_token_the_document_declares_no_auth_and_localhost_urls_are_refused(database, redis_client):
    with running_api(analysis_api_token="", analysis_allow_private_addresses=False) as url:
        client = ApiClient(url, None)
        document = client.get("/openapi.json").json()
        assert "securitySchemes" not in document.get("components", {})
        assert not any("security" in op for ops in document["paths"].values() for op in ops.values())
        assert all("401" not in op["responses"] for ops in document["paths"].values() for op in ops.values())
        response = client.post("/v1/analyze", json={"toolId": "x", "url": "http://localhost:9/"})
        assert response.status_code == 400
        [field] = response.json()["fields"]
        assert field["field"] == "url" and "non-public address 127.0.0.1" in field["message"]


def test_without_a_configured_token_no_auth_is_needed(database, redis_client):
    with running_api(analysis_api_token="") as url:
        assert ApiClient(url, None).get("/v1/analyze/unknown").status_code == 404


def test_submit_then_read_the_queued_job(api, redis_client):
    response = api.post("/v1/analyze", json={"toolId": "replit", "url": "https://replit.com",
                                             "description": "Browser IDE", "priority": "high"})
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"jobId", "status", "timestamp"} and accepted["status"] == "queued"
    assert response.headers["Location"] == f"/v1/analyze/{accepted['jobId']}"
    job = api.job(accepted["jobId"])
    assert job["status"] == "queued" and job["progress"] == 0 and job["attempts"] == 0
    assert (job["toolId"], job["url"], job["priority"]) == ("replit", "https://replit.com", "high")
    assert job["result"] is None and job["error"] is None
    assert set(job["timestamps"]) == {"createdAt", "startedAt", "finishedAt", "updatedAt"}
    # Published at the high step (list "analysis"), with the job id as the task id.
    assert redis_client.llen("analysis") == 1
    assert all(redis_client.llen(f"analysis:{step}") == 0 for step in PRIORITY_STEPS[1:])


def test_priorities_map_to_redis_priority_steps(api, redis_client):
    for priority in ("low", "normal", "normal", "high"):
        api.submit(toolId="t", description="d", priority=priority)
    assert [redis_client.llen(key) for key in ("analysis", "analysis:3", "analysis:6")] == [1, 2, 1]


def _fields(response: requests.Response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid request"
    return sorted(f["field"] for f in body["fields"])


def test_invalid_bodies_are_400_naming_the_failing_fields(api):
    post = lambda body, **kw: api.post("/v1/analyze", json=body, **kw)  # noqa: E731
    assert _fields(post({"url": "https://a.example"})) == ["toolId"]
    assert _fields(post({"toolId": "x", "url": "ftp://a.example/"})) == ["url"]
    assert _fields(post({"toolId": "x", "url": "https://a.example", "priority": "urgent"})) == ["priority"]
    assert _fields(post({"toolId": " bad id", "description": "d", "extra": 1})) == ["extra", "toolId"]
    assert _fields(post({"toolId": "x", "url": None, "description": "d"})) == ["url"]
    assert _fields(post({"toolId": "x"})) == ["body"]  # neither url nor description
    assert _fields(post({"toolId": "x", "url": "https://user:pw@a.example/"})) == ["url"]
    assert _fields(post([1, 2])) == ["body"]
    assert _fields(api.post("/v1/analyze", data=b"{not json", headers={"Content-Type": "application/json"})) \
        == ["body"]
    assert _fields(api.get("/v1/analyze/" + "x" * 65)) == ["jobId"]
    assert _fields(api.get("/v1/analyze/a%00b")) == ["jobId"]
    big = api.post("/v1/analyze", json={"toolId": "x", "description": "d" * 70_000})
    assert big.status_code == 413
    assert store.list_recent() == []


def test_private_addresses_are_refused_unless_allowed(database, db, redis_client):
    with running_api(analysis_api_token=TOKEN) as url:  # the default: not allowed
        client = ApiClient(url, TOKEN)
        for address in ("http://127.0.0.1:8080/", "http://10.0.0.1/", "http://169.254.169.254/latest",
                        "http://[::1]/", "http://[::ffff:127.0.0.1]/"):
            response = client.post("/v1/analyze", json={"toolId": "x", "url": address})
            assert _fields(response) == ["url"]
            assert "not a public address" in response.json()["fields"][0]["message"]
        assert client.post("/v1/analyze", json={"toolId": "x", "url": "http://93.184.215.14/"}).status_code == 202


def test_unknown_job_is_404(api):
    response = api.get("/v1/analyze/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"] == "no analysis job '00000000-0000-0000-0000-000000000000'"


def test_queue_health_reports_counts_per_queue(api):
    api.submit(toolId="t", description="d", priority="low")
    response = api.get("/queue/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "healthy"
    assert health["broker"] == {"reachable": True, "error": None}
    assert health["database"] == {"reachable": True, "error": None}
    analysis = health["queues"]["analysis"]
    assert analysis["waiting"] == 1 and analysis["waitingByPriority"]["low"] == 1
    assert set(analysis) == {"waiting", "waitingByPriority", "active", "completed", "failed", "delayed"}
    assert health["analysisJobs"]["queued"] == 1


def test_queue_health_is_503_when_the_broker_is_unreachable(database, db):
    with running_api(analysis_api_token=TOKEN, redis_url="redis://127.0.0.1:1/0") as url:
        response = ApiClient(url, TOKEN).get("/queue/health")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "unhealthy"
    assert health["broker"]["reachable"] is False and "Connection" in health["broker"]["error"]
    assert health["database"]["reachable"] is True
    assert health["queues"]["analysis"]["waiting"] is None
