"""Backfill: a fid's whole history from the per-fid endpoints, in large batched writes.

Requests are durable rows (farcaster_backfill_requests); a partial unique index allows one
pending or running request per fid, so a fid already waiting or running is never enqueued
twice, whoever asks (graph expansion, CLI, reconciliation). The Celery message only carries
the request id: if Redis loses it, recovery re-sends requests left pending or running.
"""
from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
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


def stranded_requests(conn: Connection, older_than_seconds: float,
                      running_limit_seconds: float) -> list[tuple[int, int]]:
    """Open requests whose message may be lost (Redis flushed): pending and not sent recently,
    or running for longer than ``running_limit_seconds`` (the backfill pool's hard time limit,
    after which its worker is gone) plus the staleness threshold."""
    rows = conn.execute(text("""
        SELECT id, fid FROM farcaster_backfill_requests
        WHERE (state = 'pending' AND COALESCE(sent_at, requested_at) < now() - make_interval(secs => :age))
           OR (state = 'running' AND COALESCE(sent_at, started_at) < now() - make_interval(secs => :age + :limit))
        ORDER BY id LIMIT 10000
    """), {"age": older_than_seconds, "limit": running_limit_seconds}).all()
    return [(r.id, r.fid) for r in rows]


def open_requests(conn: Connection) -> list[tuple[int, int]]:
    rows = conn.execute(text("SELECT id, fid FROM farcaster_backfill_requests WHERE state IN ('pending', 'running') ORDER BY id"))
    return [(r.id, r.fid) for r in rows]


def claim(engine: Engine, request_ids: list[int]) -> list[tuple[int, int]]:
    """Mark these requests running, all in one statement; returns the (id, fid)s still open.
    A request already done or failed is left out: its message was a redelivery."""
    if not request_ids:
        return []
    with engine.begin() as conn:
        rows = conn.execute(text("""
            UPDATE farcaster_backfill_requests SET state = 'running', started_at = now()
            WHERE id = ANY(:i) AND state IN ('pending', 'running') RETURNING id, fid
        """), {"i": sorted(set(request_ids))}).all()
    return sorted((r.id, r.fid) for r in rows)


def finish(engine: Engine, request_id: int | None, fid: int, stats: "BackfillStats", error: str | None = None) -> None:
    with engine.begin() as conn:
        finish_in(conn, [(request_id, fid, stats)], error)


def finish_in(conn: Connection, done: list[tuple[int | None, int, "BackfillStats"]], error: str | None = None) -> None:
    """Close requests in the caller's transaction (a backfill closes a batch of fids in the
    transaction that wrote their last rows)."""
    leases.fence(conn)  # a stale owner must not mark done (or failed) what its successor runs
    closed = [(r, s) for r, _, s in done if r is not None]
    if closed:
        conn.execute(text("""
            UPDATE farcaster_backfill_requests r SET state = :state, finished_at = now(),
                pages = u.pages, messages = u.messages, error = :error
            FROM unnest(CAST(:i AS bigint[]), CAST(:p AS int[]), CAST(:m AS int[])) AS u(id, pages, messages)
            WHERE r.id = u.id
        """), {"state": "failed" if error else "done", "error": error, "i": [r for r, _ in closed],
               "p": [s.pages for _, s in closed], "m": [s.messages for _, s in closed]})
    if not error and done:
        conn.execute(text("UPDATE farcaster_targets SET last_backfilled_at = now() WHERE fid = ANY(:f)"),
                     {"f": sorted({f for _, f, _ in done})})


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


@dataclass
class FidBackfill:
    """One fid of a multi-fid backfill: its request, counters and outcome."""

    fid: int
    request_id: int | None = None
    stats: BackfillStats = field(default_factory=BackfillStats)
    streams_left: int = 0
    error: BaseException | None = None

    @property
    def fetched(self) -> bool:
        return self.streams_left == 0


