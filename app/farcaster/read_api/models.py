"""Counter tables of the read API. Triggers on the message tables keep them (the
farcaster_read_api migration): writers append each statement's net change per key to a delta
table, and one transaction at a time folds the deltas into the counters. A count is the
counter plus the deltas not folded yet. Nothing in Python writes them (but counters.recount)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Identity, Index, Integer, LargeBinary
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


class CastCountDelta(Base):
    __tablename__ = "farcaster_cast_count_deltas"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    likes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    recasts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    replies: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    __table_args__ = (Index("ix_farcaster_cast_count_deltas_hash", "hash"),)


class FidCountDelta(Base):
    __tablename__ = "farcaster_fid_count_deltas"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    casts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    followers: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    following: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    __table_args__ = (Index("ix_farcaster_fid_count_deltas_fid", "fid"),)
