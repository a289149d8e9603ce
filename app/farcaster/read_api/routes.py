"""The read API's routes under /v1/farcaster/: validate parameters, run one query module's
function in a database connection, answer through the response cache."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Connection, Engine

from app.analysis.schemas import ErrorBody
from app.farcaster.read_api import graph, profiles, reactions, schemas, search, threads, timelines, trending
from app.farcaster.read_api.auth import caller_dependency
from app.farcaster.read_api.cache import ResponseCache
from app.farcaster.read_api.errors import bad_request
from app.farcaster.read_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.farcaster.read_api.rate_limit import RateLimiter
from app.farcaster.read_api.schemas import HASH_PATTERN
from app.settings import Settings

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
ERROR = {"model": ErrorBody}
FID = Annotated[int, Path(ge=1, le=2**63 - 1, description="a Farcaster id")]
LIMIT = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
CURSOR = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="next_cursor of the previous page")]
CAST_HASH = Annotated[str, Path(pattern=HASH_PATTERN, description="the cast's hash, 0x and 40 hex digits")]


def build_router(settings: Settings, engine: Engine, limiter: RateLimiter, cache: ResponseCache) -> APIRouter:
    caller = caller_dependency(settings)

    def guard(who: str = Depends(caller)) -> None:  # noqa: B008
        limiter.check(who)

    errors: dict[int | str, dict] = {400: ERROR, 404: ERROR, 429: ERROR, 503: ERROR,
                                     304: {"description": "not modified (If-None-Match)"}}
    if settings.farcaster_api_auth_configured:
        errors[401] = ERROR
    router = APIRouter(prefix="/v1/farcaster", tags=["farcaster"], dependencies=[Depends(guard)],
                       responses=errors)

    def answer(request: Request, query: Callable[[Connection], BaseModel]) -> Response:
        def compute() -> BaseModel:
            with engine.connect() as conn:
                return query(conn)

        return cache.respond(request, compute)

    def known(fid: int, query: Callable[[Connection], BaseModel]) -> Callable[[Connection], BaseModel]:
        def run(conn: Connection) -> BaseModel:
            profiles.require_known(conn, fid)
            return query(conn)

        return run

    @router.get("/users/{fid}", response_model=schemas.Profile, summary="A user's profile, counts and addresses")
    def get_user(request: Request, fid: FID) -> Response:
        return answer(request, lambda conn: profiles.profile(conn, fid))

    @router.get("/users/by-username/{name}", response_model=schemas.Profile, summary="A user by username")
    def get_user_by_name(request: Request, name: Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]) -> Response:
        return answer(request, lambda conn: profiles.profile(conn, profiles.fid_by_username(conn, name)))

    @router.get("/users/{fid}/casts", response_model=schemas.CastPage, summary="A user's casts (not replies)")
    def get_user_casts(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: timelines.user_casts(c, fid, replies=False, limit=limit,
                                                                         cursor=cursor)))

    @router.get("/users/{fid}/replies", response_model=schemas.CastPage, summary="A user's replies")
    def get_user_replies(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: timelines.user_casts(c, fid, replies=True, limit=limit,
                                                                         cursor=cursor)))

    @router.get("/users/{fid}/reactions", response_model=schemas.ReactionPage, summary="A user's likes and recasts")
    def get_user_reactions(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT,
                           cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: reactions.user_reactions(c, fid, limit=limit, cursor=cursor)))

    @router.get("/users/{fid}/feed", response_model=schemas.CastPage,
                summary="Home feed: casts by the fids the user follows")
    def get_user_feed(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: timelines.home_feed(c, fid, limit=limit, cursor=cursor)))

    @router.get("/users/{fid}/followers", response_model=schemas.UserPage, summary="Who follows the user")
    def get_followers(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: graph.followers(c, fid, limit=limit, cursor=cursor)))

    @router.get("/users/{fid}/following", response_model=schemas.UserPage, summary="Whom the user follows")
    def get_following(request: Request, fid: FID, limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, known(fid, lambda c: graph.following(c, fid, limit=limit, cursor=cursor)))

    @router.get("/casts/{hash}", response_model=schemas.Cast, summary="A cast with its like, recast and reply counts")
    def get_cast(request: Request, hash: CAST_HASH, include_inactive: bool = False) -> Response:  # noqa: A002
        return answer(request, lambda c: threads.cast(c, bytes.fromhex(hash[2:]), include_inactive=include_inactive))

    @router.get("/casts/{hash}/thread", response_model=schemas.Thread, summary="A cast's replies as a tree")
    def get_thread(request: Request, hash: CAST_HASH,  # noqa: A002
                   depth: Annotated[int, Query(ge=1, le=10, description="levels of replies")] = 5,
                   limit: Annotated[int, Query(ge=1, le=500, description="replies in all")] = 100) -> Response:
        return answer(request, lambda c: threads.thread(c, bytes.fromhex(hash[2:]), depth=depth, limit=limit))

    @router.get("/channels/feed", response_model=schemas.CastPage, summary="Casts with this parent URL (a channel)")
    def get_channel_feed(request: Request,
                         url: Annotated[str, Query(min_length=1, max_length=2048, pattern=NO_NUL)],
                         limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, lambda c: timelines.channel_feed(c, url, limit=limit, cursor=cursor))

    @router.get("/search/casts", response_model=schemas.SearchPage, summary="Full-text search of casts, ranked")
    def get_search(request: Request, q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
                   limit: LIMIT = DEFAULT_LIMIT, cursor: CURSOR = None) -> Response:
        return answer(request, lambda c: search.search_casts(c, q, limit=limit, cursor=cursor))

    @router.get("/trending/casts", response_model=schemas.Trending, summary="Casts ranked by engagement in a window")
    def get_trending(request: Request,
                     window: Annotated[str, Query(pattern=trending.WINDOW_PATTERN,
                                                  description="30m, 24h, 7d (at most 7d)")] = "24h",
                     at: Annotated[datetime | None, Query(description="the window's end (default: now)")] = None,
                     limit: Annotated[int, Query(ge=1, le=100)] = DEFAULT_LIMIT) -> Response:
        if at is not None and not 1971 <= at.year <= 9000:
            raise bad_request("at", "a time between 1971 and 9000")
        return answer(request, lambda c: trending.trending_casts(c, window, at=at, limit=limit))

    return router
