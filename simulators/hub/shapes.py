"""JSON renderings, byte-for-byte as Snapchain's ``http_server.rs`` serde structs emit them
(compact, key order = struct declaration order, raw UTF-8), plus the Hubble 1.19 variants.

Encodings: hashes/keys/addresses ``0x``-hex; signatures, cast-remove ``targetHash``, claim
signatures and signer ``metadata`` standard base64.
"""
from __future__ import annotations

import base64
import json

from . import protobuf as pb
from .model import (BLOCK_CONFIRMED, RAW, HUB_EVENT_TYPE_NAMES, MERGE_MESSAGE, MERGE_ON_CHAIN_EVENT,
                    MERGE_USERNAME_PROOF, PRUNE_MESSAGE, REVOKE_MESSAGE, HubEvent, Message,
                    OnChainEvent, UsernameProof)

SNAPCHAIN, HUBBLE = "snapchain", "hubble"
ID_REGISTER_NAMES = {SNAPCHAIN: {1: "Register", 2: "Transfer", 3: "ChangeRecovery"},
                     HUBBLE: {1: "ID_REGISTER_EVENT_TYPE_REGISTER", 2: "ID_REGISTER_EVENT_TYPE_TRANSFER",
                              3: "ID_REGISTER_EVENT_TYPE_CHANGE_RECOVERY"}}
SIGNER_EVENT_NAMES = {1: "SIGNER_EVENT_TYPE_ADD", 2: "SIGNER_EVENT_TYPE_REMOVE", 3: "SIGNER_EVENT_TYPE_ADMIN_RESET"}


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def hex0x(b: bytes) -> str:
    return "0x" + b.hex()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _cast_id(cid) -> dict:
    return {"fid": cid[0], "hash": hex0x(cid[1])}


def _body_json(m: Message, flavor: str) -> tuple[str, dict]:
    b, t = m.body, m.type
    if t == pb.CAST_ADD:
        embeds = [{"url": v} if k == "url" else {"castId": _cast_id(v)} for k, v in b["embeds"]]
        if flavor == HUBBLE:  # ts-proto toJSON: unset oneof absent, mentionsPositions before embeds
            out = {"embedsDeprecated": list(b["embeds_deprecated"]), "mentions": list(b["mentions"])}
            if b["parent_cast_id"] is not None:
                out["parentCastId"] = _cast_id(b["parent_cast_id"])
            if b["parent_url"] is not None:
                out["parentUrl"] = b["parent_url"]
            out.update(text=b["text"], mentionsPositions=list(b["mentions_positions"]), embeds=embeds,
                       type=pb.CAST_TYPE_NAMES[b["type"]])
            return "castAddBody", out
        return "castAddBody", {
            "embedsDeprecated": list(b["embeds_deprecated"]), "mentions": list(b["mentions"]),
            "parentCastId": _cast_id(b["parent_cast_id"]) if b["parent_cast_id"] is not None else None,
            "parentUrl": b["parent_url"], "text": b["text"], "embeds": embeds,
            "mentionsPositions": list(b["mentions_positions"]), "type": pb.CAST_TYPE_NAMES[b["type"]]}
    if t == pb.CAST_REMOVE:
        return "castRemoveBody", {"targetHash": b64(b["target_hash"])}
    if t in (pb.REACTION_ADD, pb.REACTION_REMOVE):
        out = {"type": pb.REACTION_TYPE_NAMES[b["type"]]}
        if b.get("target_cast_id") is not None:
            out["targetCastId"] = _cast_id(b["target_cast_id"])
        else:
            out["targetUrl"] = b["target_url"]
        return "reactionBody", out
    if t in (pb.LINK_ADD, pb.LINK_REMOVE):
        if flavor == HUBBLE and b.get("display_timestamp") is None:
            return "linkBody", {"type": b["type"], "targetFid": b["target_fid"]}
        return "linkBody", {"type": b["type"], "displayTimestamp": b.get("display_timestamp"),
                            "targetFid": b["target_fid"]}
    if t == pb.VERIFICATION_ADD_ETH_ADDRESS:
        if flavor == HUBBLE:
            return "verificationAddAddressBody", {
                "address": hex0x(b["address"]), "claimSignature": b64(b["claim_signature"]),
                "blockHash": hex0x(b["block_hash"]), "verificationType": b["verification_type"],
                "chainId": b["chain_id"], "protocol": pb.PROTOCOL_NAMES[b["protocol"]],
                "ethSignature": b64(b["claim_signature"])}
        return "verificationAddAddressBody", {
            "address": hex0x(b["address"]), "claimSignature": b64(b["claim_signature"]),
            "blockHash": hex0x(b["block_hash"]), "type": b["verification_type"], "chainId": b["chain_id"],
            "protocol": pb.PROTOCOL_NAMES[b["protocol"]]}
    if t == pb.VERIFICATION_REMOVE:
        return "verificationRemoveBody", {"address": hex0x(b["address"]), "protocol": pb.PROTOCOL_NAMES[b["protocol"]]}
    if t == pb.USER_DATA_ADD:
        return "userDataBody", {"type": pb.USER_DATA_TYPE_NAMES[b["type"]], "value": b["value"]}
    if t == pb.KEY_ADD:  # http_server.rs struct KeyAddBody: bytes as 0x-hex (metadata too), scopes by name
        return "keyAddBody", {"key": hex0x(b["key"]), "keyType": b["key_type"],
                              "custodySignature": hex0x(b["custody_signature"]), "deadline": b["deadline"],
                              "nonce": b["nonce"], "metadata": hex0x(b["metadata"]),
                              "metadataType": b["metadata_type"], "registrationTxHash": hex0x(b["registration_tx_hash"]),
                              "scopes": [pb.MESSAGE_TYPE_NAMES[s] for s in b["scopes"] if s in pb.MESSAGE_TYPE_NAMES],
                              "ttl": b["ttl"]}
    if t == pb.KEY_REMOVE:  # struct KeyRemoveBody
        return "keyRemoveBody", {"key": hex0x(b["key"]), "signature": hex0x(b["signature"]),
                                 "signatureType": b["signature_type"], "deadline": b["deadline"], "nonce": b["nonce"]}
    raise ValueError(t)


