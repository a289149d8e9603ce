"""Counter tables of the read API. Triggers on the message tables keep them (the
farcaster_read_api migration): each statement's net change per key is collected in a
session-local temporary table and applied at commit, in key order. Nothing in Python writes
them but counters.recount."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class CastCounts(Base):
    """Active likes, recasts and replies of a cast, by its hash (the cast may not be stored)."""

    __tablename__ = "farcaster_cast_counts"
    hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    likes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    recasts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    replies: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class FidCounts(Base):
    """Active casts, followers and following of a fid, over the rows stored."""

    __tablename__ = "farcaster_fid_counts"
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    casts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    followers: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    following: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class CountFlush(Base):
    """A transaction with counter changes pending: its row's deferred trigger applies them at
    commit and deletes the row (so the table is empty between transactions)."""

    __tablename__ = "farcaster_count_flushes"
    txid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
