"""The read API's HTTP behaviour: auth (static tokens, JWTs with expiry), the per-caller rate
limit, the response cache with ETags, bad input naming the field, unknown fids, context rows."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest
from sqlalchemy import text

from tests.analysis.conftest import ApiClient, running_api

FID = 7
CAST = bytes(range(20))
REPLY = bytes(range(1, 21))


@pytest.fixture
def stored(engine):  # type: ignore[no-untyped-def]
    """A target fid with one cast, and a non-target fid's reply to it (context)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("""INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
                             VALUES (:f, true, true, true, false)"""), {"f": FID})
        conn.execute(text("INSERT INTO farcaster_profiles (fid, username, other) VALUES (:f, 'alice', '{}')"),
                     {"f": FID})
        for h, fid, parent in ((CAST, FID, None), (REPLY, 99, CAST)):
            conn.execute(text("""
                INSERT INTO farcaster_casts (hash, fid, timestamp, signer, text, cast_type, parent_fid, parent_hash,
                                             mentions, mentions_positions, embeds)
                VALUES (:h, :f, :t, '\\x00', 'hello world', 'CAST', :pf, :p, '{}', '{}', '[]')
            """), {"h": h, "f": fid, "t": now, "pf": FID if parent else None, "p": parent})
    return engine


def test_tokens_jwts_rate_limit_and_the_document(stored, cache_redis):
    secret = "a-jwt-secret-for-tests-of-32-bytes-or-more"
    with running_api(farcaster_api_tokens="static-1,static-2", farcaster_api_jwt_secret=secret,
                     farcaster_api_rate_limit_per_minute=3, farcaster_api_cache_ttl_seconds=0) as url:
        path = f"/v1/farcaster/users/{FID}"
        for token, message in ((None, "missing bearer token"), ("nope", "invalid bearer token"),
                               (jwt.encode({"sub": "a"}, secret), "invalid bearer token"),  # no exp
                               (jwt.encode({"sub": "a", "exp": int(time.time()) + 60}, "another-secret-of-at-least-32-bytes!"), "invalid bearer token"),
                               (jwt.encode({"sub": "a", "exp": int(time.time()) - 5}, secret), "bearer token expired")):
            response = ApiClient(url, token).get(path)
            assert (response.status_code, response.json()["error"]) == (401, message)
            assert response.headers["WWW-Authenticate"] == "Bearer"
        for attempt in range(3):  # the budget is per minute: retried if a minute ends between the requests
            minute = int(time.time() // 60)
            cache_redis.delete(*cache_redis.keys("farcaster:read_api:rate:*") or ["none"])
            valid_jwt = jwt.encode({"sub": f"bob{attempt}", "exp": int(time.time()) + 60}, secret)
            statuses, retry_after = [], []
            for token in ("static-1", valid_jwt):
                client = ApiClient(url, token)
                statuses += [client.get(path).status_code for _ in range(4)]
                retry_after.append(client.get(path).headers.get("Retry-After"))
            other = ApiClient(url, "static-2").get(path).status_code  # another token, its own budget
            if int(time.time() // 60) == minute:
                break
        assert statuses == [200, 200, 200, 429] * 2 and other == 200
        assert all(r is not None and 1 <= int(r) <= 60 for r in retry_after)
        document = ApiClient(url, None).get("/openapi.json").json()
        assert document["components"]["securitySchemes"]["FarcasterToken"]["scheme"] == "bearer"
        assert document["paths"]["/v1/farcaster/users/{fid}"]["get"]["security"] == [{"FarcasterToken": []}]


def test_response_cache_etag_and_cache_control(stored, cache_redis):
    with running_api(farcaster_api_rate_limit_per_minute=0, farcaster_api_cache_ttl_seconds=30) as url:
        api = ApiClient(url, None)
        path = f"/v1/farcaster/casts/0x{CAST.hex()}"
        first = api.get(path)
        assert first.status_code == 200 and first.json()["counts"]["replies"] == 1
        assert first.headers["Cache-Control"] == "public, max-age=30"
        etag = first.headers["ETag"]
        assert api.get(path, headers={"If-None-Match": etag}).status_code == 304
        with stored.begin() as conn:  # a change within the TTL: the cached answer still serves
            conn.execute(text("UPDATE farcaster_casts SET deleted_at = now() WHERE hash = :h"), {"h": REPLY})
        assert api.get(path).json()["counts"]["replies"] == 1
        cache_redis.delete(*cache_redis.keys("farcaster:read_api:cache:*"))
        fresh = api.get(path)
        assert fresh.json()["counts"]["replies"] == 0 and fresh.headers["ETag"] != etag


def test_bad_input_names_the_field_and_unknown_fids_say_why(stored, cache_redis):
    with running_api(farcaster_api_rate_limit_per_minute=0, farcaster_api_cache_ttl_seconds=0) as url:
        api = ApiClient(url, None)

        def problem(path: str, **params):  # type: ignore[no-untyped-def]
            response = api.get(path, params=params)
            body = response.json()
            return response.status_code, [f["field"] for f in body["fields"]]

        assert problem("/v1/farcaster/users/0") == (400, ["fid"])
        assert problem("/v1/farcaster/users/abc/casts") == (400, ["fid"])
        assert problem(f"/v1/farcaster/users/{FID}/casts", limit=0) == (400, ["limit"])
        assert problem(f"/v1/farcaster/users/{FID}/casts", cursor="bm90LWEtY3Vyc29y") == (400, ["cursor"])
        replies_cursor = api.get(f"/v1/farcaster/users/{FID}/casts", params={"limit": 1}).json()["next_cursor"]
        assert replies_cursor is None  # one cast only
        assert problem("/v1/farcaster/casts/0x1234") == (400, ["hash"])
        assert problem(f"/v1/farcaster/casts/0x{'ab' * 20}") == (404, ["hash"])
        assert problem("/v1/farcaster/search/casts", q="the and of") == (400, ["q"])
        assert problem("/v1/farcaster/search/casts") == (400, ["q"])
        assert problem("/v1/farcaster/trending/casts", window="8d") == (400, ["window"])
        assert problem("/v1/farcaster/trending/casts", window="1y") == (400, ["window"])
        assert problem("/v1/farcaster/users/by-username/nobody") == (404, ["name"])
        unknown = api.get("/v1/farcaster/users/12345/casts")
        assert unknown.status_code == 404 and "not indexed" in unknown.json()["error"]

        # Context: the non-target's reply is served, flagged; so is its (empty) profile.
        thread = api.get(f"/v1/farcaster/casts/0x{CAST.hex()}/thread").json()
        [reply] = thread["replies"]
        assert reply["cast"]["author"] == {"fid": 99, "username": None, "display_name": None, "pfp_url": None,
                                           "target": False}
        assert thread["cast"]["author"]["target"] is True
        context = api.get("/v1/farcaster/users/99").json()
        assert context["target"] is False and context["counts"]["casts"] == 1
        assert api.get("/v1/farcaster/users/by-username/alice").json()["fid"] == FID