def message_obj(m: Message, flavor: str = SNAPCHAIN) -> dict:
    key, body = _body_json(m, flavor)
    data = {"type": pb.MESSAGE_TYPE_NAMES[m.type], "fid": m.fid, "timestamp": m.timestamp,
            "network": "FARCASTER_NETWORK_MAINNET", key: body}
    if flavor == HUBBLE and key == "verificationAddAddressBody":
        data["verificationAddEthAddressBody"] = body  # Hubble's BACKWARDS_COMPATIBILITY_MAP duplicate
    return {"data": data, "hash": hex0x(m.hash), "hashScheme": "HASH_SCHEME_BLAKE3",
            "signature": b64(m.signature), "signatureScheme": "SIGNATURE_SCHEME_ED25519",
            "signer": hex0x(m.signer.public_key)}


def message_json(m: Message, flavor: str = SNAPCHAIN) -> str:
    cached = m._json.get(flavor)
    if cached is None:
        cached = m._json[flavor] = dumps(message_obj(m, flavor))
    return cached


def onchain_obj(e: OnChainEvent, flavor: str = SNAPCHAIN) -> dict:
    b = e.body
    out = {"type": e.type, "chainId": e.chain_id, "blockNumber": e.block_number,
           "blockHash": hex0x(e.block_hash), "blockTimestamp": e.block_timestamp,
           "transactionHash": hex0x(e.transaction_hash), "logIndex": e.log_index, "fid": e.fid}
    empty = "" if flavor == HUBBLE else "0x"  # Hubble renders empty bytes as "", Snapchain as "0x"
    kind = b["kind"]
    if kind == "signer":
        out["signerEventBody"] = {"key": hex0x(b["key"]), "keyType": 1,
                                  "eventType": SIGNER_EVENT_NAMES[b["event_type"]],
                                  "metadata": b64(b["metadata"]), "metadataType": 1 if b["metadata"] else 0}
    elif kind == "id_register":
        out["idRegisterEventBody"] = {"to": hex0x(b["to"]), "eventType": ID_REGISTER_NAMES[flavor][b["event_type"]],
                                      "from": hex0x(b["from"]) if b["from"] else empty,
                                      "recoveryAddress": hex0x(b["recovery"])}
    elif kind == "storage_rent":
        # Hubble's transformHash() has no "payer" key, so it stays base64 there
        payer = b64(b["payer"]) if flavor == HUBBLE else hex0x(b["payer"])
        out["storageRentEventBody"] = {"payer": payer, "units": b["units"], "expiry": b["expiry"]}
    if flavor == SNAPCHAIN:
        out["tier_purchase_event_body"] = None  # serde field without rename/skip, always present
    out["txIndex"] = e.tx_index
    out["version"] = e.version
    return out


def onchain_json(e: OnChainEvent, flavor: str = SNAPCHAIN) -> str:
    cached = e._json.get(flavor)
    if cached is None:
        cached = e._json[flavor] = dumps(onchain_obj(e, flavor))
    return cached


def proof_json(p: UsernameProof, flavor: str = SNAPCHAIN) -> str:
    cached = p._json.get(flavor)
    if cached is None:
        cached = p._json[flavor] = dumps({"timestamp": p.timestamp, "name": p.name, "owner": hex0x(p.owner),
                                          "signature": b64(p.signature), "fid": p.fid, "type": p.type})
    return cached


