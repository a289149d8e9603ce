"""Backfill: a fid's whole history from the per-fid endpoints, in large batched writes.

Requests are durable rows (farcaster_backfill_requests); a partial unique index allows one
pending or running request per fid, so a fid already waiting or running is never enqueued
twice, whoever asks (graph expansion, CLI, reconciliation). The Celery message only carries
the request id: if Redis loses it, recovery re-sends requests left pending or running.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from app.farcaster import processor
from app.farcaster import skipped as skipped_kinds
from app.farcaster.batch import Batch
from app.farcaster.hub_client import HubClient, HubRequestError
from app.farcaster.messages import (OFFCHAIN_CHAIN_ID, HubDataError, ParsedOnChainEvent, parse_indexed,
                                    parse_onchain_event, parse_signer, parse_username_proof)
from app.platform import leases

log = logging.getLogger(__name__)

# (path, list key, extra query): every message type and on-chain event kind, each paged to its end.
MESSAGE_ENDPOINTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/v1/castsByFid", {}),  # CastAdd and CastRemove
    ("/v1/reactionsByFid", {"reaction_type": "None"}),  # required on Snapchain; None = every type
    ("/v1/linksByFid", {}),
    ("/v1/verificationsByFid", {}),
    ("/v1/userDataByFid", {}),
)
ONCHAIN_EVENT_TYPES = ("EVENT_TYPE_SIGNER", "EVENT_TYPE_SIGNER_MIGRATED", "EVENT_TYPE_ID_REGISTER",
                       "EVENT_TYPE_STORAGE_RENT")


def signers_of(client: HubClient, fid: int) -> list[ParsedOnChainEvent] | None:
    """Every active signer of ``fid``, on-chain and gasless (``/v1/signersByFid``, engine V16),
    or None when the hub has no such endpoint (Hubble, older Snapchain)."""
    out: list[ParsedOnChainEvent] = []
    try:
        for items in client.paged("/v1/signersByFid", "signers", fid=fid):
            for i, item in enumerate(items):
                parsed = parse_signer(item, f"signersByFid?fid={fid}[{i}]")
                if parsed is not None:
                    out.append(parsed)
    except HubRequestError:
        return None
    return out


def request_backfills(conn: Connection, fids: Iterable[int], reason: str) -> list[tuple[int, int]]:
    """Record a pending request per fid unless one is already open; returns the new (id, fid)s."""
    fids = sorted(set(fids))
    if not fids:
        return []
    rows = conn.execute(text("""
        INSERT INTO farcaster_backfill_requests (fid, reason, state)
        SELECT f, :reason, 'pending' FROM unnest(CAST(:fids AS bigint[])) AS f
        ON CONFLICT (fid) WHERE state IN ('pending', 'running') DO NOTHING
        RETURNING id, fid
    """), {"fids": fids, "reason": reason[:64]}).all()
    return [(r.id, r.fid) for r in rows]


def mark_sent(engine: Engine, request_ids: list[int]) -> None:
    if request_ids:
        with engine.begin() as conn:
            conn.execute(text("UPDATE farcaster_backfill_requests SET sent_at = now() WHERE id = ANY(:i)"),
                         {"i": request_ids})


def stranded_requests(conn: Connection, older_than_seconds: float) -> list[tuple[int, int]]:
    """Open requests whose message may be lost (Redis flushed): pending and not sent recently,
    or running without finishing well past the pool's time limit."""
    rows = conn.execute(text("""
        SELECT id, fid FROM farcaster_backfill_requests
        WHERE (state = 'pending' AND COALESCE(sent_at, requested_at) < now() - make_interval(secs => :age))
           OR (state = 'running' AND COALESCE(sent_at, started_at) < now() - make_interval(secs => :age + 1800))
        ORDER BY id LIMIT 10000
    """), {"age": older_than_seconds}).all()
    return [(r.id, r.fid) for r in rows]


def open_requests(conn: Connection) -> list[tuple[int, int]]:
    rows = conn.execute(text("SELECT id, fid FROM farcaster_backfill_requests WHERE state IN ('pending', 'running') ORDER BY id"))
    return [(r.id, r.fid) for r in rows]


def claim(engine: Engine, request_id: int) -> int | None:
    """Mark a request running; returns its fid, or None if it is already done (a redelivery)."""
    with engine.begin() as conn:
        return conn.execute(text("""
            UPDATE farcaster_backfill_requests SET state = 'running', started_at = now()
            WHERE id = :i AND state IN ('pending', 'running') RETURNING fid
        """), {"i": request_id}).scalar()


