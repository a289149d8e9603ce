"""Farcaster tables. Message rows are keyed by their 20-byte BLAKE3 hash (bytea, primary key),
so every write is an idempotent ``INSERT ... ON CONFLICT``. Nothing is hard-deleted: a
displaced message keeps its row with ``deleted_at`` and ``deleted_by`` (the hash of the
remove or newer message), a storage prune sets ``pruned_at``, a signer revoke ``revoked_at``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (ARRAY, BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, SmallInteger, String,
                        Text, UniqueConstraint, func)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

ACTIVE = sql("deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL")


class _MessageRow:
    """Columns every stored message has: identity, author, time, signer and soft-delete state."""

    hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    signer: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[bytes | None] = mapped_column(LargeBinary)  # hash of the displacing message
    pruned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Cast(_MessageRow, Base):
    __tablename__ = "farcaster_casts"
    text: Mapped[str] = mapped_column(Text, nullable=False)
    cast_type: Mapped[str] = mapped_column(String(20), nullable=False)  # CAST, LONG_CAST, TEN_K_CAST
    parent_fid: Mapped[int | None] = mapped_column(BigInteger)
    parent_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    parent_url: Mapped[str | None] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    mentions_positions: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)
    embeds: Mapped[list] = mapped_column(JSONB, nullable=False)
    __table_args__ = (
        Index("ix_farcaster_casts_fid_timestamp", "fid", "timestamp"),
        Index("ix_farcaster_casts_parent_hash", "parent_hash", postgresql_where=sql("parent_hash IS NOT NULL")),
        # read API (app/farcaster/read_api): search, channel feeds, trending
        Index("ix_farcaster_casts_text_search", sql("to_tsvector('english', text)"), postgresql_using="gin"),
        Index("ix_farcaster_casts_parent_url_timestamp", "parent_url", "timestamp",
              postgresql_where=sql("parent_url IS NOT NULL")),
        Index("ix_farcaster_casts_timestamp_brin", "timestamp", postgresql_using="brin"),
    )


class CastRemove(_MessageRow, Base):
    """CastRemove messages (castsByFid returns them too). Kept apart from casts: a remove may
    arrive before its add, and the add must then be stored as deleted (remove wins)."""

    __tablename__ = "farcaster_cast_removes"
    target_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    __table_args__ = (Index("ix_farcaster_cast_removes_target_hash", "target_hash"),
                      Index("ix_farcaster_cast_removes_fid_timestamp", "fid", "timestamp"))


class Reaction(_MessageRow, Base):
    """REACTION_ADD and REACTION_REMOVE rows; last-write-wins per (fid, type, target)."""

    __tablename__ = "farcaster_reactions"
    message_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 3 add, 4 remove
    reaction_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 1 like, 2 recast
    target_cast_fid: Mapped[int | None] = mapped_column(BigInteger)
    target_cast_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    target_url: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_farcaster_reactions_fid_target", "fid", "reaction_type", "target_cast_hash"),
        Index("ix_farcaster_reactions_target_cast_hash", "target_cast_hash",
              postgresql_where=sql("target_cast_hash IS NOT NULL")),
        Index("ix_farcaster_reactions_fid_timestamp", "fid", "timestamp"),  # read API: a user's reactions
        Index("ix_farcaster_reactions_timestamp_brin", "timestamp", postgresql_using="brin"),  # trending
    )


class Link(_MessageRow, Base):
    """LINK_ADD and LINK_REMOVE rows (an unfollow is a LINK_REMOVE of type follow)."""

    __tablename__ = "farcaster_links"
    message_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 5 add, 6 remove
    link_type: Mapped[str] = mapped_column(String(32), nullable=False)
    target_fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    display_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_farcaster_links_fid_target_fid", "fid", "target_fid"),  # following
        Index("ix_farcaster_links_target_fid_timestamp", "target_fid", "timestamp"),  # followers (paged, newest first)
    )


class Verification(_MessageRow, Base):
    __tablename__ = "farcaster_verifications"
    message_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 7 add, 8 remove
    address: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    protocol: Mapped[str] = mapped_column(String(32), nullable=False)
    claim_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    block_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    verification_type: Mapped[int | None] = mapped_column(Integer)
    chain_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_farcaster_verifications_fid_address", "fid", "address"),)


class UserData(_MessageRow, Base):
    """USER_DATA_ADD rows; the newest per (fid, type) is active, older ones are deleted by it."""

    __tablename__ = "farcaster_user_data"
    user_data_type: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    __table_args__ = (Index("ix_farcaster_user_data_fid_type", "fid", "user_data_type"),)


class Profile(Base):
    """The active user data of a fid folded into one row (rebuilt from farcaster_user_data)."""

    __tablename__ = "farcaster_profiles"
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    pfp_url: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    other: Mapped[dict] = mapped_column(JSONB, nullable=False)  # location, twitter, github, ... by type name
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    __table_args__ = (Index("ix_farcaster_profiles_username", "username"),)  # read API: by-username


class UsernameProof(Base):
    __tablename__ = "farcaster_username_proofs"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # unix seconds
    fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    owner: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    proof_type: Mapped[str] = mapped_column(String(32), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # superseded by a newer proof
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    __table_args__ = (Index("ix_farcaster_username_proofs_fid", "fid"),)


class OnChainEvent(Base):
    __tablename__ = "farcaster_onchain_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    block_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    transaction_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_index: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSONB, nullable=False)
    # Signer events, decoded: the key, ADD/REMOVE/ADMIN_RESET, and the client app that requested it.
    signer_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_event_type: Mapped[str | None] = mapped_column(String(64))
    request_fid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    __table_args__ = (
        UniqueConstraint("transaction_hash", "log_index", name="uq_farcaster_onchain_events_tx_log"),
        Index("ix_farcaster_onchain_events_fid_type", "fid", "event_type"),
        Index("ix_farcaster_onchain_events_request_fid", "request_fid", postgresql_where=sql("request_fid IS NOT NULL")),
    )


class Target(Base):
    """A fid the indexer holds. It stays a target while at least one reason holds:
    manual (operator), a client app signer (then it is a root), or followed by a root."""

    __tablename__ = "farcaster_targets"
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    is_root: Mapped[bool] = mapped_column(Boolean, nullable=False)  # manual_root or via a client app
    manual: Mapped[bool] = mapped_column(Boolean, nullable=False)
    manual_root: Mapped[bool] = mapped_column(Boolean, nullable=False)
    client_app_fid: Mapped[int | None] = mapped_column(BigInteger)
    followed_by_root: Mapped[bool] = mapped_column(Boolean, nullable=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    last_backfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClientApp(Base):
    __tablename__ = "farcaster_client_apps"
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    users_scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppScanChunk(Base):
    """One slice of the hub's fids whose signer events a client-app discovery scans. The hub has
    no index by requestFid, so discovery reads every fid; the slices make that many small tasks
    (recovery re-sends the ones not done) instead of one task as long as the network is big."""

    __tablename__ = "farcaster_app_scan_chunks"
    app_fid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    users: Mapped[int | None] = mapped_column(Integer)  # the app's users found in this slice


class ShardCursor(Base):
    """The next event id to read from one hub shard (0 = Hubble's single stream)."""

    __tablename__ = "farcaster_shard_cursors"
    shard_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hub_head_event_id: Mapped[int | None] = mapped_column(BigInteger)
    last_block_number: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class StagedBatch(Base):
    """Relevant events of one poll, written in the transaction that advanced the cursor."""

    __tablename__ = "farcaster_staged_batches"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shard_index: Mapped[int] = mapped_column(Integer, nullable=False)
    first_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    event_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # json, not jsonb: written once and read once whole, so kept as text (no binary conversion)
    events: Mapped[list] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("shard_index", "first_event_id", name="uq_farcaster_staged_batches_shard_first"),
        Index("ix_farcaster_staged_batches_unapplied", "id", postgresql_where=sql("applied_at IS NULL")),
    )