def event_json(ev: HubEvent, flavor: str = SNAPCHAIN) -> str:
    cached = ev._json.get(flavor)
    if cached is not None:
        return cached
    t, p = ev.type, ev.payload
    eid = ev.hubble_id if flavor == HUBBLE else ev.id
    head = f'{{"type":"{HUB_EVENT_TYPE_NAMES[t]}","id":{eid},' if t != RAW else f'{{"id":{eid},'
    if t == MERGE_MESSAGE:
        msg, deleted = p
        body = (f'"mergeMessageBody":{{"message":{message_json(msg, flavor)},"deletedMessages":['
                + ",".join(message_json(d, flavor) for d in deleted) + "]}")
    elif t == PRUNE_MESSAGE:
        body = f'"pruneMessageBody":{{"message":{message_json(p, flavor)}}}'
    elif t == REVOKE_MESSAGE:
        body = f'"revokeMessageBody":{{"message":{message_json(p, flavor)}}}'
    elif t == MERGE_ON_CHAIN_EVENT:
        body = f'"mergeOnChainEventBody":{{"onChainEvent":{onchain_json(p, flavor)}}}'
    elif t == MERGE_USERNAME_PROOF:
        proof, deleted = p   # an fname change carries the proof it replaces
        body = f'"mergeUsernameProofBody":{{"usernameProof":{proof_json(proof, flavor)}'
        body += f',"deletedUsernameProof":{proof_json(deleted, flavor)}}}' if deleted is not None else "}"
    elif t == RAW:  # an event as given (tests: types and fields this simulator does not model)
        body = dumps(p)[1:-1]
    elif t == BLOCK_CONFIRMED:
        body = '"blockConfirmedBody":' + dumps({
            "blockNumber": p["block_number"], "shardIndex": p["shard"], "timestamp": p["timestamp"],
            "blockHash": hex0x(p["block_hash"]), "totalEvents": p["total_events"]})
    else:
        raise ValueError(t)
    tail = "}" if flavor == HUBBLE else f',"blockNumber":{ev.block_number},"shardIndex":{ev.shard}}}'
    out = ev._json[flavor] = head + body + tail
    return out


# --- parsing served JSON back to protobuf bytes (used to verify what a client receives) ---

def _parse_cast_id(o):
    return (o["fid"], bytes.fromhex(o["hash"][2:]))


def body_from_json(data: dict) -> tuple[int, dict]:
    """(message type, body dict) from a served ``data`` object; inverse of ``message_obj``."""
    mtype = pb.MESSAGE_TYPES_BY_NAME[data["type"]]
    rev = lambda names: {v: k for k, v in names.items()}  # noqa: E731
    if mtype == pb.CAST_ADD:
        b = data["castAddBody"]
        return mtype, {
            "embeds_deprecated": b["embedsDeprecated"], "mentions": b["mentions"],
            "parent_cast_id": _parse_cast_id(b["parentCastId"]) if b.get("parentCastId") else None,
            "parent_url": b.get("parentUrl"), "text": b["text"], "mentions_positions": b["mentionsPositions"],
            "embeds": [("url", e["url"]) if "url" in e else ("cast", _parse_cast_id(e["castId"])) for e in b["embeds"]],
            "type": rev(pb.CAST_TYPE_NAMES)[b["type"]]}
    if mtype == pb.CAST_REMOVE:
        return mtype, {"target_hash": base64.b64decode(data["castRemoveBody"]["targetHash"])}
    if mtype in (pb.REACTION_ADD, pb.REACTION_REMOVE):
        b = data["reactionBody"]
        return mtype, {"type": rev(pb.REACTION_TYPE_NAMES)[b["type"]],
                       "target_cast_id": _parse_cast_id(b["targetCastId"]) if "targetCastId" in b else None,
                       "target_url": b.get("targetUrl")}
    if mtype in (pb.LINK_ADD, pb.LINK_REMOVE):
        b = data["linkBody"]
        return mtype, {"type": b["type"], "display_timestamp": b.get("displayTimestamp"), "target_fid": b["targetFid"]}
    if mtype == pb.VERIFICATION_ADD_ETH_ADDRESS:
        b = data["verificationAddAddressBody"]
        return mtype, {"address": bytes.fromhex(b["address"][2:]), "claim_signature": base64.b64decode(b["claimSignature"]),
                       "block_hash": bytes.fromhex(b["blockHash"][2:]),
                       "verification_type": b.get("type", b.get("verificationType", 0)),
                       "chain_id": b["chainId"], "protocol": rev(pb.PROTOCOL_NAMES)[b["protocol"]]}
    if mtype == pb.VERIFICATION_REMOVE:
        b = data["verificationRemoveBody"]
        return mtype, {"address": bytes.fromhex(b["address"][2:]), "protocol": rev(pb.PROTOCOL_NAMES)[b["protocol"]]}
    if mtype == pb.USER_DATA_ADD:
        b = data["userDataBody"]
        return mtype, {"type": rev(pb.USER_DATA_TYPE_NAMES)[b["type"]], "value": b["value"]}
    raise ValueError(data["type"])


def data_bytes_from_json(message: dict) -> bytes:
    data = message["data"]
    mtype, body = body_from_json(data)
    return pb.encode_message_data(mtype, data["fid"], data["timestamp"], body)
