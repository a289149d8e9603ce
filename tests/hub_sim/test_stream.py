"""Acceptance: per shard, ids strictly increase and each block's BLOCK_CONFIRMED.totalEvents
equals its event count; deletes, prunes, revokes and retention behave like Snapchain."""
import itertools

import pytest

from simulators.hub.testing import running_hub
from tests.support import wait_until

from .conftest import get_json


def all_events(http, hub, shard, page_size=50):
    out, cursor = [], 0
    while True:
        page = get_json(http, hub, "/v1/events", shard_index=shard, from_event_id=cursor, pageSize=page_size)["events"]
        if not page:
            return out
        out.extend(page)
        cursor = page[-1]["id"] + 1


def test_ids_increase_and_blocks_are_complete(http, hub):
    heights = {}
    for shard in (1, 2):
        events = all_events(http, hub, shard)
        ids = [e["id"] for e in events]
        assert ids == sorted(set(ids)), "strictly increasing per shard"
        assert all(e["shardIndex"] == shard for e in events)
        blocks = [list(g) for _, g in itertools.groupby(events, key=lambda e: e["blockNumber"])]
        assert len(blocks) == 40
        for block in blocks:
            first = block[0]
            assert first["type"] == "HUB_EVENT_TYPE_BLOCK_CONFIRMED"
            assert first["id"] == first["blockNumber"] << 14   # seq 0
            assert first["blockConfirmedBody"]["totalEvents"] == len(block)
            assert [e["id"] & 0x3FFF for e in block] == list(range(len(block)))
            assert all(e["id"] >> 14 == e["blockNumber"] for e in block)
        assert any(len(b) == 1 for b in blocks), "some empty blocks"
        heights[shard] = blocks[-1][0]["blockNumber"]
    assert heights[1] != heights[2], "shards have their own heights (ids are per shard)"


def test_event_types_cover_the_stream(http, hub):
    kinds = {e["type"] for s in (1, 2) for e in all_events(http, hub, s)}
    assert kinds >= {"HUB_EVENT_TYPE_BLOCK_CONFIRMED", "HUB_EVENT_TYPE_MERGE_MESSAGE", "HUB_EVENT_TYPE_PRUNE_MESSAGE",
                     "HUB_EVENT_TYPE_REVOKE_MESSAGE", "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT",
                     "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF"}


def test_deletes_prunes_revokes_reflected_in_per_fid_endpoints(http, hub):
    events = [e for s in (1, 2) for e in all_events(http, hub, s)]
    store = {"MESSAGE_TYPE_CAST_ADD": ("/v1/castsByFid", {}), "MESSAGE_TYPE_LINK_ADD": ("/v1/linksByFid", {}),
             "MESSAGE_TYPE_REACTION_ADD": ("/v1/reactionsByFid", {"reaction_type": "None"}),
             "MESSAGE_TYPE_USER_DATA_ADD": ("/v1/userDataByFid", {}),
             "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS": ("/v1/verificationsByFid", {})}

    def served(m):
        path, extra = store[m["data"]["type"]]
        return m["hash"] in {x["hash"] for x in get_json(http, hub, path, fid=m["data"]["fid"], **extra)["messages"]}

    gone = []
    for e in events:
        if e["type"] == "HUB_EVENT_TYPE_MERGE_MESSAGE":
            gone += e["mergeMessageBody"]["deletedMessages"]
        elif e["type"] == "HUB_EVENT_TYPE_PRUNE_MESSAGE":
            gone.append(e["pruneMessageBody"]["message"])
        elif e["type"] == "HUB_EVENT_TYPE_REVOKE_MESSAGE":
            gone.append(e["revokeMessageBody"]["message"])
    kinds = {m["data"]["type"] for m in gone}
    assert {"MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_LINK_ADD", "MESSAGE_TYPE_REACTION_ADD",
            "MESSAGE_TYPE_USER_DATA_ADD", "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS"} <= kinds
    for m in gone:
        if m["data"]["type"] in store:
            assert not served(m), m["hash"]
    removes = [e for e in events if e["type"] == "HUB_EVENT_TYPE_MERGE_MESSAGE"
               and e["mergeMessageBody"]["message"]["data"]["type"].endswith("_REMOVE")]
    assert removes and all(e["mergeMessageBody"]["deletedMessages"] for e in removes)


def test_endpoints_follow_the_stream(hub_sim, http):
    before = hub_sim.network.total_messages
    hub_sim.advance(15)
    merged = [e for s in (1, 2) for e in all_events(http, hub_sim, s)
              if e["type"] == "HUB_EVENT_TYPE_MERGE_MESSAGE"
              and e["mergeMessageBody"]["message"]["data"]["type"] == "MESSAGE_TYPE_CAST_ADD"]
    assert merged
    truth = hub_sim.ground_truth(roots=sorted({e["mergeMessageBody"]["message"]["data"]["fid"] for e in merged}))
    for e in merged:
        m = e["mergeMessageBody"]["message"]
        active = m["hash"] in truth.fids[m["data"]["fid"]].active
        r = http.get(hub_sim.url + "/v1/castById", params={"fid": m["data"]["fid"], "hash": m["hash"]})
        assert (r.status_code == 200) == active
    assert hub_sim.network.total_messages != before


