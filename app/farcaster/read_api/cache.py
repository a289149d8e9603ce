"""Answers of hot reads: kept in Redis for a short TTL (the same for every caller: the data is
public), served with Cache-Control and an ETag; If-None-Match with the current ETag gets 304.
A Redis outage only turns the cache off."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import orjson
import redis
from fastapi import Request, Response
from pydantic import BaseModel

log = logging.getLogger(__name__)
KEY = "farcaster:read_api:cache:{digest}"


def request_key(request: Request) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return hashlib.sha256(f"{request.url.path}?{query}".encode()).hexdigest()


class ResponseCache:
    def __init__(self, client: redis.Redis, ttl_seconds: float, *, private: bool) -> None:
        self.client, self.ttl = client, ttl_seconds
        scope = "private" if private else "public"
        self.cache_control = f"{scope}, max-age={int(ttl_seconds)}" if ttl_seconds >= 1 else "no-cache"

    def _get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)  # type: ignore[return-value]
        except redis.RedisError as exc:
            log.warning("read API cache skipped: Redis unavailable (%s)", exc)
            return None

    def _set(self, key: str, body: bytes) -> None:
        try:
            self.client.set(key, body, px=int(self.ttl * 1000))
        except redis.RedisError as exc:
            log.warning("read API cache not written: Redis unavailable (%s)", exc)

    def respond(self, request: Request, compute: Callable[[], BaseModel]) -> Response:
        key = KEY.format(digest=request_key(request))
        body = self._get(key) if self.ttl > 0 else None
        if body is None:
            body = orjson.dumps(compute().model_dump(mode="json"))
            if self.ttl > 0:
                self._set(key, body)
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": self.cache_control}
        if etag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)
