"""Parse and validate hub JSON (messages, on-chain events, username proofs) into table rows.

Hashes, keys and addresses arrive as 0x-hex; signatures, a CastRemove's targetHash and signer
metadata as base64 (HUB_RESEARCH §1.4) - decoding one as the other was the seed indexer's
worst bug, so every field has exactly one decoder here. Anything unexpected raises
HubDataError naming the field; callers parse a whole page before writing any of it.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, overload

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

FARCASTER_EPOCH = 1609459200  # 2021-01-01T00:00:00Z, in unix seconds

CAST_ADD, CAST_REMOVE, REACTION_ADD, REACTION_REMOVE = 1, 2, 3, 4
LINK_ADD, LINK_REMOVE, VERIFICATION_ADD, VERIFICATION_REMOVE = 5, 6, 7, 8
USER_DATA_ADD = 11
MESSAGE_TYPES = {
    "MESSAGE_TYPE_CAST_ADD": CAST_ADD, "MESSAGE_TYPE_CAST_REMOVE": CAST_REMOVE,
    "MESSAGE_TYPE_REACTION_ADD": REACTION_ADD, "MESSAGE_TYPE_REACTION_REMOVE": REACTION_REMOVE,
    "MESSAGE_TYPE_LINK_ADD": LINK_ADD, "MESSAGE_TYPE_LINK_REMOVE": LINK_REMOVE,
    "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS": VERIFICATION_ADD,
    "MESSAGE_TYPE_VERIFICATION_REMOVE": VERIFICATION_REMOVE, "MESSAGE_TYPE_USER_DATA_ADD": USER_DATA_ADD,
}
MESSAGE_TYPE_NAMES = {v: k for k, v in MESSAGE_TYPES.items()}
REACTION_TYPES = {"REACTION_TYPE_LIKE": 1, "REACTION_TYPE_RECAST": 2}

# Which table holds each message type.
TABLE_OF_TYPE = {
    CAST_ADD: "casts", CAST_REMOVE: "cast_removes", REACTION_ADD: "reactions", REACTION_REMOVE: "reactions",
    LINK_ADD: "links", LINK_REMOVE: "links", VERIFICATION_ADD: "verifications",
    VERIFICATION_REMOVE: "verifications", USER_DATA_ADD: "user_data",
}
SIGNED_KEY_REQUEST = ["(uint256,address,bytes,uint256)"]


class HubDataError(ValueError):
    """A hub response that does not have the shape the Farcaster protocol defines."""


class NotIndexed(Exception):
    """A valid message of a kind this indexer does not store (frame actions, compact link
    state, storage lends, channels, Solana verifications, types newer than this code): skipped
    and counted, never a failure - failing would stall a shard's cursor on a message the
    protocol allows. (Gasless signer messages are stored, as signer events: parse_key_message.)"""


def _field(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise HubDataError(f"{where}: missing field {key!r}")
    return obj[key]


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HubDataError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


@overload
def _hex(value: Any, where: str, *, size: int | None = None, optional: Literal[False] = False) -> bytes: ...
@overload
def _hex(value: Any, where: str, *, size: int | None = None, optional: bool) -> bytes | None: ...
def _hex(value: Any, where: str, *, size: int | None = None, optional: bool = False) -> bytes | None:
    if optional and value in (None, "", "0x"):
        return None
    if not isinstance(value, str) or not value.startswith("0x"):
        raise HubDataError(f"{where}: expected 0x-hex, got {value!r}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise HubDataError(f"{where}: invalid hex {value!r}") from None
    if size is not None and len(raw) != size:
        raise HubDataError(f"{where}: expected {size} bytes, got {len(raw)}")
    return raw


def _b64(value: Any, where: str, *, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise HubDataError(f"{where}: expected base64, got {value!r}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise HubDataError(f"{where}: invalid base64 {value!r}") from None
    if size is not None and len(raw) != size:
        raise HubDataError(f"{where}: expected {size} bytes, got {len(raw)}")
    return raw


@overload
def _str(value: Any, where: str, *, optional: Literal[False] = False) -> str: ...
@overload
def _str(value: Any, where: str, *, optional: bool) -> str | None: ...
def _str(value: Any, where: str, *, optional: bool = False) -> str | None:
    if optional and value is None:
        return None
    if not isinstance(value, str):
        raise HubDataError(f"{where}: expected a string, got {value!r}")
    if "\x00" in value:
        raise HubDataError(f"{where}: NUL character in text")
    return value


def fc_time(ts: int) -> datetime:
    return datetime.fromtimestamp(ts + FARCASTER_EPOCH, tz=timezone.utc)


def _cast_id(value: Any, where: str) -> tuple[int, bytes]:
    return _int(_field(value, "fid", where), f"{where}.fid"), _hex(_field(value, "hash", where), f"{where}.hash", size=20)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """One message as a row of its table: ``values`` follow ``processor.COLUMNS[table]``."""

    hash: bytes
    fid: int
    type: int
    table: str
    values: tuple  # table-specific columns after (hash, fid, timestamp, signer)
    timestamp: datetime
    signer: bytes

    @property
    def is_follow_link(self) -> bool:
        return self.table == "links" and self.values[1] == "follow"


class _Fallback(Exception):
    pass


# Anything odd in the fast path sends the message to the checked path, which gives the verdict.
_FALLBACK = (_Fallback, KeyError, TypeError, AttributeError, ValueError, OverflowError, OSError)
_UTC = timezone.utc
_fromts = datetime.fromtimestamp
_fromhex = bytes.fromhex
_b64decode = base64.b64decode


def parse_message(obj: Any, where: str = "message") -> ParsedMessage:
    """The message as a row; raises HubDataError (naming the field) or NotIndexed.

    Well-formed messages take a fast path that builds no error locations; anything it does not
    accept goes through the checked path, so results and errors are exactly the checked path's."""
    try:
        return _parse_fast(obj)
    except _FALLBACK:
        return _parse_checked(obj, where)


