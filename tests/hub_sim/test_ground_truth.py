"""Ground truth: targets (roots, client-app users, follows) and per-fid message states."""
import pytest

from simulators.hub import key_metadata
from simulators.hub.testing import running_hub

from .conftest import get_json
from .test_stream import all_events

SERVED = {"MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_CAST_REMOVE", "MESSAGE_TYPE_REACTION_ADD", "MESSAGE_TYPE_LINK_ADD",
          "MESSAGE_TYPE_USER_DATA_ADD", "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS"}


def served_hashes(http, hub, fid):
    out = set()
    for path, extra in (("/v1/castsByFid", {}), ("/v1/reactionsByFid", {"reaction_type": "None"}), ("/v1/linksByFid", {}),
                        ("/v1/userDataByFid", {}), ("/v1/verificationsByFid", {})):
        out |= {m["hash"] for m in get_json(http, hub, path, fid=fid, **extra)["messages"]}
    return out


def position_of(hub, event):
    return event["blockNumber"] - hub.network.stream.shards[event["shardIndex"]].base_height + 1


def test_targets_are_roots_plus_their_follows(http, hub):
    root = 7
    gt = hub.ground_truth(roots=[root])
    follows = {m["data"]["linkBody"]["targetFid"] for m in get_json(http, hub, "/v1/linksByFid", fid=root)["messages"]
               if m["data"]["linkBody"]["type"] == "follow"}
    assert gt.targets == {root} | follows
    assert set(gt.fids) == {f for f in gt.targets if f <= 150 or f in hub.network.registered}


def test_active_messages_match_what_the_hub_serves(http, hub):
    gt = hub.ground_truth(roots=[7, 21])
    for fid in list(gt.fids)[:15]:
        truth = gt.fids[fid]
        expected = {h for h, t in truth.active.items() if t in SERVED}
        assert expected == served_hashes(http, hub, fid)
        assert not set(truth.active) & (set(truth.deleted) | truth.pruned | truth.revoked)


def test_client_app_users_become_roots(http, hub):
    apps = hub.network.plan.client_apps
    app = apps[-1]
    users = set()
    for fid in range(1, 160):
        if not hub.network.has_fid(fid):
            continue
        for e in get_json(http, hub, "/v1/onChainEventsByFid", fid=fid, event_type="EVENT_TYPE_SIGNER")["events"]:
            body = e["signerEventBody"]
            if body["eventType"] == "SIGNER_EVENT_TYPE_ADD":
                import base64
                if key_metadata.decode(base64.b64decode(body["metadata"]))["requestFid"] == app:
                    users.add(fid)
    gt = hub.ground_truth(client_apps=[app])
    assert users and gt.app_users[app] == users and gt.roots == users
    for u in users:
        follows = {m["data"]["linkBody"]["targetFid"] for m in get_json(http, hub, "/v1/linksByFid", fid=u)["messages"]}
        assert follows <= gt.targets


def test_remove_shows_as_deleted_by_that_remove(http, hub):
    events = [e for s in (1, 2) for e in all_events(http, hub, s)]
    checked = 0
    for e in events:
        if e["type"] != "HUB_EVENT_TYPE_MERGE_MESSAGE" or not e["mergeMessageBody"]["deletedMessages"]:
            continue
        msg = e["mergeMessageBody"]["message"]
        fid = msg["data"]["fid"]
        truth = hub.ground_truth(roots=[fid]).fids[fid]
        for d in e["mergeMessageBody"]["deletedMessages"]:
            if d["hash"] in truth.deleted:
                assert truth.deleted[d["hash"]] == msg["hash"]
                assert d["hash"] in truth.observable
                checked += 1
            # before that block the displaced message was still active
            before = hub.ground_truth(roots=[fid], at=position_of(hub, e) - 1).fids[fid]
            assert d["hash"] in before.active
    assert checked >= 5


@pytest.mark.parametrize("rule", ["keep", "revoke"])
def test_pruned_and_revoked_states(http, hub, rule):
    """Prunes always; revocations only under the pre-V14 rule ("revoke"): since V14 a signer
    removal leaves the messages it signed active (and the hub sends no REVOKE_MESSAGE)."""
    with running_hub(num_fids=150, seed=11, revocation=rule) as h:
        h.advance(40)
        events = [e for s in (1, 2) for e in all_events(http, h, s)]
        removals = [e for e in events if e["type"] == "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT"
                    and (e["mergeOnChainEventBody"]["onChainEvent"].get("signerEventBody") or {}).get("eventType")
                    == "SIGNER_EVENT_TYPE_REMOVE"]
        assert removals
        for kind, body, attr in (("HUB_EVENT_TYPE_PRUNE_MESSAGE", "pruneMessageBody", "pruned"),
                                 ("HUB_EVENT_TYPE_REVOKE_MESSAGE", "revokeMessageBody", "revoked")):
            evs = [e for e in events if e["type"] == kind]
            if attr == "revoked" and rule == "keep":
                assert not evs
                for fid in {e["mergeOnChainEventBody"]["onChainEvent"]["fid"] for e in removals}:
                    assert not h.ground_truth(roots=[fid]).fids[fid].revoked
                continue
            assert evs
            for e in evs[:5]:
                m = e[body]["message"]
                fid = m["data"]["fid"]
                assert m["hash"] in getattr(h.ground_truth(roots=[fid]).fids[fid], attr)
                assert m["hash"] in h.ground_truth(roots=[fid], at=position_of(h, e) - 1).fids[fid].active


def test_unfollow_drops_target():
    with running_hub(num_fids=150, seed=11) as hub:
        hub.advance(40)
        stream = hub.network.stream
        for log in stream.shards.values():
            for ev in log.events:
                if ev.type == 1 and ev.payload[0].type == 6:   # MERGE_MESSAGE of a LINK_REMOVE
                    remove = ev.payload[0]
                    root, target = remove.fid, remove.body["target_fid"]
                    pos = ev.block_number - log.base_height + 1
                    before = hub.ground_truth(roots=[root], at=pos - 1)
                    after = hub.ground_truth(roots=[root], at=pos)
                    assert target in before.targets
                    assert target not in after.targets or target == root
                    return
        raise AssertionError("no unfollow in the stream")


def test_ground_truth_over_http(http, hub):
    app = hub.network.plan.client_apps[0]
    got = get_json(http, hub, "/_sim/ground_truth", roots="7,21", client_apps=str(app), at=20)
    want = hub.ground_truth(roots=[7, 21], client_apps=[app], at=20).to_dict()
    assert got == want
    assert got["position"] == 20