def test_retention_produces_cursor_gaps(http):
    with running_hub(num_fids=60, seed=4, retention_seconds=5) as hub:
        hub.advance(20)
        first = get_json(http, hub, "/v1/events", shard_index=1, from_event_id=0)["events"]
        base = hub.network.stream.shards[1].base_height
        assert first[0]["type"] == "HUB_EVENT_TYPE_BLOCK_CONFIRMED"
        assert first[0]["blockNumber"] == base + 15          # blocks older than 5 s are gone
        assert len({e["blockNumber"] for e in first}) == 5
        old = base << 14
        r = http.get(hub.url + "/v1/eventById", params={"event_id": old, "shard_index": 1})
        assert r.status_code == 400
        # a cursor into the pruned range silently starts at the oldest retained event
        again = get_json(http, hub, "/v1/events", shard_index=1, from_event_id=old + 1)["events"]
        assert again[0]["id"] == first[0]["id"] > old + 1


def test_event_by_id_and_shard_errors(http, hub):
    ev = get_json(http, hub, "/v1/events", shard_index=2, pageSize=3)["events"][2]
    assert get_json(http, hub, "/v1/eventById", event_id=ev["id"], shard_index=2) == ev
    r = http.get(hub.url + "/v1/events", params={"shard_index": 0})
    assert r.status_code == 400
    page = get_json(http, hub, "/v1/events", pageSize=1000)
    assert list(page) == ["events"]
    assert len(get_json(http, hub, "/v1/events", shard_index=1, pageSize=5000)["events"]) <= 1000


def test_block_rate_reveals_blocks_over_time():
    with running_hub(num_fids=40, seed=2, block_rate=200) as hub:
        wait_until(lambda: hub.position >= 20, timeout=10)
        hub.set_rate(0)
        stopped = hub.position
        hub.advance(3)
        assert hub.position == stopped + 3 or hub.position >= stopped + 3


@pytest.mark.parametrize("rate", [2000])
def test_high_event_rate_blocks(rate):
    with running_hub(num_fids=300, seed=8, events_per_block=200) as hub:
        hub.advance(5)
        log = hub.network.stream.shards[1]
        assert log.total_events > 5 * 50


def test_signer_remove_revokes_and_leaves_active_signers(http, hub):
    events = [e for s in (1, 2) for e in all_events(http, hub, s)]
    removes = [e["mergeOnChainEventBody"]["onChainEvent"] for e in events
               if e["type"] == "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT"
               and e["mergeOnChainEventBody"]["onChainEvent"]["type"] == "EVENT_TYPE_SIGNER"
               and e["mergeOnChainEventBody"]["onChainEvent"]["signerEventBody"]["eventType"] == "SIGNER_EVENT_TYPE_REMOVE"]
    assert removes
    revoked = {e["revokeMessageBody"]["message"]["signer"] for e in events if e["type"] == "HUB_EVENT_TYPE_REVOKE_MESSAGE"}
    for ev in removes:
        key = ev["signerEventBody"]["key"]
        active = get_json(http, hub, "/v1/onChainSignersByFid", fid=ev["fid"])["events"]
        assert key not in {a["signerEventBody"]["key"] for a in active}
        all_signer_events = get_json(http, hub, "/v1/onChainEventsByFid", fid=ev["fid"], event_type="EVENT_TYPE_SIGNER")
        assert ev in all_signer_events["events"]
    assert revoked <= {ev["signerEventBody"]["key"] for ev in removes}


def test_new_fids_register_during_the_stream(http, hub):
    events = [e for s in (1, 2) for e in all_events(http, hub, s)]
    regs = [e["mergeOnChainEventBody"]["onChainEvent"] for e in events
            if e["type"] == "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT"
            and e["mergeOnChainEventBody"]["onChainEvent"]["type"] == "EVENT_TYPE_ID_REGISTER"]
    assert regs
    for reg in regs:
        fid = reg["fid"]
        assert fid > 150
        shard = hub.network.shard_of(fid)
        assert fid in get_json(http, hub, "/v1/fids", shard_id=shard)["fids"]
        assert get_json(http, hub, "/v1/onChainSignersByFid", fid=fid)["events"]
        assert reg["idRegisterEventBody"]["eventType"] == "Register"


def test_fname_change_carries_the_replaced_proof(http, hub):
    events = [e for s in (1, 2) for e in all_events(http, hub, s) if e["type"] == "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF"]
    changes = [e["mergeUsernameProofBody"] for e in events if "deletedUsernameProof" in e["mergeUsernameProofBody"]]
    assert changes
    for body in changes:
        assert list(body) == ["usernameProof", "deletedUsernameProof"]
        new, old = body["usernameProof"], body["deletedUsernameProof"]
        assert new["fid"] == old["fid"] and new["name"] != old["name"]
        proofs = get_json(http, hub, "/v1/userNameProofsByFid", fid=new["fid"])["proofs"]
        if proofs[0]["name"] == new["name"]:
            got = get_json(http, hub, "/v1/userNameProofByName", name=new["name"])
            assert got == new
