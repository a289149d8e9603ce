"""A batch of parsed hub data to apply in one transaction: messages with their final state in
the batch, on-chain events and username proofs. Built from hub events (realtime) or from
per-fid pages (backfill, reconciliation); parsing happens entirely before any write."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.farcaster.messages import (HubDataError, ParsedMessage, ParsedOnChainEvent, ParsedUsernameProof,
                                    parse_indexed, parse_onchain_event, parse_username_proof)


@dataclass
class Batch:
    messages: dict[bytes, ParsedMessage] = field(default_factory=dict)
    deleted_by: dict[bytes, bytes] = field(default_factory=dict)  # hash -> hash of the displacing message
    pruned: set[bytes] = field(default_factory=set)
    revoked: set[bytes] = field(default_factory=set)
    onchain: list[ParsedOnChainEvent] = field(default_factory=list)
    proofs: list[ParsedUsernameProof] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages) + len(self.onchain) + len(self.proofs)

    def add_message(self, message: ParsedMessage) -> None:
        self.messages.setdefault(message.hash, message)

    def add_event(self, event: Any, where: str = "event") -> None:
        """Fold one HubEvent (JSON) in. BLOCK_CONFIRMED and unknown kinds carry nothing to store."""
        etype = event.get("type") if isinstance(event, dict) else None
        if etype == "HUB_EVENT_TYPE_MERGE_MESSAGE":
            body = _body(event, "mergeMessageBody", where)
            merged = parse_indexed(body.get("message"), f"{where}.mergeMessageBody.message")
            deleted = body.get("deletedMessages") or []
            if not isinstance(deleted, list):
                raise HubDataError(f"{where}.mergeMessageBody.deletedMessages: expected a list")
            if merged is None:
                return
            self.add_message(merged)
            for i, raw in enumerate(deleted):
                gone = parse_indexed(raw, f"{where}.mergeMessageBody.deletedMessages[{i}]")
                if gone is not None:
                    self.add_message(gone)
                    self.deleted_by.setdefault(gone.hash, merged.hash)
        elif etype == "HUB_EVENT_TYPE_PRUNE_MESSAGE":
            message = parse_indexed(_body(event, "pruneMessageBody", where).get("message"), f"{where}.pruneMessageBody")
            if message is not None:
                self.add_message(message)
                self.pruned.add(message.hash)
        elif etype == "HUB_EVENT_TYPE_REVOKE_MESSAGE":
            message = parse_indexed(_body(event, "revokeMessageBody", where).get("message"), f"{where}.revokeMessageBody")
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


def _body(event: dict, key: str, where: str) -> dict:
    body = event.get(key)
    if not isinstance(body, dict):
        raise HubDataError(f"{where}: {event.get('type')} without {key}")
    return body
