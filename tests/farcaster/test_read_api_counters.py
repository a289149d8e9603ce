"""The counter triggers under concurrent writers: transactions that add reactions to the same
casts in opposite orders, statement by statement, all commit (no lock cycle: counters are
locked only at commit, in key order), and the counters then equal a recount of the rows."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text

from app.farcaster.read_api.counters import recount

CASTS = [bytes([i]) * 20 for i in range(1, 9)]
WRITERS = 4

_INSERT = text("""
    INSERT INTO farcaster_reactions (hash, fid, timestamp, signer, message_type, reaction_type, target_cast_fid,
                                     target_cast_hash)
    SELECT decode(md5(:writer || '/' || :step || '/' || t), 'hex') || '\\x00000000'::bytea, :fid, :ts, '\\x00', 3,
           1 + (:step % 2), 1, t
    FROM unnest(CAST(:targets AS bytea[])) t
""")


def counts(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT hash, likes, recasts, replies FROM farcaster_cast_counts "
                                 "WHERE (likes, recasts, replies) <> (0, 0, 0) ORDER BY hash")).all()


def test_concurrent_writers_in_opposite_orders_all_commit_and_count_right(engine):
    halfway = threading.Barrier(WRITERS, timeout=30)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        order = CASTS if writer % 2 == 0 else CASTS[::-1]
        try:
            with engine.begin() as conn:
                for step, targets in enumerate((order[:4], order[4:], order[:4])):
                    conn.execute(_INSERT, {"writer": writer, "step": step, "fid": 100 + writer, "targets": targets,
                                           "ts": datetime.now(UTC)})
                    if step == 0:
                        halfway.wait()  # every writer has changed its first casts before any goes on
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stored = counts(engine)
    assert sum(likes + recasts for _, likes, recasts, _ in stored) == WRITERS * 12
    with engine.begin() as conn:
        recount(conn)
    assert counts(engine) == stored
