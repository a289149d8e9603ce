"""`switchyard farcaster ...` against the test database (and a simulated hub for cursors)."""
from __future__ import annotations

import json

from app.cli.main import main
from app.farcaster import realtime
from app.farcaster.hub_client import HubClient


def run(capsys, *argv) -> object:
    assert main(["--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_targets_and_client_apps(engine, cache_redis, capsys):
    added = run(capsys, "farcaster", "targets", "add", "5", "--root")
    assert added == {"fid": 5, "root": True, "targets_added": [5], "backfills": 1}
    run(capsys, "farcaster", "targets", "add", "9")
    rows = run(capsys, "farcaster", "targets", "list")
    assert [(r["fid"], r["is_root"], r["manual"]) for r in rows] == [(5, True, True), (9, False, True)]
    assert [r["fid"] for r in run(capsys, "farcaster", "targets", "list", "--roots")] == [5]
    # The same backfill is not queued twice while the first one waits.
    assert run(capsys, "farcaster", "backfill", "5") == {"fid": 5, "enqueued": False}
    assert run(capsys, "farcaster", "targets", "remove", "9") == {"fid": 9, "targets_removed": [9]}
    assert run(capsys, "farcaster", "client-apps", "add", "42", "--no-scan")["created"] is True
    assert [a["fid"] for a in run(capsys, "farcaster", "client-apps", "list")] == [42]
    assert run(capsys, "farcaster", "rebuild-cache") == {"targets": 1, "roots": 1, "client_apps": 1}
    assert cache_redis.smembers("farcaster:targets") == {b"5"}


def test_cursors_show_lag_per_shard(engine, cache_redis, capsys, hub_sim, monkeypatch):
    client = HubClient(hub_sim.url)
    monkeypatch.setattr("app.farcaster.services.hub_client", lambda: client)  # the CLI's hub: this simulator
    hub_sim.advance(3)
    realtime.ensure_cursors(engine, client)
    hub_sim.advance(4)
    shards = run(capsys, "farcaster", "cursors")["shards"]
    assert [(s["shard"], s["lag_blocks"]) for s in shards] == [(1, 4), (2, 4)]


def test_bad_fid_is_refused(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["farcaster", "targets", "add", "abc"])
    assert "positive integer" in capsys.readouterr().err