def _u(v: Any) -> int:  # a non-negative int, exactly (bool and int subclasses take the checked path)
    if type(v) is not int or v < 0:
        raise _Fallback
    return v


def _s(v: Any) -> str:
    if type(v) is not str or "\x00" in v:
        raise _Fallback
    return v


def _x(v: Any, size: int | None = None) -> bytes:
    if type(v) is not str or not v.startswith("0x"):
        raise _Fallback
    raw = _fromhex(v[2:])
    if size is not None and len(raw) != size:
        raise _Fallback
    return raw


def _b(v: Any, size: int | None = None) -> bytes:
    if type(v) is not str:
        raise _Fallback
    raw = _b64decode(v, validate=True)
    if size is not None and len(raw) != size:
        raise _Fallback
    return raw


def _cid(v: Any) -> tuple[int, bytes]:
    if type(v) is not dict:
        raise _Fallback
    return _u(v["fid"]), _x(v["hash"], 20)


def _parse_fast(obj: Any) -> ParsedMessage:
    if type(obj) is not dict:
        raise _Fallback
    data = obj["data"]
    if type(data) is not dict:
        raise _Fallback
    mtype = MESSAGE_TYPES[data["type"]]
    values: tuple[Any, ...]  # the row layout of the message's table
    fid = _u(data["fid"])
    ts = _fromts(_u(data["timestamp"]) + FARCASTER_EPOCH, tz=_UTC)
    msg_hash = _x(obj["hash"], 20)
    signer = _x(obj["signer"])
    if mtype == CAST_ADD:
        body = data["castAddBody"]
        if type(body) is not dict:
            raise _Fallback
        parent = body.get("parentCastId")
        parent_fid, parent_hash = _cid(parent) if parent else (None, None)
        mentions, positions, embeds_in = body["mentions"], body["mentionsPositions"], body["embeds"]
        if type(mentions) is not list or type(positions) is not list or type(embeds_in) is not list:
            raise _Fallback
        mentions = [_u(m) for m in mentions]
        positions = [_u(p) for p in positions]
        embeds: list[dict[str, Any]] = []
        for e in embeds_in:
            if type(e) is not dict:
                raise _Fallback
            if "url" in e:
                embeds.append({"url": _s(e["url"])})
            elif "castId" in e:
                efid, ehash = _cid(e["castId"])
                embeds.append({"castId": {"fid": efid, "hash": "0x" + ehash.hex()}})
            else:
                raise _Fallback
        url = body.get("parentUrl")
        values = (_s(body["text"]), _s(body.get("type", "CAST")), parent_fid, parent_hash,
                  None if url is None else _s(url), mentions, positions, embeds)
    elif mtype == CAST_REMOVE:
        body = data["castRemoveBody"]
        if type(body) is not dict:
            raise _Fallback
        values = (_b(body["targetHash"], 20),)
    elif mtype == REACTION_ADD or mtype == REACTION_REMOVE:
        body = data["reactionBody"]
        if type(body) is not dict:
            raise _Fallback
        rtype = REACTION_TYPES[body["type"]]
        if body.get("targetCastId") is not None:
            tfid, thash = _cid(body["targetCastId"])
            values = (mtype, rtype, tfid, thash, None)
        else:
            values = (mtype, rtype, None, None, _s(body["targetUrl"]))
    elif mtype == LINK_ADD or mtype == LINK_REMOVE:
        body = data["linkBody"]
        if type(body) is not dict:
            raise _Fallback
        display = body.get("displayTimestamp")
        values = (mtype, _s(body["type"]), _u(body["targetFid"]), None if display is None else _u(display))
    elif mtype == USER_DATA_ADD:
        body = data["userDataBody"]
        if type(body) is not dict:
            raise _Fallback
        values = (_s(body["type"]), _s(body["value"]))
    elif mtype == VERIFICATION_ADD or mtype == VERIFICATION_REMOVE:
        body = data["verificationAddAddressBody" if mtype == VERIFICATION_ADD else "verificationRemoveBody"]
        if type(body) is not dict or body.get("protocol", "PROTOCOL_ETHEREUM") != "PROTOCOL_ETHEREUM":
            raise _Fallback  # Solana ones are not indexed: the checked path says so
        if mtype == VERIFICATION_REMOVE:
            values = (mtype, _x(body["address"], 20), "PROTOCOL_ETHEREUM", None, None, None, None)
        else:
            block_hash = body["blockHash"]
            values = (mtype, _x(body["address"], 20), "PROTOCOL_ETHEREUM", _b(body["claimSignature"]),
                      None if block_hash in (None, "", "0x") else _x(block_hash),
                      _u(body.get("type", body.get("verificationType", 0))), _u(body.get("chainId", 0)))
    else:
        raise _Fallback
    return ParsedMessage(msg_hash, fid, mtype, TABLE_OF_TYPE[mtype], values, ts, signer)


