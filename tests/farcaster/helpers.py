"""Farcaster test helpers: an in-process enqueue (domain tests without Celery) and the
comparison of the database with the simulator's ground truth."""
from __future__ import annotations

from collections import deque

from sqlalchemy import text

from app.farcaster.hub_client import HubClient
from app.farcaster.operations import Indexer
from app.farcaster.target_cache import TargetCache

TABLES = ("casts", "cast_removes", "reactions", "links", "verifications", "user_data")
HTTP_LISTED = {"MESSAGE_TYPE_CAST_ADD", "MESSAGE_TYPE_CAST_REMOVE", "MESSAGE_TYPE_REACTION_ADD", "MESSAGE_TYPE_LINK_ADD",
               "MESSAGE_TYPE_USER_DATA_ADD", "MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS"}


class InlineEnqueue:
    """Collects follow-up work; ``drain`` runs it in this process (what workers do)."""

    def __init__(self, chunk_fids: int = 7) -> None:
        self.work: deque = deque()
        self.chunk_fids = chunk_fids  # small slices: client-app discovery runs as several scans

    def backfill(self, request_id: int, fid: int) -> None:
        self.work.append(("backfill", request_id, fid))

    def apply_staged(self, batch_id: int) -> None:
        self.work.append(("apply", batch_id))

    def reconcile(self, fid: int) -> None:
        self.work.append(("reconcile", fid))

    def discover(self, app_fid: int) -> None:
        self.work.append(("discover", app_fid))

    def scan_app_users(self, app_fid: int, chunk: int) -> None:
        self.work.append(("scan_app_users", app_fid, chunk))

    def replay(self) -> None:
        self.work.append(("replay",))

    def drain(self, ix: Indexer) -> int:
        done = 0
        while self.work:
            item = self.work.popleft()
            if item[0] == "backfill":
                ix.run_backfill(item[2], item[1])
            elif item[0] == "apply":
                ix.apply_staged(item[1])
            elif item[0] == "discover":
                ix.discover_app_users(item[1], chunk_fids=self.chunk_fids)
            elif item[0] == "scan_app_users":
                ix.scan_app_users(item[1], item[2])
            elif item[0] == "reconcile":
                ix.reconcile(item[1])
            elif item[0] == "replay":
                ix.run_replays()
            done += 1
        return done


def make_indexer(engine, redis_client, hub_url: str, **client_kwargs) -> tuple[Indexer, InlineEnqueue]:
    enqueue = InlineEnqueue()
    client = HubClient(hub_url, attempts=client_kwargs.pop("attempts", 8), backoff_max=0.2, **client_kwargs)
    return Indexer(engine, TargetCache(engine, redis_client), enqueue, client_factory=lambda: client), enqueue


def db_states(engine, fids) -> dict[int, dict[str, tuple]]:
    """fid -> {"0x<hash>": (state, "0x<deleted_by>" or None)} over every message table."""
    out: dict[int, dict[str, tuple]] = {f: {} for f in fids}
    with engine.connect() as conn:
        for table in TABLES:
            for r in conn.execute(text(f"""
                SELECT fid, hash, deleted_by,
                       CASE WHEN pruned_at IS NOT NULL THEN 'pruned' WHEN revoked_at IS NOT NULL THEN 'revoked'
                            WHEN deleted_at IS NOT NULL THEN 'deleted' ELSE 'active' END AS state
                FROM farcaster_{table} WHERE fid = ANY(:f)
            """), {"f": list(fids)}):
                out[r.fid]["0x" + r.hash.hex()] = (r.state, "0x" + r.deleted_by.hex() if r.deleted_by else None)
    return out


def stream_message_hashes(hub, after_position: int = 0) -> set[str]:
    """Every message hash served in an event of a block after ``after_position`` (an indexer
    that started then may have seen these)."""
    seen = set()
    for log in hub.network.stream.shards.values():
        for ev in log.events:
            if ev.type in (1, 2, 3) and ev.block_number - log.base_height + 1 > after_position:
                payload = ev.payload
                msgs = [payload[0], *payload[1]] if ev.type == 1 else [payload]
                seen |= {"0x" + m.hash.hex() for m in msgs}
    return seen


def compare_with_truth(engine, truth, stream_hashes: set[str], watched_from_start: set[int] | None = None) -> list[str]:
    """Differences between the database and the ground truth, for every target fid.

    Active rows must match exactly, except removes of reactions and links from before the
    stream (no endpoint lists them). Every non-active row stored must have the truth's state
    (and displacing hash). Messages only an event showed (observable non-active ones, stream
    removes) are required for fids that were targets before the stream moved
    (``watched_from_start``); a fid that became a target later had them before it mattered."""
    watched = truth.targets if watched_from_start is None else watched_from_start
    problems: list[str] = []
    states = db_states(engine, truth.fids)
    for fid, ft in truth.fids.items():
        db = states[fid]
        db_active = {h for h, (s, _) in db.items() if s == "active"}
        seen = stream_hashes if fid in watched else set()
        expected_active = {h for h, t in ft.active.items() if t in HTTP_LISTED or h in seen}
        for h in sorted(expected_active - db_active):
            problems.append(f"fid {fid}: {ft.active[h]} {h} missing or not active (db: {db.get(h)})")
        for h in sorted(db_active - set(ft.active)):
            problems.append(f"fid {fid}: {h} active in db but {ft.types.get(h, 'unknown to the hub')}: "
                            f"deleted={ft.deleted.get(h)} pruned={h in ft.pruned} revoked={h in ft.revoked}")
        for h, (state, by) in db.items():
            if state == "deleted" and ft.deleted.get(h) != by:
                problems.append(f"fid {fid}: {h} deleted by {by}, truth {ft.deleted.get(h)} / "
                                f"pruned={h in ft.pruned} revoked={h in ft.revoked}")
            elif state == "pruned" and h not in ft.pruned:
                problems.append(f"fid {fid}: {h} pruned in db, not in truth")
            elif state == "revoked" and h not in ft.revoked:
                problems.append(f"fid {fid}: {h} revoked in db, not in truth")
        for h in ft.observable & seen:
            if h not in db:
                problems.append(f"fid {fid}: observable {ft.types[h]} {h} not stored")
    return problems


def target_set(engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT fid FROM farcaster_targets")).scalars())


def profile_matches_user_data(engine, fids) -> list[str]:
    from app.farcaster.processor import PROFILE_FIELDS

    problems = []
    with engine.connect() as conn:
        for fid in fids:
            active = dict(conn.execute(text("""
                SELECT user_data_type, value FROM farcaster_user_data
                WHERE fid = :f AND deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL
            """), {"f": fid}).all())
            profile = conn.execute(text("SELECT * FROM farcaster_profiles WHERE fid = :f"), {"f": fid}).mappings().first()
            if not active:
                continue
            if profile is None:
                problems.append(f"fid {fid}: no profile")
                continue
            for t, col in PROFILE_FIELDS.items():
                if profile[col] != active.get(t):
                    problems.append(f"fid {fid}: profile {col}={profile[col]!r}, user data {active.get(t)!r}")
    return problems