class _Sink:
    """Pages from the hub threads to the writing thread, bounded (memory stays flat whatever
    a fid's size); a stopped sink lets producers give up instead of blocking for ever."""

    def __init__(self, size: int) -> None:
        self.items: queue.Queue = queue.Queue(size)
        self.stopped = threading.Event()

    def put(self, item: tuple) -> None:
        while not self.stopped.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def _streams(client: HubClient, fid: int) -> list[Callable[[_Sink], None]]:
    """Every request sequence of one fid's history, each an independent pager (so they run
    side by side): the message endpoints, each on-chain event kind, the gasless signers, the
    username proofs."""

    def messages(path: str, extra: dict) -> Callable[[_Sink], None]:
        def run(sink: _Sink) -> None:
            for items in client.paged(path, "messages", fid=fid, **extra):
                if sink.stopped.is_set():
                    return
                skipped: Counter = Counter()
                parsed = [p for i, m in enumerate(items)
                          if (p := parse_indexed(m, f"{path}?fid={fid}[{i}]", skipped)) is not None]
                for m in parsed:
                    if m.fid != fid:
                        raise HubDataError(f"{path}?fid={fid}: message {m.hash.hex()} is by fid {m.fid}")
                sink.put((fid, "messages", (parsed, skipped)))
        return run

    def onchain(event_type: str) -> Callable[[_Sink], None]:
        def run(sink: _Sink) -> None:
            for items in client.paged("/v1/onChainEventsByFid", "events", fid=fid, event_type=event_type):
                if sink.stopped.is_set():
                    return
                sink.put((fid, "onchain", [parse_onchain_event(e, f"onChainEventsByFid?fid={fid}[{i}]")
                                           for i, e in enumerate(items)]))
        return run

    def gasless_signers(sink: _Sink) -> None:  # no on-chain event lists them
        sink.put((fid, "onchain", [s for s in signers_of(client, fid) or () if s.chain_id == OFFCHAIN_CHAIN_ID]))

    def proofs(sink: _Sink) -> None:
        found = client.get("/v1/userNameProofsByFid", fid=fid).get("proofs")
        if not isinstance(found, list):
            raise HubDataError(f"userNameProofsByFid?fid={fid}: response without a 'proofs' list")
        sink.put((fid, "proofs", [parse_username_proof(p, f"userNameProofsByFid?fid={fid}[{i}]")
                                  for i, p in enumerate(found)]))

    return ([messages(path, extra) for path, extra in MESSAGE_ENDPOINTS]
            + [onchain(t) for t in ONCHAIN_EVENT_TYPES] + [gasless_signers, proofs])


def _run_stream(stream: Callable[[_Sink], None], sink: _Sink, fid: int) -> None:
    if sink.stopped.is_set():
        return
    try:
        stream(sink)
    except BaseException as exc:  # noqa: BLE001 - handed to the writing thread, which decides
        sink.put((fid, "error", exc))
    sink.put((fid, "end", None))


