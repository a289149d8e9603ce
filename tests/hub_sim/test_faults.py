"""Fault injection: 5xx, 429 + Retry-After, truncated and malformed bodies, resets, latency."""

import pytest
import requests

from simulators.hub.faults import FaultConfig
from simulators.hub.testing import running_hub


@pytest.fixture(scope="module")
def fhub():
    with running_hub(num_fids=40, seed=3) as hub:
        yield hub


@pytest.fixture(autouse=True)
def clean(fhub):
    fhub.faults.clear()
    yield
    fhub.faults.clear()


def ok(hub):
    r = requests.get(hub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5)
    assert r.status_code == 200
    return r.json()


def test_one_shot_error_then_recovers(fhub):
    fhub.faults.inject("error", count=2, status=503)
    for _ in range(2):
        r = requests.get(fhub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5)
        assert r.status_code == 503
    ok(fhub)


def test_rate_limit_with_retry_after(fhub):
    fhub.faults.inject("rate_limit", retry_after=3)
    r = requests.get(fhub.url + "/v1/info", timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    ok(fhub)


def test_truncated_body(fhub):
    fhub.faults.inject("truncate")
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(fhub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5).json()
    ok(fhub)


def test_malformed_body(fhub):
    fhub.faults.inject("malformed")
    r = requests.get(fhub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    ok(fhub)


def test_connection_reset(fhub):
    fhub.faults.inject("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(fhub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5)
    ok(fhub)


def test_latency(fhub):
    fhub.faults.inject("latency", ms=250)
    ok(fhub)  # answered, late (bench/timing_checks.py times it)
    assert fhub.faults.injected["latency"] == 1


def test_rates_are_scoped_to_a_path(fhub):
    fhub.faults.configure(FaultConfig(error_rate=1.0, path_prefix="/v1/castsByFid"))
    assert requests.get(fhub.url + "/v1/castsByFid", params={"fid": 2}, timeout=5).status_code == 500
    assert requests.get(fhub.url + "/v1/linksByFid", params={"fid": 2}, timeout=5).status_code == 200
    assert requests.get(fhub.url + "/_sim/status", timeout=5).status_code == 200   # controls never fail


def test_probabilistic_mix_is_seeded(fhub):
    def run():
        fhub.faults.configure(FaultConfig(error_rate=0.3, rate_limit_rate=0.2, seed=42))
        return [requests.get(fhub.url + "/v1/info", timeout=5).status_code for _ in range(30)]
    first, second = run(), run()
    assert first == second and {200, 429, 500} <= set(first)


def test_faults_over_http(fhub):
    r = requests.post(fhub.url + "/_sim/faults/once", json={"kind": "error", "status": 502, "count": 1}, timeout=5)
    assert r.status_code == 200 and r.json()["pending"][0]["kind"] == "error"
    assert requests.get(fhub.url + "/v1/info", timeout=5).status_code == 502
    requests.post(fhub.url + "/_sim/faults", json={"rate_limit_rate": 1.0, "retry_after": 7}, timeout=5)
    r = requests.get(fhub.url + "/v1/info", timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    requests.delete(fhub.url + "/_sim/faults", timeout=5)
    assert requests.get(fhub.url + "/v1/info", timeout=5).status_code == 200
    assert requests.post(fhub.url + "/_sim/faults", json={"nope": 1}, timeout=5).status_code == 400