def finish(engine: Engine, request_id: int | None, fid: int, stats: "BackfillStats", error: str | None = None) -> None:
    with engine.begin() as conn:
        leases.fence(conn)  # a stale owner must not mark done (or failed) what its successor runs
        if request_id is not None:
            conn.execute(text("""
                UPDATE farcaster_backfill_requests SET state = :state, finished_at = now(),
                    pages = :pages, messages = :messages, error = :error WHERE id = :i
            """), {"state": "failed" if error else "done", "pages": stats.pages, "messages": stats.messages,
                   "error": error, "i": request_id})
        if not error:
            conn.execute(text("UPDATE farcaster_targets SET last_backfilled_at = now() WHERE fid = :f"), {"f": fid})


@dataclass
class BackfillStats:
    pages: int = 0
    messages: int = 0
    onchain_events: int = 0
    username_proofs: int = 0
    seen_hashes: set[bytes] = field(default_factory=set)  # every message hash the hub listed (reconciliation)
    backfill_requests: list[tuple[int, int]] = field(default_factory=list)
    targets_added: set[int] = field(default_factory=set)
    targets_removed: set[int] = field(default_factory=set)
    roots_added: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"pages": self.pages, "messages": self.messages, "onchain_events": self.onchain_events,
                "username_proofs": self.username_proofs, "targets_added": len(self.targets_added),
                "targets_removed": len(self.targets_removed)}


def fetch_and_store(engine: Engine, client: HubClient, fid: int, *, write_batch_rows: int = 5000,
                    on_page: Callable[[BackfillStats], None] | None = None,
                    on_applied: Callable[[processor.ApplyResult], None] | None = None,
                    reason: str = "backfill") -> BackfillStats:
    """Page every endpoint of ``fid`` to its end, writing every ``write_batch_rows`` rows.

    Each write is its own transaction and idempotent, so a crash or retry part-way only
    repeats work. A malformed page raises before any of it is stored."""
    stats = BackfillStats()
    batch = Batch()

    def flush() -> None:
        nonlocal batch
        if len(batch) or batch.skipped:
            with engine.begin() as conn:
                result = processor.apply_batch(conn, batch, reason=reason)
                skipped_kinds.record(conn, batch.skipped, f"{reason} of fid {fid}")
            stats.backfill_requests += result.backfill_requests
            stats.targets_added |= result.targets.added
            stats.roots_added |= result.targets.new_roots
            stats.targets_removed |= result.targets.removed
            if on_applied:
                on_applied(result)
            batch = Batch()

    def page_done() -> None:
        stats.pages += 1
        if on_page:
            on_page(stats)
        if len(batch) >= write_batch_rows:
            flush()

    for path, extra in MESSAGE_ENDPOINTS:
        for items in client.paged(path, "messages", fid=fid, **extra):
            parsed = [p for i, m in enumerate(items)
                      if (p := parse_indexed(m, f"{path}?fid={fid}[{i}]", batch.skipped)) is not None]
            for m in parsed:
                if m.fid != fid:
                    raise HubDataError(f"{path}?fid={fid}: message {m.hash.hex()} is by fid {m.fid}")
                batch.add_message(m)
                stats.seen_hashes.add(m.hash)
            stats.messages += len(parsed)
            page_done()
    for event_type in ONCHAIN_EVENT_TYPES:
        for items in client.paged("/v1/onChainEventsByFid", "events", fid=fid, event_type=event_type):
            events = [parse_onchain_event(e, f"onChainEventsByFid?fid={fid}[{i}]") for i, e in enumerate(items)]
            batch.onchain.extend(events)
            stats.onchain_events += len(events)
            page_done()
    gasless = [s for s in signers_of(client, fid) or () if s.chain_id == OFFCHAIN_CHAIN_ID]
    batch.onchain.extend(gasless)  # gasless signers: no on-chain event lists them
    stats.onchain_events += len(gasless)
    page_done()
    proofs = client.get("/v1/userNameProofsByFid", fid=fid).get("proofs")
    if not isinstance(proofs, list):
        raise HubDataError(f"userNameProofsByFid?fid={fid}: response without a 'proofs' list")
    batch.proofs.extend(parse_username_proof(p, f"userNameProofsByFid?fid={fid}[{i}]") for i, p in enumerate(proofs))
    stats.username_proofs = len(proofs)
    page_done()
    flush()
    return stats
