"""Which hub events concern the target set (checked against the Redis mirror in one round trip
per set and page). Relevant: a message by a target; a reply to, mention of, or reaction to a
target (its cast); a link to a target; an on-chain event or username proof of a target; a
signer add requested by a client app (decoded SignedKeyRequestMetadata.requestFid, not the
user's fid) - on chain, or a gasless KEY_ADD message (engine V16), whose metadata is the same. Prunes, revokes and deletedMessages follow the message they concern."""
from __future__ import annotations

import base64
from typing import Any

from app.farcaster.messages import HubDataError, decode_request_fid, key_message_request_fid
from app.farcaster.target_cache import APPS, TARGETS, TargetCache


def _message_fids(message: Any, where: str) -> list[int]:
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("fid"), int):
        raise HubDataError(f"{where}: message without data.fid")
    fids = [data["fid"]]
    cast = data.get("castAddBody")
    if isinstance(cast, dict):
        parent = cast.get("parentCastId")
        if isinstance(parent, dict) and isinstance(parent.get("fid"), int):
            fids.append(parent["fid"])
        fids += [m for m in cast.get("mentions") or () if isinstance(m, int)]
    reaction = data.get("reactionBody")
    if isinstance(reaction, dict):
        target = reaction.get("targetCastId")
        if isinstance(target, dict) and isinstance(target.get("fid"), int):
            fids.append(target["fid"])
    link = data.get("linkBody")
    if isinstance(link, dict) and isinstance(link.get("targetFid"), int):
        fids.append(link["targetFid"])
    return fids


def event_candidates(event: Any, where: str) -> tuple[list[int], int | None]:
    """(fids whose membership makes the event relevant, client app fid of a signer add)."""
    if not isinstance(event, dict):
        raise HubDataError(f"{where}: not a JSON object")
    etype = event.get("type")
    if etype == "HUB_EVENT_TYPE_MERGE_MESSAGE":
        body = event.get("mergeMessageBody") or {}
        message = body.get("message")
        fids = _message_fids(message, f"{where}.mergeMessageBody.message")
        data = message["data"] if isinstance(message, dict) else {}  # a dict: _message_fids checked it
        if data.get("type") == "MESSAGE_TYPE_KEY_ADD":  # a gasless signer: the app named in its metadata
            return fids, key_message_request_fid(data.get("keyAddBody"), f"{where}.keyAddBody")
        for d in body.get("deletedMessages") or ():
            fids += _message_fids(d, f"{where}.deletedMessages")
        return fids, None
    if etype in ("HUB_EVENT_TYPE_PRUNE_MESSAGE", "HUB_EVENT_TYPE_REVOKE_MESSAGE"):
        key = "pruneMessageBody" if etype == "HUB_EVENT_TYPE_PRUNE_MESSAGE" else "revokeMessageBody"
        return _message_fids((event.get(key) or {}).get("message"), f"{where}.{key}.message"), None
    if etype == "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT":
        onchain = (event.get("mergeOnChainEventBody") or {}).get("onChainEvent")
        if not isinstance(onchain, dict) or not isinstance(onchain.get("fid"), int):
            raise HubDataError(f"{where}: on-chain event without fid")
        app = None
        signer = onchain.get("signerEventBody")
        if onchain.get("type") == "EVENT_TYPE_SIGNER" and isinstance(signer, dict) \
                and signer.get("eventType") == "SIGNER_EVENT_TYPE_ADD" and signer.get("metadata") \
                and signer.get("metadataType", 1) == 1:
            try:
                raw = base64.b64decode(signer["metadata"], validate=True)
            except ValueError:
                raise HubDataError(f"{where}: signer metadata is not base64") from None
            app = decode_request_fid(raw, f"{where}.signerEventBody.metadata")
        return [onchain["fid"]], app
    if etype == "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF":
        body = event.get("mergeUsernameProofBody") or {}
        fids = [p["fid"] for p in (body.get("usernameProof"), body.get("deletedUsernameProof"))
                if isinstance(p, dict) and isinstance(p.get("fid"), int)]
        return fids, None
    return [], None  # BLOCK_CONFIRMED, merge failures, channel hints: nothing of a target's to store


def relevant_events(events: list[dict], cache: TargetCache) -> list[dict]:
    candidates = [event_candidates(e, f"event {e.get('id') if isinstance(e, dict) else '?'}") for e in events]
    cache.ensure()
    targets = cache.members(TARGETS, {f for fids, _ in candidates for f in fids})
    apps = cache.members(APPS, {a for _, a in candidates if a is not None})
    return [e for e, (fids, app) in zip(events, candidates)
            if (app is not None and app in apps) or any(f in targets for f in fids)]
