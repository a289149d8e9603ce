"""The read API's response bodies (its OpenAPI schemas). Hashes and addresses are 0x-hex."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

HASH_PATTERN = r"^0x[0-9a-fA-F]{40}$"


class Author(BaseModel):
    fid: int
    username: str | None
    display_name: str | None
    pfp_url: str | None
    target: bool = Field(description="the indexer holds this fid's history; false: stored as context only")


class CastCounts(BaseModel):
    likes: int
    recasts: int
    replies: int


class CastRef(BaseModel):
    fid: int | None
    hash: str


class Cast(BaseModel):
    hash: str
    author: Author
    timestamp: datetime
    text: str
    cast_type: str
    parent: CastRef | None
    parent_url: str | None
    mentions: list[int]
    mentions_positions: list[int]
    embeds: list[Any]
    counts: CastCounts
    active: bool = Field(description="false: deleted, pruned or revoked (shown only when asked)")


class CastPage(BaseModel):
    items: list[Cast]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class ProfileCounts(BaseModel):
    casts: int
    followers: int
    following: int


class VerifiedAddress(BaseModel):
    address: str
    protocol: str
    chain_id: int | None
    verified_at: datetime


class Profile(BaseModel):
    fid: int
    target: bool = Field(description="the indexer holds this fid's history; false: stored as context only")
    username: str | None
    display_name: str | None
    pfp_url: str | None
    bio: str | None
    url: str | None
    counts: ProfileCounts
    verified_addresses: list[VerifiedAddress]


class Reaction(BaseModel):
    hash: str
    type: Literal["like", "recast"]
    timestamp: datetime
    target_cast: CastRef | None
    target_url: str | None
    cast: Cast | None = Field(description="the target cast when it is stored and active")


class ReactionPage(BaseModel):
    items: list[Reaction]
    next_cursor: str | None


class LinkedUser(BaseModel):
    fid: int
    username: str | None
    display_name: str | None
    pfp_url: str | None
    target: bool
    since: datetime = Field(description="the follow's timestamp")


class UserPage(BaseModel):
    items: list[LinkedUser]
    next_cursor: str | None


class ThreadNode(BaseModel):
    cast: Cast
    replies: list[ThreadNode]


class Thread(BaseModel):
    cast: Cast
    replies: list[ThreadNode]
    truncated: bool = Field(description="some replies were left out by the depth or size bound")


class SearchHit(BaseModel):
    cast: Cast
    rank: float


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None


class TrendingCast(BaseModel):
    cast: Cast
    engagement: int = Field(description="active likes, recasts and replies made in the window")


class Trending(BaseModel):
    window_start: datetime
    window_end: datetime
    items: list[TrendingCast]
