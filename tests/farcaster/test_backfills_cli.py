"""`switchyard farcaster backfills`: requests by state with ages, errors and the worker running each;
`--resend-failed` queues a new backfill of each target whose latest one failed."""
from __future__ import annotations

import json

from sqlalchemy import text

from app.cli.main import main
from tests.platform.lease_helpers import take


def run(capsys, *argv) -> dict:
    assert main(["--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_backfills_by_state_with_worker_and_resend_of_failed_ones(engine, cache_redis, capsys):
    for fid in ("5", "6", "9"):
        run(capsys, "farcaster", "targets", "add", fid)
    with engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT fid, id FROM farcaster_backfill_requests")).all())
        conn.execute(text("UPDATE farcaster_backfill_requests SET state = 'failed', error = 'HubDataError: bad page', "
                          "started_at = now(), finished_at = now() WHERE fid = 6"))
        conn.execute(text("UPDATE farcaster_backfill_requests SET state = 'running', started_at = now() WHERE fid = 9"))
    take(engine, "farcaster.backfill_fid", f"{ids[9]}:9", owner="backfill@host-b:42")

    listed = run(capsys, "farcaster", "backfills")
    assert listed["counts"] == {"pending": 1, "running": 1, "done": 0, "failed": 1}
    by_fid = {r["fid"]: r for r in listed["requests"]}
    assert by_fid[9]["worker"] == "backfill@host-b:42" and by_fid[9]["heartbeat_age_seconds"] < 60
    assert by_fid[6]["error"] == "HubDataError: bad page" and by_fid[6]["worker"] is None
    assert [r["fid"] for r in run(capsys, "farcaster", "backfills", "--state", "failed")["requests"]] == [6]

    resent = run(capsys, "farcaster", "backfills", "--resend-failed")
    assert [r["fid"] for r in resent["resent"]] == [6]
    assert resent["counts"] == {"pending": 2, "running": 1, "done": 0, "failed": 1}
    assert run(capsys, "farcaster", "backfills", "--resend-failed")["resent"] == []  # its new request is open

    assert main(["farcaster", "backfills"]) == 0
    out = capsys.readouterr().out
    assert "pending: 2  running: 1  done: 0  failed: 1" in out
    assert "backfill@host-b:42" in out and "HubDataError: bad page" in out
