"""Hand-written protobuf encoder for Farcaster ``MessageData``.

The hash of a message is BLAKE3-20 over these exact bytes, so the encoding must be the one
real clients produce. We follow ts-proto (``@farcaster/core``), which wrote the reference
samples: fields in declaration order, proto3 defaults skipped, packed repeated fields
(``mentions``, ``mentionsPositions``) always written, even when empty.
"""
from __future__ import annotations

# MessageType
CAST_ADD, CAST_REMOVE, REACTION_ADD, REACTION_REMOVE = 1, 2, 3, 4
LINK_ADD, LINK_REMOVE = 5, 6
VERIFICATION_ADD_ETH_ADDRESS, VERIFICATION_REMOVE = 7, 8
USER_DATA_ADD, USERNAME_PROOF = 11, 12
KEY_ADD, KEY_REMOVE = 16, 17  # gasless signers (engine V16)

MESSAGE_TYPE_NAMES = {
    CAST_ADD: "MESSAGE_TYPE_CAST_ADD",
    CAST_REMOVE: "MESSAGE_TYPE_CAST_REMOVE",
    REACTION_ADD: "MESSAGE_TYPE_REACTION_ADD",
    REACTION_REMOVE: "MESSAGE_TYPE_REACTION_REMOVE",
    LINK_ADD: "MESSAGE_TYPE_LINK_ADD",
    LINK_REMOVE: "MESSAGE_TYPE_LINK_REMOVE",
    VERIFICATION_ADD_ETH_ADDRESS: "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS",
    VERIFICATION_REMOVE: "MESSAGE_TYPE_VERIFICATION_REMOVE",
    USER_DATA_ADD: "MESSAGE_TYPE_USER_DATA_ADD",
    USERNAME_PROOF: "MESSAGE_TYPE_USERNAME_PROOF",
    KEY_ADD: "MESSAGE_TYPE_KEY_ADD",
    KEY_REMOVE: "MESSAGE_TYPE_KEY_REMOVE",
}
MESSAGE_TYPES_BY_NAME = {v: k for k, v in MESSAGE_TYPE_NAMES.items()}

MAINNET = 1
REACTION_LIKE, REACTION_RECAST = 1, 2
REACTION_TYPE_NAMES = {REACTION_LIKE: "REACTION_TYPE_LIKE", REACTION_RECAST: "REACTION_TYPE_RECAST"}
CAST_TYPE_NAMES = {0: "CAST", 1: "LONG_CAST", 2: "TEN_K_CAST"}
PROTOCOL_NAMES = {0: "PROTOCOL_ETHEREUM", 1: "PROTOCOL_SOLANA"}
USER_DATA_TYPE_NAMES = {
    1: "USER_DATA_TYPE_PFP", 2: "USER_DATA_TYPE_DISPLAY", 3: "USER_DATA_TYPE_BIO",
    5: "USER_DATA_TYPE_URL", 6: "USER_DATA_TYPE_USERNAME", 7: "USER_DATA_TYPE_LOCATION",
    8: "USER_DATA_TYPE_TWITTER", 9: "USER_DATA_TYPE_GITHUB", 10: "USER_DATA_TYPE_BANNER",
    11: "USER_DATA_PRIMARY_ADDRESS_ETHEREUM", 12: "USER_DATA_PRIMARY_ADDRESS_SOLANA",
}

# MessageData field numbers of each body (message.proto)
BODY_FIELD = {
    CAST_ADD: 5, CAST_REMOVE: 6, REACTION_ADD: 7, REACTION_REMOVE: 7,
    VERIFICATION_ADD_ETH_ADDRESS: 9, VERIFICATION_REMOVE: 10, USER_DATA_ADD: 12,
    LINK_ADD: 14, LINK_REMOVE: 14, KEY_ADD: 19, KEY_REMOVE: 20,
}


_SMALL = [bytes([i]) for i in range(128)]


def varint(n: int) -> bytes:
    if n < 128:
        return _SMALL[n]
    if n < 16384:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_KEYS = {(f, w): varint(f << 3 | w) for f in range(1, 32) for w in (0, 2)}