def _parse_checked(obj: Any, where: str = "message") -> ParsedMessage:
    data = _field(obj, "data", where)
    type_name = _field(data, "type", f"{where}.data")
    mtype = MESSAGE_TYPES.get(type_name)
    values: tuple[Any, ...]  # the row layout of the message's table
    if mtype is None:
        if isinstance(type_name, str) and type_name.startswith("MESSAGE_TYPE_"):
            raise NotIndexed(type_name)
        if isinstance(type_name, int) and not isinstance(type_name, bool):  # a type newer than its name table
            raise NotIndexed(f"MESSAGE_TYPE_{type_name}")
        raise HubDataError(f"{where}.data.type: not a message type: {type_name!r}")
    fid = _int(_field(data, "fid", f"{where}.data"), f"{where}.data.fid")
    ts = fc_time(_int(_field(data, "timestamp", f"{where}.data"), f"{where}.data.timestamp"))
    msg_hash = _hex(_field(obj, "hash", where), f"{where}.hash", size=20)
    signer = _hex(_field(obj, "signer", where), f"{where}.signer")
    w = f"{where}.data"
    if mtype == CAST_ADD:
        body = _field(data, "castAddBody", w)
        w += ".castAddBody"
        parent = body.get("parentCastId")
        parent_fid, parent_hash = _cast_id(parent, f"{w}.parentCastId") if parent else (None, None)
        mentions = [_int(m, f"{w}.mentions") for m in _field(body, "mentions", w)]
        positions = [_int(p, f"{w}.mentionsPositions") for p in _field(body, "mentionsPositions", w)]
        embeds: list[dict[str, Any]] = []
        for e in _field(body, "embeds", w):
            if isinstance(e, dict) and "url" in e:
                embeds.append({"url": _str(e["url"], f"{w}.embeds.url")})
            elif isinstance(e, dict) and "castId" in e:
                efid, ehash = _cast_id(e["castId"], f"{w}.embeds.castId")
                embeds.append({"castId": {"fid": efid, "hash": "0x" + ehash.hex()}})
            else:
                raise HubDataError(f"{w}.embeds: unexpected embed {e!r}")
        values = (_str(_field(body, "text", w), f"{w}.text"), _str(body.get("type", "CAST"), f"{w}.type"),
                  parent_fid, parent_hash, _str(body.get("parentUrl"), f"{w}.parentUrl", optional=True),
                  mentions, positions, embeds)  # embeds: JSON-encoded by the processor (only when written)
    elif mtype == CAST_REMOVE:
        body = _field(data, "castRemoveBody", w)
        values = (_b64(_field(body, "targetHash", f"{w}.castRemoveBody"), f"{w}.castRemoveBody.targetHash", size=20),)
    elif mtype in (REACTION_ADD, REACTION_REMOVE):
        body = _field(data, "reactionBody", w)
        w += ".reactionBody"
        rtype = REACTION_TYPES.get(_field(body, "type", w))
        if rtype is None:
            raise HubDataError(f"{w}.type: unknown reaction type {body['type']!r}")
        if body.get("targetCastId") is not None:
            tfid, thash = _cast_id(body["targetCastId"], f"{w}.targetCastId")
            turl = None
        else:
            tfid, thash, turl = None, None, _str(_field(body, "targetUrl", w), f"{w}.targetUrl")
        values = (mtype, rtype, tfid, thash, turl)
    elif mtype in (LINK_ADD, LINK_REMOVE):
        body = _field(data, "linkBody", w)
        w += ".linkBody"
        display = body.get("displayTimestamp")
        values = (mtype, _str(_field(body, "type", w), f"{w}.type"),
                  _int(_field(body, "targetFid", w), f"{w}.targetFid"),
                  None if display is None else _int(display, f"{w}.displayTimestamp"))
    elif mtype == VERIFICATION_ADD:
        body = _field(data, "verificationAddAddressBody", w)
        w += ".verificationAddAddressBody"
        protocol = _str(body.get("protocol", "PROTOCOL_ETHEREUM"), f"{w}.protocol")
        if protocol != "PROTOCOL_ETHEREUM":
            raise NotIndexed(f"verification over {protocol}")
        vtype = body.get("type", body.get("verificationType", 0))  # Hubble: verificationType
        values = (mtype, _hex(_field(body, "address", w), f"{w}.address", size=20), protocol,
                  _b64(_field(body, "claimSignature", w), f"{w}.claimSignature"),
                  _hex(_field(body, "blockHash", w), f"{w}.blockHash", optional=True),
                  _int(vtype, f"{w}.type"), _int(body.get("chainId", 0), f"{w}.chainId"))
    elif mtype == VERIFICATION_REMOVE:
        body = _field(data, "verificationRemoveBody", w)
        w += ".verificationRemoveBody"
        protocol = _str(body.get("protocol", "PROTOCOL_ETHEREUM"), f"{w}.protocol")
        if protocol != "PROTOCOL_ETHEREUM":
            raise NotIndexed(f"verification remove over {protocol}")
        values = (mtype, _hex(_field(body, "address", w), f"{w}.address", size=20), protocol, None, None, None, None)
    else:  # USER_DATA_ADD
        body = _field(data, "userDataBody", w)
        w += ".userDataBody"
        values = (_str(_field(body, "type", w), f"{w}.type"), _str(_field(body, "value", w), f"{w}.value"))
    return ParsedMessage(msg_hash, fid, mtype, TABLE_OF_TYPE[mtype], values, ts, signer)


