"""Acceptance: every served message verifies (BLAKE3-20 of its data bytes, valid Ed25519)."""
import base64

from simulators.hub import shapes, signing

from .conftest import get_json


def collect_messages(o, out):
    if isinstance(o, dict):
        if "hashScheme" in o:
            out.append(o)
        for v in o.values():
            collect_messages(v, out)
    elif isinstance(o, list):
        for v in o:
            collect_messages(v, out)
    return out


def test_every_served_message_verifies(http, hub):
    served = []
    for fid in range(1, 151, 3):
        for path, extra in (("/v1/castsByFid", {}), ("/v1/reactionsByFid", {"reaction_type": "None"}),
                            ("/v1/linksByFid", {}), ("/v1/userDataByFid", {}), ("/v1/verificationsByFid", {})):
            collect_messages(get_json(http, hub, path, fid=fid, **extra), served)
    for shard in (1, 2):
        collect_messages(get_json(http, hub, "/v1/events", shard_index=shard), served)
    assert len(served) > 1000
    for m in served:
        data = shapes.data_bytes_from_json(m)   # what the client got, re-encoded
        h = signing.message_hash(data)
        assert "0x" + h.hex() == m["hash"], m
        assert m["hashScheme"] == "HASH_SCHEME_BLAKE3" and m["signatureScheme"] == "SIGNATURE_SCHEME_ED25519"
        assert signing.verify_signature(bytes.fromhex(m["signer"][2:]), base64.b64decode(m["signature"]), h), m


def test_signers_are_registered_on_chain(http, hub):
    """Each message's signer is a key the fid added on chain (active or later removed)."""
    for fid in (2, 9, 33):
        keys = {e["signerEventBody"]["key"] for e in
                get_json(http, hub, "/v1/onChainEventsByFid", fid=fid, event_type="EVENT_TYPE_SIGNER")["events"]}
        for m in get_json(http, hub, "/v1/castsByFid", fid=fid)["messages"]:
            assert m["signer"] in keys