def _key(field: int, wire: int) -> bytes:
    return _KEYS[field, wire]


def _uint(field: int, value: int) -> bytes:
    return _key(field, 0) + varint(value) if value else b""


def _bytes(field: int, value: bytes, always: bool = False) -> bytes:
    if not value and not always:
        return b""
    return _key(field, 2) + varint(len(value)) + value


def _str(field: int, value: str, always: bool = False) -> bytes:
    return _bytes(field, value.encode("utf-8"), always)


def _packed(field: int, values) -> bytes:
    payload = b"".join(varint(v) for v in values)
    return _key(field, 2) + varint(len(payload)) + payload


def cast_id(fid: int, hash_: bytes) -> bytes:
    return _uint(1, fid) + _bytes(2, hash_)


def encode_body(mtype: int, body: dict) -> bytes:
    """Encode the body message of ``mtype`` (see ``model.Message`` for the body dict keys)."""
    if mtype == CAST_ADD:
        out = b"".join(_str(1, e, True) for e in body["embeds_deprecated"])
        out += _packed(2, body["mentions"])
        if body["parent_cast_id"] is not None:
            out += _bytes(3, cast_id(*body["parent_cast_id"]), True)
        elif body["parent_url"] is not None:
            out += _str(7, body["parent_url"], True)
        out += _str(4, body["text"])
        out += _packed(5, body["mentions_positions"])
        for kind, value in body["embeds"]:
            inner = _str(1, value, True) if kind == "url" else _bytes(2, cast_id(*value), True)
            out += _bytes(6, inner, True)
        return out + _uint(8, body["type"])
    if mtype == CAST_REMOVE:
        return _bytes(1, body["target_hash"])
    if mtype in (REACTION_ADD, REACTION_REMOVE):
        out = _uint(1, body["type"])
        if body.get("target_cast_id") is not None:
            return out + _bytes(2, cast_id(*body["target_cast_id"]), True)
        return out + _str(3, body["target_url"], True)
    if mtype in (LINK_ADD, LINK_REMOVE):
        out = _str(1, body["type"])
        if body.get("display_timestamp") is not None:
            out += _key(2, 0) + varint(body["display_timestamp"])
        return out + _key(3, 0) + varint(body["target_fid"])
    if mtype == VERIFICATION_ADD_ETH_ADDRESS:
        return (_bytes(1, body["address"]) + _bytes(2, body["claim_signature"])
                + _bytes(3, body["block_hash"]) + _uint(4, body["verification_type"])
                + _uint(5, body["chain_id"]) + _uint(7, body["protocol"]))
    if mtype == VERIFICATION_REMOVE:
        return _bytes(1, body["address"]) + _uint(2, body["protocol"])
    if mtype == USER_DATA_ADD:
        return _uint(1, body["type"]) + _str(2, body["value"])
    if mtype == KEY_ADD:  # KeyAddBody (message.proto)
        return (_bytes(1, body["key"]) + _uint(2, body["key_type"]) + _bytes(3, body["custody_signature"])
                + _uint(4, body["deadline"]) + _uint(5, body["nonce"]) + _bytes(6, body["metadata"])
                + _uint(7, body["metadata_type"]) + _bytes(8, body["registration_tx_hash"])
                + (_packed(9, body["scopes"]) if body["scopes"] else b"") + _uint(10, body["ttl"]))
    if mtype == KEY_REMOVE:  # KeyRemoveBody
        return (_bytes(1, body["key"]) + _bytes(2, body["signature"]) + _uint(3, body["signature_type"])
                + _uint(4, body["deadline"]) + _uint(5, body["nonce"]))
    raise ValueError(f"unsupported message type {mtype}")


def encode_message_data(mtype: int, fid: int, timestamp: int, body: dict, network: int = MAINNET) -> bytes:
    """The ``MessageData`` protobuf bytes that are hashed and signed."""
    body_bytes = encode_body(mtype, body)
    return (_uint(1, mtype) + _uint(2, fid) + _uint(3, timestamp) + _uint(4, network)
            + _key(BODY_FIELD[mtype], 2) + varint(len(body_bytes)) + body_bytes)
