"""The read API over HTTP after indexing a simulated network: each endpoint answers what the
hub's ground truth implies (orders, counts after deletes, prunes and revokes, thread shapes,
search hits, trending), and replays leave every counter as it was."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.farcaster import backfill, realtime
from app.farcaster.read_api.counters import recount
from simulators.hub.testing import running_hub
from tests.analysis.conftest import ApiClient, running_api

from .helpers import compare_with_truth, make_indexer, stream_message_hashes
from .read_api_truth import expected, hx, when
from .test_backfill_domain import catch_up

NUM_FIDS = 20
PAGE = 7  # small pages: every list is read through several cursors


def all_pages(api: ApiClient, path: str, key=lambda item: item["hash"], **params) -> list:  # type: ignore[no-untyped-def]
    items, cursor = [], None
    for _ in range(200):
        response = api.get(path, params={**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= PAGE
        items += [key(i) for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path}: no last page")


def tree_of(nodes: list) -> list:
    return [(n["cast"]["hash"], tree_of(n["replies"])) for n in nodes]


def counters(engine) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """The non-zero counters (every committed change is applied: no transaction leaves one pending)."""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM farcaster_count_flushes")).scalar() == 0
        return (conn.execute(text("SELECT * FROM farcaster_cast_counts WHERE (likes, recasts, replies) <> (0, 0, 0) "
                                  "ORDER BY hash")).all(),
                conn.execute(text("SELECT * FROM farcaster_fid_counts WHERE (casts, followers, following) <> (0, 0, 0) "
                                  "ORDER BY fid")).all())


def recount_problems(engine) -> list:  # type: ignore[no-untyped-def]
    """The trigger-kept counters against a full recount of the rows stored."""
    with engine.connect() as conn:
        return conn.execute(text("""
            WITH live_casts AS (SELECT * FROM farcaster_casts
                                WHERE deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL),
                 live_reactions AS (SELECT * FROM farcaster_reactions
                                    WHERE deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL
                                      AND message_type = 3),
                 live_follows AS (SELECT * FROM farcaster_links
                                  WHERE deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL
                                    AND message_type = 5 AND link_type = 'follow'),
                 cast_truth AS (
                    SELECT h, sum(l)::int l, sum(r)::int r, sum(p)::int p FROM (
                        SELECT target_cast_hash h, (reaction_type = 1)::int l, (reaction_type = 2)::int r, 0 p
                        FROM live_reactions WHERE target_cast_hash IS NOT NULL
                        UNION ALL SELECT parent_hash, 0, 0, 1 FROM live_casts WHERE parent_hash IS NOT NULL) x
                    GROUP BY h),
                 fid_truth AS (
                    SELECT f, sum(c)::int c, sum(fr)::int fr, sum(fg)::int fg FROM (
                        SELECT fid f, 1 c, 0 fr, 0 fg FROM live_casts
                        UNION ALL SELECT target_fid, 0, 1, 0 FROM live_follows
                        UNION ALL SELECT fid, 0, 0, 1 FROM live_follows) x
                    GROUP BY f)
            SELECT 'cast', encode(h, 'hex') FROM cast_truth t FULL JOIN farcaster_cast_counts k ON k.hash = t.h
            WHERE (COALESCE(t.l, 0), COALESCE(t.r, 0), COALESCE(t.p, 0))
                  <> (COALESCE(k.likes, 0), COALESCE(k.recasts, 0), COALESCE(k.replies, 0))
            UNION ALL
            SELECT 'fid', f::text FROM fid_truth t FULL JOIN farcaster_fid_counts k ON k.fid = t.f
            WHERE (COALESCE(t.c, 0), COALESCE(t.fr, 0), COALESCE(t.fg, 0))
                  <> (COALESCE(k.casts, 0), COALESCE(k.followers, 0), COALESCE(k.following, 0))
        """)).all()


@pytest.fixture
def indexed(engine, cache_redis):  # type: ignore[no-untyped-def]
    """A network whose every fid is a root, indexed from genesis and then through a live stream
    (with casts removed, reactions and follows undone, prunes and signer revokes)."""
    with running_hub(num_fids=NUM_FIDS, seed=5) as hub:
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        for fid in range(1, NUM_FIDS + 1):
            ix.add_target(fid, root=True)
        work.drain(ix)
        for _ in range(6):
            hub.advance(10)
            catch_up(ix, work, hub)
        roots = list(range(1, NUM_FIDS + 1))
        truth = hub.ground_truth(roots=roots)
        problems = compare_with_truth(engine, truth, stream_message_hashes(hub))
        assert not problems, "\n".join(problems[:20])
        yield hub, ix, expected(hub.network, truth)


def test_every_endpoint_answers_what_the_ground_truth_implies(indexed, engine):
    hub, ix, want = indexed
    assert want.removed > 0, "the stream should have deleted, pruned or revoked some casts or reactions"
    assert not recount_problems(engine)
    with running_api(farcaster_api_rate_limit_per_minute=0, farcaster_api_cache_ttl_seconds=0) as url:
        api = ApiClient(url, None)
        for fid in sorted(want.targets)[:12]:
            profile = api.get(f"/v1/farcaster/users/{fid}").json()
            assert profile["target"] is True
            assert profile["counts"] == {"casts": sum(1 for m in want.casts.values() if m.fid == fid),
                                         "followers": len(want.followers(fid)), "following": len(want.following(fid))}
            assert sorted(a["address"] for a in profile["verified_addresses"]) == sorted(want.verifications[fid])
            if profile["username"]:
                assert api.get(f"/v1/farcaster/users/by-username/{profile['username']}").json()["fid"] == fid
            assert all_pages(api, f"/v1/farcaster/users/{fid}/casts") == want.user_casts(fid, replies=False)
            assert all_pages(api, f"/v1/farcaster/users/{fid}/replies") == want.user_casts(fid, replies=True)
            assert all_pages(api, f"/v1/farcaster/users/{fid}/reactions") == want.user_reactions(fid)
            assert all_pages(api, f"/v1/farcaster/users/{fid}/following", key=lambda u: u["fid"]) == want.following(fid)
            assert all_pages(api, f"/v1/farcaster/users/{fid}/followers", key=lambda u: u["fid"]) == want.followers(fid)
        feed_fid = max(want.targets, key=lambda f: len(want.following(f)))
        assert all_pages(api, f"/v1/farcaster/users/{feed_fid}/feed") == want.feed(feed_fid)

        # Counts on the casts with the most engagement, including ones that lost likes or replies.
        ranked = sorted(want.casts, key=lambda h: sum(want.counts(h).values()), reverse=True)
        for h in ranked[:15]:
            cast = api.get(f"/v1/farcaster/casts/{hx(h)}").json()
            assert cast["counts"] == want.counts(h) and cast["active"] is True

        # The thread of the most replied-to cast, whole and bounded.
        root = max(want.casts, key=lambda h: len(want.children(h)))
        assert want.children(root)
        whole = api.get(f"/v1/farcaster/casts/{hx(root)}/thread", params={"depth": 10, "limit": 500}).json()
        assert tree_of(whole["replies"]) == want.tree(root, 10) and whole["truncated"] is False
        shallow = api.get(f"/v1/farcaster/casts/{hx(root)}/thread", params={"depth": 1, "limit": 2}).json()
        assert tree_of(shallow["replies"]) == [(h, []) for h, _ in want.tree(root, 1)[:2]]
        assert shallow["truncated"] is (len(want.children(root)) > 2 or any(sub for _, sub in want.tree(root, 2)[:2]))

        channel = next(m.body["parent_url"] for m in want.casts.values() if m.body["parent_url"])
        assert all_pages(api, "/v1/farcaster/channels/feed", url=channel) == want.channel(channel)

        hits = all_pages(api, "/v1/farcaster/search/casts", key=lambda hit: hit["cast"]["hash"], q="coffee")
        assert len(hits) == len(set(hits)) and set(hits) == want.search("coffee") and hits
        ranks = [hit["rank"] for hit in api.get("/v1/farcaster/search/casts", params={"q": "coffee"}).json()["items"]]
        assert ranks == sorted(ranks, reverse=True)

        end = max(when(m) for m in want.casts.values())
        trending = api.get("/v1/farcaster/trending/casts",
                           params={"window": "7d", "at": end.isoformat(), "limit": 10}).json()
        engagement = want.engagement(end - timedelta(days=7), end)
        top = sorted(engagement.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10]
        assert [(i["cast"]["hash"], i["engagement"]) for i in trending["items"]] == top

    # Replays: the stream's batches and a backfill applied again change no counter.
    before = counters(engine)
    with engine.connect() as conn:
        batches = conn.execute(text("SELECT id FROM farcaster_staged_batches")).scalars().all()
        conn.execute(text("UPDATE farcaster_staged_batches SET applied_at = NULL"))
        conn.commit()
    assert batches
    for batch_id in batches:
        ix.apply_staged(batch_id)
    for fid in (1, 2, 3):
        backfill.fetch_and_store(engine, ix.client, fid)
    assert counters(engine) == before
    with engine.begin() as conn:  # and a rebuild from the rows finds the same counts
        recount(conn)
    assert counters(engine) == before
