"""In-memory records of what a hub stores: signed messages, on-chain events, username proofs.

Body dicts use snake_case protobuf field names:
  CAST_ADD        embeds_deprecated, mentions, parent_cast_id (fid, hash)|None, parent_url|None,
                  text, mentions_positions, embeds [("url", str) | ("cast", (fid, hash))], type
  CAST_REMOVE     target_hash
  REACTION_*      type, target_cast_id (fid, hash)|None, target_url|None
  LINK_*          type, display_timestamp|None, target_fid
  VERIFICATION_ADD_ETH_ADDRESS  address, claim_signature, block_hash, verification_type, chain_id, protocol
  VERIFICATION_REMOVE           address, protocol
  USER_DATA_ADD   type, value
"""
from __future__ import annotations

from . import protobuf as pb
from .signing import Signer, message_hash

# Message states (ground truth)
ACTIVE, DELETED, PRUNED, REVOKED = "active", "deleted", "pruned", "revoked"


class Message:
    """A signed Farcaster message. Signature and JSON renderings are computed on first use."""

    __slots__ = ("fid", "type", "timestamp", "body", "data_bytes", "hash", "signer",
                 "_signature", "_json", "state", "deleted_by", "observed")

    def __init__(self, fid: int, mtype: int, timestamp: int, body: dict, signer: Signer):
        self.fid = fid
        self.type = mtype
        self.timestamp = timestamp
        self.body = body
        self.data_bytes = pb.encode_message_data(mtype, fid, timestamp, body)
        self.hash = message_hash(self.data_bytes)
        self.signer = signer
        self._signature = None
        self._json = {}
        self.state = ACTIVE
        self.deleted_by = None  # hash of the message that displaced this one
        self.observed = False   # appeared in a served event (so an indexer could have seen it)

    @property
    def signature(self) -> bytes:
        if self._signature is None:
            self._signature = self.signer.sign(self.hash)
        return self._signature

    @property
    def ts_hash(self) -> bytes:
        """Store ordering key: timestamp then hash, as the hub's tsHash."""
        return self.timestamp.to_bytes(4, "big") + self.hash

    def __repr__(self) -> str:
        return f"Message({pb.MESSAGE_TYPE_NAMES[self.type]}, fid={self.fid}, 0x{self.hash.hex()}, {self.state})"


class OnChainEvent:
    __slots__ = ("type", "chain_id", "block_number", "block_hash", "block_timestamp",
                 "transaction_hash", "log_index", "fid", "body", "tx_index", "version", "_json")

    # body: {"kind": "signer"|"id_register"|"storage_rent", ...fields}
    def __init__(self, etype: str, block_number: int, block_hash: bytes, block_timestamp: int,
                 transaction_hash: bytes, log_index: int, fid: int, body: dict, tx_index: int = 0):
        self.type = etype
        self.chain_id = 10
        self.block_number = block_number
        self.block_hash = block_hash
        self.block_timestamp = block_timestamp
        self.transaction_hash = transaction_hash
        self.log_index = log_index
        self.fid = fid
        self.body = body
        self.tx_index = tx_index
        self.version = 2
        self._json = {}

    @property
    def sort_key(self) -> bytes:
        return self.block_number.to_bytes(8, "big") + self.log_index.to_bytes(4, "big")


class UsernameProof:
    __slots__ = ("timestamp", "name", "owner", "signature", "fid", "type", "_json")

    def __init__(self, timestamp: int, name: str, owner: bytes, signature: bytes, fid: int,
                 ptype: str = "USERNAME_TYPE_FNAME"):
        self.timestamp = timestamp
        self.name = name
        self.owner = owner
        self.signature = signature
        self.fid = fid
        self.type = ptype
        self._json = {}


# HubEvent types
MERGE_MESSAGE, PRUNE_MESSAGE, REVOKE_MESSAGE = 1, 2, 3
MERGE_USERNAME_PROOF, MERGE_ON_CHAIN_EVENT, BLOCK_CONFIRMED = 6, 9, 11
RAW = -1  # an event given as its JSON fields (a type or field this simulator does not model)
HUB_EVENT_TYPE_NAMES = {
    MERGE_MESSAGE: "HUB_EVENT_TYPE_MERGE_MESSAGE", PRUNE_MESSAGE: "HUB_EVENT_TYPE_PRUNE_MESSAGE",
    REVOKE_MESSAGE: "HUB_EVENT_TYPE_REVOKE_MESSAGE", MERGE_USERNAME_PROOF: "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF",
    MERGE_ON_CHAIN_EVENT: "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT", BLOCK_CONFIRMED: "HUB_EVENT_TYPE_BLOCK_CONFIRMED",
}


class HubEvent:
    """One event of a shard's stream. ``payload`` depends on ``type``:
    MERGE_MESSAGE (message, [deleted messages]); PRUNE/REVOKE message; MERGE_ON_CHAIN_EVENT
    OnChainEvent; MERGE_USERNAME_PROOF (UsernameProof, replaced UsernameProof or None); BLOCK_CONFIRMED dict."""

    __slots__ = ("id", "type", "payload", "block_number", "shard", "hubble_id", "_json")

    def __init__(self, event_id: int, etype: int, payload, block_number: int, shard: int):
        self.id = event_id
        self.type = etype
        self.payload = payload
        self.block_number = block_number
        self.shard = shard
        self.hubble_id = 0
        self._json = {}