def backfill_fids(engine: Engine, client: HubClient, fids: list[FidBackfill], *, write_batch_rows: int = 5000,
                  fids_in_flight: int = 8,
                  on_page: Callable[[BackfillStats], None] | None = None,
                  on_applied: Callable[[processor.ApplyResult], None] | None = None,
                  on_stored: Callable[[Connection, list[FidBackfill]], None] | None = None,
                  reason: str = "backfill") -> BackfillStats:
    """Page every endpoint of each fid to its end and store it all in few large writes.

    ``fids_in_flight`` fids are fetched at a time, each fid's request sequences side by side
    on the hub threads (app.farcaster.inflight), which also parse. Rows of many fids go into
    one batch, applied in one transaction (one COPY per table) once it holds
    ``write_batch_rows`` rows or every fid is fetched, on a writer thread while the next batch
    fills. ``on_stored`` runs in the transaction that wrote a fid's last rows, with the fids
    that became complete in it (the caller closes their requests there). Each write is
    idempotent, so a crash or retry part-way only repeats work; a malformed page stores nothing
    of itself. A fid whose requests fail gets ``error`` set (what it fetched since the last
    write is dropped, and its later pages) and the rest carry on.
    Returns the totals (pages, messages, and the target changes of every write)."""
    from app.farcaster import inflight

    if len({w.fid for w in fids}) != len(fids):
        raise ValueError("backfill_fids: a fid is listed twice")
    total = BackfillStats()
    sink = _Sink(max(4, 2 * fids_in_flight))
    waiting = list(reversed(fids))
    active: dict[int, FidBackfill] = {}
    fetched: list[FidBackfill] = []  # complete, waiting for the write that holds their last rows
    batch = Batch()

    def start_next() -> None:
        while waiting and len(active) < fids_in_flight:
            work = waiting.pop()
            streams = _streams(client, work.fid)
            work.streams_left = len(streams)
            active[work.fid] = work
            for stream in streams:
                inflight.submit(_run_stream, stream, sink, work.fid)

    # Writes run on one writer thread, one after the other, while this thread keeps taking pages
    # (the hub threads are never held up by a write); their results are handled here.
    writer = ThreadPoolExecutor(1, thread_name_prefix="backfill-writer")
    writing: Future | None = None

    def write(rows: Batch, done: list[FidBackfill]) -> processor.ApplyResult | None:
        with engine.begin() as conn:
            result = processor.apply_batch(conn, rows, reason=reason) if len(rows) else None
            skipped_kinds.record(conn, rows.skipped, f"{reason} of {len(fids)} fids from fid {fids[0].fid}")
            if on_stored and done:
                on_stored(conn, done)
        return result

    def collect() -> None:
        nonlocal writing
        if writing is None:
            return
        result, writing = writing.result(), None
        if result is not None:
            total.backfill_requests += result.backfill_requests
            total.targets_added |= result.targets.added
            total.roots_added |= result.targets.new_roots
            total.targets_removed |= result.targets.removed
            if on_applied:
                on_applied(result)

    def flush() -> None:
        nonlocal batch, fetched, writing
        done = [w for w in fetched if w.error is None]
        rows, batch, fetched = batch, Batch(), []
        collect()
        if len(rows) or done or rows.skipped:
            # In this task's context: the writer's transactions are fenced by its lease.
            writing = writer.submit(contextvars.copy_context().run, write, rows, done)

    try:
        start_next()
        while active:
            fid, kind, payload = sink.items.get()
            work = active[fid]
            if kind == "end":
                work.streams_left -= 1
                if work.fetched:
                    del active[fid]
                    fetched.append(work)
                    start_next()
                    if not active:
                        break
                continue
            if work.error is not None:
                continue  # the fid failed: the rest of its pages are not stored
            if kind == "error":
                work.error = payload
                log.warning("backfill of fid %s failed: %s", fid, payload)
                _drop_fid(batch, fid)  # what it fetched since the last write: none of it is stored
                continue
            if kind == "messages":
                parsed, skipped = payload
                for m in parsed:
                    batch.add_message(m)
                    work.stats.seen_hashes.add(m.hash)
                batch.skipped.update(skipped)
                work.stats.messages += len(parsed)
                total.messages += len(parsed)
            elif kind == "onchain":
                batch.onchain.extend(payload)
                work.stats.onchain_events += len(payload)
            else:
                batch.proofs.extend(payload)
                work.stats.username_proofs += len(payload)
            work.stats.pages += 1
            total.pages += 1
            if on_page:
                on_page(total)
            if len(batch) >= write_batch_rows:
                flush()
        flush()
        collect()
    finally:
        sink.stopped.set()  # producers still running (an error here) stop instead of blocking
        writer.shutdown(wait=True)
    return total


def _drop_fid(batch: Batch, fid: int) -> None:
    batch.messages = {h: m for h, m in batch.messages.items() if m.fid != fid}
    batch.onchain = [e for e in batch.onchain if e.fid != fid]
    batch.proofs = [p for p in batch.proofs if p.fid != fid]


def fetch_and_store(engine: Engine, client: HubClient, fid: int, *, write_batch_rows: int = 5000,
                    on_page: Callable[[BackfillStats], None] | None = None,
                    on_applied: Callable[[processor.ApplyResult], None] | None = None,
                    reason: str = "backfill") -> BackfillStats:
    """One fid's whole history (``backfill_fids`` of one); raises what its requests raised."""
    work = FidBackfill(fid)
    total = backfill_fids(engine, client, [work], write_batch_rows=write_batch_rows, on_page=on_page,
                          on_applied=on_applied, reason=reason)
    if work.error is not None:
        raise work.error
    total.seen_hashes = work.stats.seen_hashes
    total.onchain_events, total.username_proofs = work.stats.onchain_events, work.stats.username_proofs
    return total