class BackfillRequest(Base):
    """One requested backfill of a fid; at most one pending or running per fid (partial unique index)."""

    __tablename__ = "farcaster_backfill_requests"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fid: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # pending, running, done, failed
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pages: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    messages: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("uq_farcaster_backfill_requests_open_fid", "fid", unique=True,
              postgresql_where=sql("state IN ('pending', 'running')")),
    )


class ShardMark(Base):
    """Where each shard's cursor stood in hub time: one row per committed poll segment (the
    cursor after it and the timestamp of the last block it read). A replay for fids that
    became targets because of an event at hub time T starts every shard at its mark before T."""

    __tablename__ = "farcaster_shard_marks"
    shard_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)  # Farcaster seconds (0: cursor created)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    __table_args__ = (Index("ix_farcaster_shard_marks_shard_ts", "shard_index", "block_timestamp"),)


class Replay(Base):
    """Fids that became targets and the stream positions (per shard) from which the events
    about them must be applied again; pending rows are coalesced into one pass."""

    __tablename__ = "farcaster_replays"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    from_event_ids: Mapped[dict] = mapped_column(JSONB, nullable=False)  # {"<shard>": event id}
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    events: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_farcaster_replays_pending", "id", postgresql_where=sql("state = 'pending'")),)


class GapRecovery(Base):
    """A retention gap's recovery: client-app discovery again, then every target reconciled
    once. Gaps seen while one is pending join it (one recovery, not one per shard)."""

    __tablename__ = "farcaster_gap_recoveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    apps: Mapped[int | None] = mapped_column(Integer)
    targets: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("uq_farcaster_gap_recoveries_pending", "state", unique=True,
                            postgresql_where=sql("state = 'pending'")),)


class ReconcileRefusal(Base):
    """A fid whose reconciliation the delete guard refused (too many rows gone from the hub);
    cleared when a later reconciliation of it applies (``reconcile FID --allow-deletes``)."""

    __tablename__ = "farcaster_reconcile_refusals"
    fid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)  # active rows the hub no longer lists
    active_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class SkippedKind(Base):
    """Hub data of a kind this indexer does not store (a new event or message type), counted."""

    __tablename__ = "farcaster_skipped_kinds"
    kind: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
