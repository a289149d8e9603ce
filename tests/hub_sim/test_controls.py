"""Hubble mode and the /_sim/ control endpoints (for simulators in another process)."""
import json
import subprocess
import sys
import time

import requests

from simulators.hub.cli import main
from simulators.hub.testing import running_hub
from tests.support import wait_until

from .conftest import get_json


def test_hubble_mode_events(http):
    with running_hub(num_fids=80, seed=6, hubble=True) as hub:
        hub.advance(30)
        page = get_json(http, hub, "/v1/events", from_event_id=0)
        assert list(page) == ["nextPageEventId", "events"] and len(page["events"]) == 100
        seen, cursor = [], 0
        while True:
            page = get_json(http, hub, "/v1/events", from_event_id=cursor)
            if not page["events"]:
                assert page["nextPageEventId"] == cursor + 1
                break
            assert page["nextPageEventId"] == page["events"][-1]["id"] + 1
            seen += page["events"]
            cursor = page["nextPageEventId"]
        ids = [e["id"] for e in seen]
        assert ids == sorted(set(ids))
        assert all(list(e)[:2] == ["type", "id"] and "blockNumber" not in e for e in seen)
        assert "HUB_EVENT_TYPE_BLOCK_CONFIRMED" not in {e["type"] for e in seen}
        msg = next(e for e in seen if e["type"] == "HUB_EVENT_TYPE_MERGE_MESSAGE")
        ms = msg["id"] >> 12   # Hubble ids: ms since the Farcaster epoch << 12 | seq
        assert ms // 1000 == msg["mergeMessageBody"]["message"]["data"]["timestamp"]
        assert get_json(http, hub, "/v1/eventById", event_id=msg["id"]) == msg
        # Hubble accepts reactionsByFid without reaction_type
        assert "messages" in get_json(http, hub, "/v1/reactionsByFid", fid=3)
        assert "isSyncing" in get_json(http, hub, "/v1/info")


def test_control_endpoints(http):
    with running_hub(num_fids=60, seed=6) as hub:
        st = requests.post(hub.url + "/_sim/advance", params={"blocks": 5}).json()
        assert st["position"] == 5 and hub.position == 5
        assert get_json(http, hub, "/_sim/status")["shards"]["1"]["max_height"] == hub.network.stream.shards[1].height
        requests.post(hub.url + "/_sim/retention", params={"seconds": 2})
        assert len({e["blockNumber"] for e in get_json(http, hub, "/v1/events", shard_index=1)["events"]}) == 2
        requests.post(hub.url + "/_sim/mode", params={"hubble": 1})
        assert "nextPageEventId" in get_json(http, hub, "/v1/events")
        requests.post(hub.url + "/_sim/mode", params={"hubble": 0})
        requests.post(hub.url + "/_sim/rate", params={"blocks_per_second": 100, "events_per_block": 2})
        wait_until(lambda: hub.position >= 15, timeout=10)
        requests.post(hub.url + "/_sim/pause")
        assert requests.get(hub.url + "/_sim/status").json()["block_rate"] == 0
        assert requests.get(hub.url + "/_sim/nope").status_code == 404


def test_cli_info(capsys):
    assert main(["info", "--fids", "50", "--seed", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fids"] == 50 and out["messages"] > 500


def test_cli_serve_subprocess():
    proc = subprocess.Popen([sys.executable, "-m", "simulators.hub", "serve", "--port", "0", "--fids", "30",
                             "--block-rate", "0", "--prereveal", "3"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split()[2]
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/_sim/status", timeout=5).json()["position"] == 3
        assert requests.get(url + "/v1/info", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_hubble_mode_errors(http):
    with running_hub(num_fids=30, seed=6, hubble=True) as hub:
        r = http.get(hub.url + "/v1/castById", params={"fid": 3, "hash": "0x" + "00" * 20})
        assert r.status_code == 400
        body = r.json()
        assert list(body) == ["errCode", "presentable", "name", "code", "details", "metadata"]
        assert body["errCode"] == "not_found" and body["name"] == "HubError"
        r = http.get(hub.url + "/v1/castsByFid", params={"fid": "x"})
        assert r.status_code == 400 and r.json()["errCode"] == "bad_request.validation_failure"
        assert http.get(hub.url + "/v1/nope").status_code == 404


def test_polling_while_the_stream_runs():
    """Many clients read events and per-fid stores while blocks are produced concurrently."""
    import concurrent.futures

    with running_hub(num_fids=100, seed=12, block_rate=100) as hub:
        def poller(shard):
            with requests.Session() as s:
                cursor, last, n = 0, -1, 0
                deadline = time.monotonic() + 15
                while (n < 20 or last < 0) and time.monotonic() < deadline:
                    n += 1
                    page = s.get(hub.url + "/v1/events", params={"shard_index": shard, "from_event_id": cursor}).json()
                    for e in page["events"]:
                        assert e["id"] > last
                        last = e["id"]
                    if page["events"]:
                        cursor = page["events"][-1]["id"] + 1
                    s.get(hub.url + "/v1/castsByFid", params={"fid": cursor % 100 + 1}).raise_for_status()
                return last

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
            results = list(ex.map(poller, [1, 2] * 6))
        assert all(r > 0 for r in results)
        wait_until(lambda: hub.position >= 5, timeout=10)
