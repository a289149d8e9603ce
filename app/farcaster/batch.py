"""A batch of parsed hub data to apply in one transaction: messages with their final state in
the batch, on-chain events and username proofs. Built from hub events (realtime) or from
per-fid pages (backfill, reconciliation); parsing happens entirely before any write.

Realtime stages a batch in its parsed, validated form (``to_staged``: JSON of row tuples,
bytes as hex, times as integer seconds) so the processor rebuilds it with ``from_staged``
without parsing and validating hub JSON a second time. Batches staged as raw hub events (a
JSON list, the earlier format) are still read."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from app.farcaster.messages import (KEY_MESSAGE_TYPES, TABLE_OF_TYPE, HubDataError, ParsedMessage,
                                    ParsedOnChainEvent, ParsedUsernameProof, parse_indexed, parse_key_message,
                                    parse_onchain_event, parse_username_proof)

STAGED_VERSION = 2
# Positions of bytes values (bytea columns) in ParsedMessage.values, by table.
_BYTES_AT = {"casts": (3,), "cast_removes": (0,), "reactions": (3,), "links": (), "verifications": (1, 3, 4),
             "user_data": ()}
_UTC = timezone.utc


@dataclass
class Batch:
    messages: dict[bytes, ParsedMessage] = field(default_factory=dict)
    deleted_by: dict[bytes, bytes] = field(default_factory=dict)  # hash -> hash of the displacing message
    pruned: set[bytes] = field(default_factory=set)
    revoked: set[bytes] = field(default_factory=set)
    onchain: list[ParsedOnChainEvent] = field(default_factory=list)
    proofs: list[ParsedUsernameProof] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # kinds not indexed (skipped.py); not staged

    def __len__(self) -> int:
        return len(self.messages) + len(self.onchain) + len(self.proofs)

    def add_message(self, message: ParsedMessage) -> None:
        self.messages.setdefault(message.hash, message)

    # --- the staged form ---------------------------------------------------------------------
    def to_staged(self, **extra: Any) -> str:
        """This batch as JSON text of validated rows (``extra`` keys are stored alongside)."""
        messages = []
        for m in self.messages.values():
            values = list(m.values)
            for i in _BYTES_AT[m.table]:
                if values[i] is not None:
                    values[i] = values[i].hex()
            messages.append([m.type, m.hash.hex(), m.fid, int(m.timestamp.timestamp()), m.signer.hex(), values])
        onchain = [[e.event_type, e.chain_id, e.block_number, e.block_hash.hex(), int(e.block_timestamp.timestamp()),
                    e.transaction_hash.hex(), e.log_index, e.fid, e.tx_index, e.body,
                    None if e.signer_key is None else e.signer_key.hex(), e.signer_event_type, e.request_fid]
                   for e in self.onchain]
        proofs = [[p.name, p.timestamp, p.fid, p.owner.hex(), p.signature.hex(), p.proof_type] for p in self.proofs]
        return orjson.dumps({"v": STAGED_VERSION, **extra, "messages": messages,
                             "deleted_by": {k.hex(): v.hex() for k, v in self.deleted_by.items()},
                             "pruned": [h.hex() for h in self.pruned], "revoked": [h.hex() for h in self.revoked],
                             "onchain": onchain, "proofs": proofs}).decode()

    @classmethod
    def from_staged(cls, doc: Any) -> "Batch":
        """Rebuild a batch from ``to_staged`` output (decoded JSON), trusting it: it was
        validated before it was staged. Raises ValueError for anything else."""
        if not isinstance(doc, dict) or doc.get("v") != STAGED_VERSION:
            raise ValueError(f"not a staged batch of version {STAGED_VERSION}: {str(doc)[:100]!r}")
        fromhex, fromts = bytes.fromhex, datetime.fromtimestamp
        batch = cls()
        messages = batch.messages
        for mtype, h, fid, ts, signer, values in doc["messages"]:
            table = TABLE_OF_TYPE[mtype]
            for i in _BYTES_AT[table]:
                if values[i] is not None:
                    values[i] = fromhex(values[i])
            raw = fromhex(h)
            messages[raw] = ParsedMessage(raw, fid, mtype, table, tuple(values), fromts(ts, _UTC), fromhex(signer))
        batch.deleted_by = {fromhex(k): fromhex(v) for k, v in doc["deleted_by"].items()}
        batch.pruned = {fromhex(h) for h in doc["pruned"]}
        batch.revoked = {fromhex(h) for h in doc["revoked"]}
        batch.onchain = [ParsedOnChainEvent(t, chain, block, fromhex(bhash), fromts(bts, _UTC), fromhex(tx), log, fid,
                                            txi, body, None if key is None else fromhex(key), set_type, request_fid)
                         for t, chain, block, bhash, bts, tx, log, fid, txi, body, key, set_type, request_fid
                         in doc["onchain"]]
        batch.proofs = [ParsedUsernameProof(name, ts, fid, fromhex(owner), fromhex(sig), ptype)
                        for name, ts, fid, owner, sig, ptype in doc["proofs"]]
        return batch

    def add_event(self, event: Any, where: str = "event") -> None:
        """Fold one HubEvent (JSON) in. BLOCK_CONFIRMED and unknown kinds carry nothing to store."""
        etype = event.get("type") if isinstance(event, dict) else None
        if etype == "HUB_EVENT_TYPE_MERGE_MESSAGE":
            body = _body(event, "mergeMessageBody", where)
            message = body.get("message")
            if _message_type(message) in KEY_MESSAGE_TYPES:  # a gasless signer: stored as a signer event
                self.onchain.append(parse_key_message(message, f"{where}.mergeMessageBody.message"))
                return
            merged = parse_indexed(message, f"{where}.mergeMessageBody.message", self.skipped)
            deleted = body.get("deletedMessages") or []
            if not isinstance(deleted, list):
                raise HubDataError(f"{where}.mergeMessageBody.deletedMessages: expected a list")
            if merged is None:
                return
            self.add_message(merged)
            for i, raw in enumerate(deleted):
                gone = parse_indexed(raw, f"{where}.mergeMessageBody.deletedMessages[{i}]", self.skipped)
                if gone is not None:
                    self.add_message(gone)
                    self.deleted_by.setdefault(gone.hash, merged.hash)
        elif etype == "HUB_EVENT_TYPE_PRUNE_MESSAGE":
            message = parse_indexed(_body(event, "pruneMessageBody", where).get("message"), f"{where}.pruneMessageBody",
                                    self.skipped)
            if message is not None:
                self.add_message(message)
                self.pruned.add(message.hash)
        elif etype == "HUB_EVENT_TYPE_REVOKE_MESSAGE":
            message = parse_indexed(_body(event, "revokeMessageBody", where).get("message"), f"{where}.revokeMessageBody",
                                    self.skipped)
            if message is not None:
                self.add_message(message)
                self.revoked.add(message.hash)
        elif etype == "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT":
            self.onchain.append(parse_onchain_event(_body(event, "mergeOnChainEventBody", where).get("onChainEvent"),
                                                    f"{where}.onChainEvent"))
        elif etype == "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF":
            body = _body(event, "mergeUsernameProofBody", where)
            if body.get("usernameProof"):
                self.proofs.append(parse_username_proof(body["usernameProof"], f"{where}.usernameProof"))
        elif etype is None:
            raise HubDataError(f"{where}: not a hub event: {str(event)[:200]!r}")


def _message_type(message: Any) -> Any:
    data = message.get("data") if isinstance(message, dict) else None
    return data.get("type") if isinstance(data, dict) else None


def _body(event: dict, key: str, where: str) -> dict:
    body = event.get(key)
    if not isinstance(body, dict):
        raise HubDataError(f"{where}: {event.get('type')} without {key}")
    return body
