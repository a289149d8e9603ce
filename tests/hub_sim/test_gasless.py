"""Gasless signers (engine V16) on the simulated hub: KEY_ADD/KEY_REMOVE messages with
Snapchain's JSON shapes, and /v1/signersByFid with its paging and counters."""
from simulators.hub import key_metadata
from simulators.hub.signing import message_hash
from simulators.hub.testing import running_hub

from .conftest import get_json


def test_key_add_and_signers_by_fid(http):
    with running_hub(num_fids=30, seed=2) as hub:
        hub.network.stream.quiet = True
        fid = hub.network.shard_fids[1][0]
        added = []
        hub.script(1, lambda b: (added.append(b.key_add(fid, 7)), added.append(b.key_add(fid, 8))))
        hub.advance(1)
        events = get_json(http, hub, "/v1/events", shard_index=1, from_event_id=0)["events"]
        merges = [e for e in events if e["type"] == "HUB_EVENT_TYPE_MERGE_MESSAGE"]
        data = merges[0]["mergeMessageBody"]["message"]["data"]
        assert data["type"] == "MESSAGE_TYPE_KEY_ADD"
        body = data["keyAddBody"]
        assert list(body) == ["key", "keyType", "custodySignature", "deadline", "nonce", "metadata", "metadataType",
                              "registrationTxHash", "scopes", "ttl"]
        assert body["metadata"].startswith("0x") and body["registrationTxHash"] == "0x"
        assert key_metadata.decode(bytes.fromhex(body["metadata"][2:]))["requestFid"] == 7
        assert body["scopes"] == ["MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_REACTION_ADD", "MESSAGE_TYPE_LINK_ADD"]
        assert merges[0]["mergeMessageBody"]["message"]["hash"] == "0x" + message_hash(added[0].data_bytes).hex()

        everything = get_json(http, hub, "/v1/signersByFid", fid=fid)
        gasless = [s for s in everything["signers"] if s["source"] == "SIGNER_SOURCE_OFFCHAIN"]
        onchain = [s for s in everything["signers"] if s["source"] == "SIGNER_SOURCE_ONCHAIN"]
        assert sorted(s["requestFid"] for s in gasless) == [7, 8] and all("onChainEvent" in s for s in onchain)
        assert (everything["gaslessSignerCount"], everything["gaslessSignerLimit"], everything["currentUserNonce"]) == \
            (2, 1000, 2)
        assert "nextPageToken" not in everything
        seen, token = [], None
        while True:
            page = get_json(http, hub, "/v1/signersByFid", fid=fid, pageSize=1, **({"pageToken": token} if token else {}))
            seen += [s["key"] for s in page["signers"]]
            token = page.get("nextPageToken")
            if not token:
                break
        assert seen == [s["key"] for s in everything["signers"]]

        hub.script(1, lambda b: b.key_remove(fid, 0))
        hub.advance(1)
        after = get_json(http, hub, "/v1/signersByFid", fid=fid)
        assert after["gaslessSignerCount"] == 1 and after["currentUserNonce"] == 3
        hub.set_hubble(True)
        assert http.get(hub.url + "/v1/signersByFid", params={"fid": fid}, timeout=10).status_code == 404
