"""HTTP API behaviour: paging tokens, parameters, errors, concurrency."""
import base64
import concurrent.futures

from .conftest import get_json


def walk(http, hub, path, page_size, **params):
    out, token, pages = [], None, 0
    while True:
        q = dict(params, pageSize=page_size)
        if token:
            q["pageToken"] = token
        page = get_json(http, hub, path, **q)
        out.extend(page["messages"])
        pages += 1
        token = page["nextPageToken"]
        if token == "":
            return out, pages
        base64.b64decode(token, validate=True)   # opaque standard base64


def busy_fid(http, hub, path, minimum, **params):
    for fid in range(1, 151):
        page = get_json(http, hub, path, fid=fid, **params)
        if len(page["messages"]) >= minimum:
            return fid, page["messages"]
    raise AssertionError("no fid with enough messages")


def test_paging_tokens_walk_the_whole_store(http, hub):
    fid, everything = busy_fid(http, hub, "/v1/castsByFid", 12)
    paged, pages = walk(http, hub, "/v1/castsByFid", 5, fid=fid)
    assert [m["hash"] for m in paged] == [m["hash"] for m in everything]
    assert pages == -(-len(everything) // 5) or pages == len(everything) // 5 + 1
    keys = [(m["data"]["timestamp"], m["hash"]) for m in everything]
    assert keys == sorted(keys), "ascending tsHash order"
    rev, _ = walk(http, hub, "/v1/castsByFid", 4, fid=fid, reverse="true")
    assert [m["hash"] for m in rev] == [m["hash"] for m in reversed(everything)]


def test_page_token_with_space_instead_of_plus(http, hub):
    """Clients that forget to URL-encode send '+' as ' '; the hub turns it back, like Snapchain."""
    for fid in range(1, 151):
        first = get_json(http, hub, "/v1/linksByFid", fid=fid, pageSize=1)
        token = first["nextPageToken"]
        if "+" in token:
            r = http.get(f"{hub.url}/v1/linksByFid?fid={fid}&pageSize=1&pageToken={token}")   # raw '+' = space
            assert r.status_code == 200
            assert r.json()["messages"][0]["hash"] != first["messages"][0]["hash"]
            return
    raise AssertionError("no token containing '+' found")


def test_casts_by_fid_returns_adds_and_removes(http, hub):
    types = set()
    for fid in range(1, 80):
        types |= {m["data"]["type"] for m in get_json(http, hub, "/v1/castsByFid", fid=fid)["messages"]}
    assert types == {"MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_CAST_REMOVE"}


def test_casts_by_fid_timestamp_filter(http, hub):
    fid, msgs = busy_fid(http, hub, "/v1/castsByFid", 6)
    mid = sorted(m["data"]["timestamp"] for m in msgs)[len(msgs) // 2]
    got = get_json(http, hub, "/v1/castsByFid", fid=fid, startTimestamp=mid)["messages"]
    assert got and all(m["data"]["timestamp"] >= mid for m in got)
    got = get_json(http, hub, "/v1/castsByFid", fid=fid, stop_timestamp=mid)["messages"]
    assert got and all(m["data"]["timestamp"] <= mid for m in got)


def test_reactions_require_reaction_type(http, hub):
    r = http.get(hub.url + "/v1/reactionsByFid", params={"fid": 3})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("Invalid query parameters")
    fid, allr = busy_fid(http, hub, "/v1/reactionsByFid", 5, reaction_type="None")
    likes = get_json(http, hub, "/v1/reactionsByFid", fid=fid, reaction_type="Like")["messages"]
    assert {m["data"]["reactionBody"]["type"] for m in likes} <= {"REACTION_TYPE_LIKE"}
    assert all(m["data"]["type"] == "MESSAGE_TYPE_REACTION_ADD" for m in allr)


def test_cross_fid_endpoints(http, hub):
    fid, casts = busy_fid(http, hub, "/v1/castsByFid", 1)
    replies = [m for f in range(1, 151) for m in get_json(http, hub, "/v1/castsByFid", fid=f)["messages"]
               if m["data"]["type"] == "MESSAGE_TYPE_CAST_ADD" and m["data"]["castAddBody"]["parentCastId"]]
    parent = replies[0]["data"]["castAddBody"]["parentCastId"]
    got = get_json(http, hub, "/v1/castsByParent", fid=parent["fid"], hash=parent["hash"])["messages"]
    assert replies[0]["hash"] in {m["hash"] for m in got}
    mentioned = next(m for m in replies + casts if m["data"].get("castAddBody", {}).get("mentions"))
    target = mentioned["data"]["castAddBody"]["mentions"][0]
    assert mentioned["hash"] in {m["hash"] for m in get_json(http, hub, "/v1/castsByMention", fid=target)["messages"]}
    link = get_json(http, hub, "/v1/linksByFid", fid=fid)["messages"]
    if link:
        followers = get_json(http, hub, "/v1/linksByTargetFid", target_fid=link[0]["data"]["linkBody"]["targetFid"])
        assert link[0]["hash"] in {m["hash"] for m in followers["messages"]}
    reaction = next(m for f in range(1, 151) for m in get_json(http, hub, "/v1/reactionsByFid", fid=f, reaction_type="None")["messages"]
                    if "targetCastId" in m["data"]["reactionBody"])
    tc = reaction["data"]["reactionBody"]["targetCastId"]
    got = get_json(http, hub, "/v1/reactionsByCast", target_fid=tc["fid"], target_hash=tc["hash"])["messages"]
    assert reaction["hash"] in {m["hash"] for m in got}


def test_errors_are_snapchain_shaped(http, hub):
    r = http.get(hub.url + "/v1/castById", params={"fid": 3, "hash": "0x" + "00" * 20})
    assert r.status_code == 400
    body = r.json()
    assert list(body) == ["error", "error_detail"] and "NotFound" in body["error_detail"]
    r = http.get(hub.url + "/v1/nope")
    assert r.status_code == 404 and r.text == "Not Found" and r.headers["content-type"].startswith("text/plain")
    r = http.get(hub.url + "/v1/castsByFid", params={"fid": "abc"})
    assert r.status_code == 400 and r.text.startswith("Invalid query parameters")
    r = http.get(hub.url + "/v1/onChainEventsByFid", params={"fid": 3})
    assert r.status_code == 400 and "event_type" in r.text
    r = http.get(hub.url + "/v1/fids")
    assert r.status_code == 400 and "shard_id" in r.text
    r = http.get(hub.url + "/v1/eventById", params={"event_id": 1})
    assert r.status_code == 400 and "shard_index" in r.text
    r = http.get(hub.url + "/v1/castsByFid", params={"fid": 3, "reverse": "1"})
    assert r.status_code == 400


def test_fids_paging_omits_token_at_end(http, hub):
    seen = []
    for shard in (1, 2):
        token = None
        while True:
            q = {"shard_id": shard, "pageSize": 40}
            if token:
                q["pageToken"] = token
            page = get_json(http, hub, "/v1/fids", **q)
            seen.extend(page["fids"])
            if "nextPageToken" not in page:
                break
            token = page["nextPageToken"]
    assert sorted(seen) == sorted(set(seen)) and set(range(1, 151)) <= set(seen)


def test_onchain_events_and_signers(http, hub):
    signers = get_json(http, hub, "/v1/onChainSignersByFid", fid=5)
    assert "nextPageToken" not in signers and signers["events"]
    for e in signers["events"]:
        assert e["signerEventBody"]["eventType"] == "SIGNER_EVENT_TYPE_ADD"
    for etype in ("EVENT_TYPE_ID_REGISTER", "EVENT_TYPE_STORAGE_RENT", "EVENT_TYPE_SIGNER"):
        evs = get_json(http, hub, "/v1/onChainEventsByFid", fid=5, event_type=etype)["events"]
        assert evs and all(e["type"] == etype for e in evs)
    limits = get_json(http, hub, "/v1/storageLimitsByFid", fid=5)
    assert list(limits) == ["limits", "units", "unitDetails", "tier_subscriptions"]
    info = get_json(http, hub, "/v1/info")
    assert list(info) == ["dbStats", "numShards", "shardInfos", "version", "peer_id", "nextEngineVersionTimestamp"]
    assert info["numShards"] == 2 and {s["shardId"] for s in info["shardInfos"]} == {0, 1, 2}


def test_many_concurrent_clients(hub):
    import requests

    def client(i):
        with requests.Session() as s:
            for k in range(10):
                r = s.get(hub.url + "/v1/castsByFid", params={"fid": (i * 10 + k) % 150 + 1})
                assert r.status_code == 200
                r.json()
        return i

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as ex:
        assert sorted(ex.map(client, range(64))) == list(range(64))


def test_by_id_lookups(http, hub):
    fid, reactions = busy_fid(http, hub, "/v1/reactionsByFid", 1, reaction_type="None")
    for m in reactions[:5]:
        b = m["data"]["reactionBody"]
        rtype = "Like" if b["type"] == "REACTION_TYPE_LIKE" else "Recast"
        q = {"fid": fid, "reaction_type": rtype}
        if "targetCastId" in b:
            q.update(target_fid=b["targetCastId"]["fid"], target_hash=b["targetCastId"]["hash"])
        else:
            q.update(target_url=b["targetUrl"])
            byurl = get_json(http, hub, "/v1/reactionsByTarget", url=b["targetUrl"])["messages"]
            assert m["hash"] in {x["hash"] for x in byurl}
        assert get_json(http, hub, "/v1/reactionById", **q) == m
    fid, links = busy_fid(http, hub, "/v1/linksByFid", 1)
    link = links[0]
    got = get_json(http, hub, "/v1/linkById", fid=fid, target_fid=link["data"]["linkBody"]["targetFid"], link_type="follow")
    assert got == link
    r = http.get(hub.url + "/v1/linkById", params={"fid": fid, "target_fid": 10**6, "link_type": "follow"})
    assert r.status_code == 400 and r.json()["error"] == "Failed to get link"
    proof = get_json(http, hub, "/v1/userNameProofsByFid", fid=fid)["proofs"][0]
    assert get_json(http, hub, "/v1/userNameProofByName", name=proof["name"]) == proof
    assert http.get(hub.url + "/v1/userNameProofByName", params={"name": "nobody-here"}).status_code == 400


def test_onchain_paging_token_absent_at_end(http, hub):
    full = get_json(http, hub, "/v1/onChainEventsByFid", fid=5, event_type="EVENT_TYPE_SIGNER")["events"]
    assert len(full) >= 1
    walked, token = [], None
    while True:
        q = {"fid": 5, "event_type": "EVENT_TYPE_SIGNER", "pageSize": 1}
        if token:
            q["pageToken"] = token
        page = get_json(http, hub, "/v1/onChainEventsByFid", **q)
        walked += page["events"]
        if "nextPageToken" not in page:
            break
        token = page["nextPageToken"]
    assert walked == full
