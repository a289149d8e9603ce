"""Hub JSON builders for processor tests (Snapchain shapes; hashes are arbitrary 20 bytes:
the indexer keys rows by the hash the hub sends and does not re-hash)."""
from __future__ import annotations

import base64
import hashlib

SIGNER = "0x" + "ab" * 32


def h(label: str) -> str:
    return "0x" + hashlib.sha1(label.encode()).hexdigest()


def message(mtype: str, fid: int, ts: int, body_key: str, body: dict, label: str) -> dict:
    return {"data": {"type": f"MESSAGE_TYPE_{mtype}", "fid": fid, "timestamp": ts, "network": "FARCASTER_NETWORK_MAINNET",
                     body_key: body},
            "hash": h(label), "hashScheme": "HASH_SCHEME_BLAKE3", "signature": base64.b64encode(b"s" * 64).decode(),
            "signatureScheme": "SIGNATURE_SCHEME_ED25519", "signer": SIGNER}


def cast(fid: int, ts: int, label: str, text: str = "gm", parent: tuple[int, str] | None = None) -> dict:
    return message("CAST_ADD", fid, ts, "castAddBody", {
        "embedsDeprecated": [], "mentions": [], "parentCastId": {"fid": parent[0], "hash": parent[1]} if parent else None,
        "parentUrl": None, "text": text, "embeds": [], "mentionsPositions": [], "type": "CAST"}, label)


def cast_remove(fid: int, ts: int, label: str, target: str) -> dict:
    raw = bytes.fromhex(target[2:])
    return message("CAST_REMOVE", fid, ts, "castRemoveBody", {"targetHash": base64.b64encode(raw).decode()}, label)


def reaction(kind: str, fid: int, ts: int, label: str, target: tuple[int, str]) -> dict:
    return message(f"REACTION_{kind}", fid, ts, "reactionBody",
                   {"type": "REACTION_TYPE_LIKE", "targetCastId": {"fid": target[0], "hash": target[1]}}, label)


def link(kind: str, fid: int, ts: int, label: str, target_fid: int) -> dict:
    return message(f"LINK_{kind}", fid, ts, "linkBody", {"type": "follow", "displayTimestamp": None,
                                                          "targetFid": target_fid}, label)


def user_data(fid: int, ts: int, label: str, utype: str, value: str) -> dict:
    return message("USER_DATA_ADD", fid, ts, "userDataBody", {"type": f"USER_DATA_TYPE_{utype}", "value": value}, label)


def merge(msg: dict, deleted: list[dict] = (), event_id: int = 1) -> dict:
    return {"type": "HUB_EVENT_TYPE_MERGE_MESSAGE", "id": event_id,
            "mergeMessageBody": {"message": msg, "deletedMessages": list(deleted)}}


def prune(msg: dict, event_id: int = 1) -> dict:
    return {"type": "HUB_EVENT_TYPE_PRUNE_MESSAGE", "id": event_id, "pruneMessageBody": {"message": msg}}


def revoke(msg: dict, event_id: int = 1) -> dict:
    return {"type": "HUB_EVENT_TYPE_REVOKE_MESSAGE", "id": event_id, "revokeMessageBody": {"message": msg}}