def parse_indexed(obj: Any, where: str = "message", skipped: Counter | None = None) -> ParsedMessage | None:
    """parse_message, or None for a valid message of a kind that is not indexed (counted in
    ``skipped`` as ``message:<kind>``)."""
    try:
        return parse_message(obj, where)
    except NotIndexed as exc:
        if skipped is not None:
            skipped[f"message:{exc}"] += 1
        return None


def _canonical_request_fid(m: bytes) -> int | None:
    """requestFid of metadata in the canonical ABI layout of (uint256, address, bytes, uint256)
    - the tuple's offset, its four head words, the bytes' length, the bytes zero-padded - or
    None for any other layout, which eth_abi then decodes (or rejects). eth_abi takes ~0.1 ms
    a call: most of a poll's time on a stream of signer adds."""
    if len(m) < 192 or m[:32] != _WORD_0X20 or m[64:76] != _ZERO_12 or m[96:128] != _WORD_0X80:
        return None
    length = int.from_bytes(m[160:192], "big")
    padded = -(-length // 32) * 32
    if len(m) != 192 + padded or m[192 + length:].strip(b"\0"):
        return None
    return int.from_bytes(m[32:64], "big")


_WORD_0X20, _WORD_0X80, _ZERO_12 = (32).to_bytes(32, "big"), (128).to_bytes(32, "big"), bytes(12)


def decode_request_fid(metadata: bytes, where: str) -> int:
    """The client app fid of a signer add: ABI SignedKeyRequestMetadata.requestFid."""
    fast = _canonical_request_fid(metadata)
    if fast is not None:
        return fast
    try:
        request_fid, _signer, _sig, _deadline = abi_decode(SIGNED_KEY_REQUEST, metadata)[0]
    except (DecodingError, ValueError, TypeError, OverflowError, IndexError) as exc:  # a huge length: OverflowError
        raise HubDataError(f"{where}: undecodable SignedKeyRequestMetadata ({exc})") from None
    return int(request_fid)


@dataclass(frozen=True, slots=True)
class ParsedOnChainEvent:
    event_type: str
    chain_id: int
    block_number: int
    block_hash: bytes
    block_timestamp: datetime
    transaction_hash: bytes
    log_index: int
    fid: int
    tx_index: int | None
    body: str  # JSON of the type-specific body, as the hub sent it
    signer_key: bytes | None
    signer_event_type: str | None
    request_fid: int | None

    @property
    def is_signer_add(self) -> bool:
        return self.event_type == "EVENT_TYPE_SIGNER" and self.signer_event_type == "SIGNER_EVENT_TYPE_ADD"


_ONCHAIN_BODIES = ("signerEventBody", "signerMigratedEventBody", "idRegisterEventBody", "storageRentEventBody",
                   "tierPurchaseEventBody", "tier_purchase_event_body", "channelRegisterEventBody")


def parse_onchain_event(obj: Any, where: str = "onChainEvent") -> ParsedOnChainEvent:
    etype = _str(_field(obj, "type", where), f"{where}.type")
    body_key = next((k for k in _ONCHAIN_BODIES if obj.get(k) is not None), None)
    body = obj.get(body_key) if body_key else {}
    signer_key = signer_event_type = request_fid = None
    if etype == "EVENT_TYPE_SIGNER":
        sb = _field(obj, "signerEventBody", where)
        w = f"{where}.signerEventBody"
        signer_key = _hex(_field(sb, "key", w), f"{w}.key")
        signer_event_type = _str(_field(sb, "eventType", w), f"{w}.eventType")
        metadata = sb.get("metadata")
        # metadataType 1 = SignedKeyRequestMetadata (validated on chain); others carry no requestFid.
        if signer_event_type == "SIGNER_EVENT_TYPE_ADD" and metadata and sb.get("metadataType", 1) == 1:
            request_fid = decode_request_fid(_b64(metadata, f"{w}.metadata"), f"{w}.metadata")
    tx_index = obj.get("txIndex")
    return ParsedOnChainEvent(
        etype, _int(_field(obj, "chainId", where), f"{where}.chainId"),
        _int(_field(obj, "blockNumber", where), f"{where}.blockNumber"),
        _hex(_field(obj, "blockHash", where), f"{where}.blockHash"),
        datetime.fromtimestamp(_int(_field(obj, "blockTimestamp", where), f"{where}.blockTimestamp"), tz=timezone.utc),
        _hex(_field(obj, "transactionHash", where), f"{where}.transactionHash"),
        _int(_field(obj, "logIndex", where), f"{where}.logIndex"),
        _int(_field(obj, "fid", where), f"{where}.fid"),
        None if tx_index is None else _int(tx_index, f"{where}.txIndex"),
        json.dumps({"type": body_key, **(body if isinstance(body, dict) else {})}, ensure_ascii=False),
        signer_key, signer_event_type, request_fid)


@dataclass(frozen=True, slots=True)
class ParsedUsernameProof:
    name: str
    timestamp: int
    fid: int
    owner: bytes
    signature: bytes
    proof_type: str


def parse_username_proof(obj: Any, where: str = "usernameProof") -> ParsedUsernameProof:
    return ParsedUsernameProof(
        _str(_field(obj, "name", where), f"{where}.name"), _int(_field(obj, "timestamp", where), f"{where}.timestamp"),
        _int(_field(obj, "fid", where), f"{where}.fid"), _hex(_field(obj, "owner", where), f"{where}.owner"),
        _b64(_field(obj, "signature", where), f"{where}.signature"),
        _str(obj.get("type", "USERNAME_TYPE_FNAME"), f"{where}.type"))


# --- gasless signers (engine V16): KEY_ADD / KEY_REMOVE messages and /v1/signersByFid ------------
# Stored like on-chain signer events (farcaster_onchain_events): event_type EVENT_TYPE_SIGNER,
# chain_id 0 (off-chain), no block; the row's identity is (key, 2 * nonce [+ 1 for a remove]) -
# the same whether the realtime path (a KEY_ADD message) or a scan (signersByFid) finds it.
KEY_MESSAGE_TYPES = ("MESSAGE_TYPE_KEY_ADD", "MESSAGE_TYPE_KEY_REMOVE")
OFFCHAIN_CHAIN_ID = 0


def key_message_request_fid(body: Any, where: str) -> int | None:
    """requestFid of a KEY_ADD's keyAddBody (metadata is 0x-hex here, unlike on chain)."""
    if not isinstance(body, dict) or not body.get("metadata") or body.get("metadataType", 1) != 1:
        return None
    raw = _hex(body["metadata"], f"{where}.metadata")
    return decode_request_fid(raw, f"{where}.metadata") if raw else None


def _gasless_row(fid: int, key: bytes, nonce: int, removal: bool, ts: int, body: dict,
                 request_fid: int | None) -> ParsedOnChainEvent:
    return ParsedOnChainEvent(
        "EVENT_TYPE_SIGNER", OFFCHAIN_CHAIN_ID, 0, b"", fc_time(ts), key, 2 * nonce + int(removal), fid, None,
        json.dumps(body, ensure_ascii=False), key, "SIGNER_EVENT_TYPE_REMOVE" if removal else "SIGNER_EVENT_TYPE_ADD",
        request_fid)


def parse_key_message(obj: Any, where: str = "message") -> ParsedOnChainEvent:
    """A KEY_ADD or KEY_REMOVE message as a signer event row."""
    data = _field(obj, "data", where)
    mtype = _str(_field(data, "type", f"{where}.data"), f"{where}.data.type")
    fid = _int(_field(data, "fid", f"{where}.data"), f"{where}.data.fid")
    ts = _int(_field(data, "timestamp", f"{where}.data"), f"{where}.data.timestamp")
    msg_hash = _hex(_field(obj, "hash", where), f"{where}.hash", size=20)
    removal = mtype == "MESSAGE_TYPE_KEY_REMOVE"
    key_name = "keyRemoveBody" if removal else "keyAddBody"
    w = f"{where}.data.{key_name}"
    body = _field(data, key_name, f"{where}.data")
    key = _hex(_field(body, "key", w), f"{w}.key", size=32)
    nonce = _int(_field(body, "nonce", w), f"{w}.nonce")
    request_fid = None if removal else key_message_request_fid(body, w)
    kept = {"type": key_name, "source": "SIGNER_SOURCE_OFFCHAIN", "messageHash": "0x" + msg_hash.hex(),
            **{k: body[k] for k in ("keyType", "deadline", "nonce", "scopes", "ttl", "signatureType") if k in body}}
    if request_fid is not None:
        kept["requestFid"] = request_fid
    return _gasless_row(fid, key, nonce, removal, ts, kept, request_fid)


def parse_signer(obj: Any, where: str = "signer") -> ParsedOnChainEvent | None:
    """One /v1/signersByFid entry: an on-chain one as its on-chain event, a gasless one as a
    signer event row; None for a source this code does not know."""
    source = _field(obj, "source", where)
    if source == "SIGNER_SOURCE_ONCHAIN":
        return parse_onchain_event(_field(obj, "onChainEvent", where), f"{where}.onChainEvent")
    if source != "SIGNER_SOURCE_OFFCHAIN":
        return None
    fid = _int(_field(obj, "fid", where), f"{where}.fid")
    key = _hex(_field(obj, "key", where), f"{where}.key", size=32)
    nonce = _int(_field(obj, "nonce", where), f"{where}.nonce")
    request_fid = obj.get("requestFid")
    if request_fid is not None:
        request_fid = _int(request_fid, f"{where}.requestFid")
    added = _int(obj.get("addedAt", 0), f"{where}.addedAt")
    kept = {"type": "keyAddBody", "source": source, "nonce": nonce,
            **{k: obj[k] for k in ("keyType", "scopes", "ttl", "addedAt", "expiresAt", "requestFid") if k in obj}}
    return _gasless_row(fid, key, nonce, False, added, kept, request_fid)
