"""After the broker lost its data, every job still PENDING is sent again with its identity;
canaries and jobs whose arguments were stored truncated are not."""
from __future__ import annotations

from sqlalchemy import text

from app.platform.lost_messages import resend_pending


def test_pending_jobs_are_sent_again_with_their_id_arguments_queue_and_priority(db):
    from app.db import get_engine

    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO jobs (id, name, queue, state, args, kwargs, priority, created_at) VALUES
              ('a', 'farcaster.backfill_fid', 'backfill', 'PENDING', '[7]', '{"request_id": 3}', NULL,
               now() - interval '5 seconds'),
              ('b', 'analysis.analyze', 'analysis', 'PENDING', '[]', '{"tool_id": "x"}', 3, now() - interval '4 seconds'),
              ('c', 'analysis.analyze', 'analysis', 'STARTED', '[]', '{}', 3, now() - interval '3 seconds'),
              ('d', 'canary.backfill', 'backfill', 'PENDING', '[]', '{}', NULL, now() - interval '3 seconds'),
              ('e', 'catalogue.sync_family', 'product-family', 'PENDING',
               '{"truncated": true, "bytes": 99999, "preview": "["}', '{}', NULL, now() - interval '2 seconds'),
              ('f', 'analysis.analyze', 'analysis', 'SUCCESS', '[]', '{}', 3, now() - interval '1 seconds')
        """))
    sent: list[tuple] = []
    assert resend_pending(engine, lambda *message: sent.append(message)) == {"resent": 2, "skipped": 2}
    assert sent == [("a", "farcaster.backfill_fid", [7], {"request_id": 3}, "backfill", None),
                    ("b", "analysis.analyze", [], {"tool_id": "x"}, "analysis", 3)]
