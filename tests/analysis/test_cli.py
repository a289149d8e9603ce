"""The operators' commands: `switchyard analyze submit|show|list|demo` as subprocesses, real worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.analysis.conftest import WORKER_ENV
from tests.conftest import ROOT, TEST_ENV


def switchyard(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **TEST_ENV, **env}, timeout=90)


def test_demo_submits_local_pages_and_reports_them_analysed(db, analysis_worker):
    done = switchyard("--json", "analyze", "demo", "--timeout", "45",
                      ANALYSIS_ALLOW_PRIVATE_ADDRESSES=WORKER_ENV["ANALYSIS_ALLOW_PRIVATE_ADDRESSES"])
    assert done.returncode == 0, done.stderr
    jobs = json.loads(done.stdout)
    assert {(j["toolId"], j["priority"], j["status"], j["progress"]) for j in jobs} == {
        ("tinyform", "low", "completed", 100), ("metricly", "normal", "completed", 100),
        ("codepad", "high", "completed", 100)}
    codepad = next(j for j in jobs if j["toolId"] == "codepad")
    assert codepad["result"]["analysis"]["maturityScore"] >= 0.7

    shown = switchyard("--json", "analyze", "show", codepad["jobId"])
    assert shown.returncode == 0 and json.loads(shown.stdout)["result"] == codepad["result"]
    listed = switchyard("--json", "analyze", "list", "--tool", "metricly")
    assert [j["toolId"] for j in json.loads(listed.stdout)] == ["metricly"]


def test_demo_refuses_to_run_when_loopback_pages_would_be_refused(db):
    done = switchyard("analyze", "demo", ANALYSIS_ALLOW_PRIVATE_ADDRESSES="false")
    assert done.returncode == 2 and "ANALYSIS_ALLOW_PRIVATE_ADDRESSES=true" in done.stderr


def test_submit_validates_and_prints_the_job_id(db, stopped_analysis_worker):
    bad = switchyard("analyze", "submit", "tool", "--url", "http://10.0.0.1/")
    assert bad.returncode == 2 and "url: refusing to fetch 10.0.0.1: not a public address" in bad.stderr
    good = switchyard("analyze", "submit", "tool", "--description", "an editor", "--priority", "high")
    assert good.returncode == 0, good.stderr
    job_id = good.stdout.strip()
    shown = switchyard("analyze", "show", job_id)
    assert shown.returncode == 0 and "queued" in shown.stdout
    assert switchyard("analyze", "show", "no-such-job").returncode == 1


def test_demo_pages_serves_until_interrupted():
    import signal

    import requests

    server = subprocess.Popen([sys.executable, "-m", "app.cli.main", "analyze", "demo-pages", "--port", "0"],
                              cwd=ROOT, env={**os.environ, **TEST_ENV}, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving demo pages at http://127.0.0.1:"), line
        base_url = line.split(" at ", 1)[1].split()[0]
        session = requests.Session()
        session.trust_env = False  # straight to 127.0.0.1, never through a configured proxy
        page = session.get(base_url + "/codepad", timeout=5)
        assert page.status_code == 200 and "<title>CodePad" in page.text
        session.close()
    finally:
        server.send_signal(signal.SIGINT)  # also when started with SIGINT ignored (a background CI job)
        try:
            assert server.wait(10) == 0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


def test_a_job_the_broker_refuses_is_reported_and_recorded_failed(db):
    from app.analysis import store

    done = switchyard("analyze", "submit", "tool", "--description", "d", REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2 and "the broker did not accept the job" in done.stderr
    [record] = store.list_recent()
    assert record["status"] == "failed" and record["error"].startswith("could not queue the job:")
