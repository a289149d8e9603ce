"""farcaster: messages (casts, cast removes, reactions, links, verifications, user data), profiles,
username proofs, on-chain events, targets, client apps, shard cursors, staged batches, backfill requests

Revision ID: 0004_farcaster
Revises: 0003_analysis
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0004_farcaster"
down_revision = "0003_analysis"
branch_labels = None
depends_on = None

TABLES = ('farcaster_verifications', 'farcaster_username_proofs', 'farcaster_user_data', 'farcaster_targets', 'farcaster_staged_batches', 'farcaster_shard_cursors', 'farcaster_reactions', 'farcaster_profiles', 'farcaster_onchain_events', 'farcaster_links', 'farcaster_client_apps', 'farcaster_casts', 'farcaster_cast_removes', 'farcaster_backfill_requests')



def _message_columns() -> list[sa.Column]:
    """The columns every message table shares (app.farcaster.models._MessageRow), in order."""
    return [
        sa.Column('hash', sa.LargeBinary(), nullable=False),
        sa.Column('fid', sa.BigInteger(), nullable=False),
        sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signer', sa.LargeBinary(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_by', sa.LargeBinary(), nullable=True),
        sa.Column('pruned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    ]

def upgrade() -> None:
    op.create_table('farcaster_backfill_requests',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('fid', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('messages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_farcaster_backfill_requests'))
    )
    op.create_index('uq_farcaster_backfill_requests_open_fid', 'farcaster_backfill_requests', ['fid'], unique=True, postgresql_where=sa.text("state IN ('pending', 'running')"))
    op.create_table('farcaster_cast_removes',
    sa.Column('target_hash', sa.LargeBinary(), nullable=False),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_cast_removes'))
    )
    op.create_index('ix_farcaster_cast_removes_target_hash', 'farcaster_cast_removes', ['target_hash'], unique=False)
    op.create_table('farcaster_casts',
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('cast_type', sa.String(length=20), nullable=False),
    sa.Column('parent_fid', sa.BigInteger(), nullable=True),
    sa.Column('parent_hash', sa.LargeBinary(), nullable=True),
    sa.Column('parent_url', sa.Text(), nullable=True),
    sa.Column('mentions', sa.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('mentions_positions', sa.ARRAY(sa.Integer()), nullable=False),
    sa.Column('embeds', postgresql.JSONB(astext_type=Text()), nullable=False),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_casts'))
    )
    op.create_index('ix_farcaster_casts_fid_timestamp', 'farcaster_casts', ['fid', 'timestamp'], unique=False)
    op.create_index('ix_farcaster_casts_parent_hash', 'farcaster_casts', ['parent_hash'], unique=False, postgresql_where=sa.text('parent_hash IS NOT NULL'))
    op.create_table('farcaster_client_apps',
    sa.Column('fid', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('users_scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fid', name=op.f('pk_farcaster_client_apps'))
    )
    op.create_table('farcaster_links',
    sa.Column('message_type', sa.SmallInteger(), nullable=False),
    sa.Column('link_type', sa.String(length=32), nullable=False),
    sa.Column('target_fid', sa.BigInteger(), nullable=False),
    sa.Column('display_timestamp', sa.BigInteger(), nullable=True),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_links'))
    )
    op.create_index('ix_farcaster_links_fid_target_fid', 'farcaster_links', ['fid', 'target_fid'], unique=False)
    op.create_index('ix_farcaster_links_target_fid', 'farcaster_links', ['target_fid'], unique=False)
    op.create_table('farcaster_onchain_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.LargeBinary(), nullable=False),
    sa.Column('block_timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('transaction_hash', sa.LargeBinary(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('fid', sa.BigInteger(), nullable=False),
    sa.Column('tx_index', sa.Integer(), nullable=True),
    sa.Column('body', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('signer_key', sa.LargeBinary(), nullable=True),
    sa.Column('signer_event_type', sa.String(length=64), nullable=True),
    sa.Column('request_fid', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_farcaster_onchain_events')),
    sa.UniqueConstraint('transaction_hash', 'log_index', name='uq_farcaster_onchain_events_tx_log')
    )
    op.create_index('ix_farcaster_onchain_events_fid_type', 'farcaster_onchain_events', ['fid', 'event_type'], unique=False)
    op.create_index('ix_farcaster_onchain_events_request_fid', 'farcaster_onchain_events', ['request_fid'], unique=False, postgresql_where=sa.text('request_fid IS NOT NULL'))
    op.create_table('farcaster_profiles',
    sa.Column('fid', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('username', sa.Text(), nullable=True),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('pfp_url', sa.Text(), nullable=True),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('other', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('fid', name=op.f('pk_farcaster_profiles'))
    )
    op.create_table('farcaster_reactions',
    sa.Column('message_type', sa.SmallInteger(), nullable=False),
    sa.Column('reaction_type', sa.SmallInteger(), nullable=False),
    sa.Column('target_cast_fid', sa.BigInteger(), nullable=True),
    sa.Column('target_cast_hash', sa.LargeBinary(), nullable=True),
    sa.Column('target_url', sa.Text(), nullable=True),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_reactions'))
    )
    op.create_index('ix_farcaster_reactions_fid_target', 'farcaster_reactions', ['fid', 'reaction_type', 'target_cast_hash'], unique=False)
    op.create_index('ix_farcaster_reactions_target_cast_hash', 'farcaster_reactions', ['target_cast_hash'], unique=False, postgresql_where=sa.text('target_cast_hash IS NOT NULL'))
    op.create_table('farcaster_shard_cursors',
    sa.Column('shard_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('next_event_id', sa.BigInteger(), nullable=False),
    sa.Column('hub_head_event_id', sa.BigInteger(), nullable=True),
    sa.Column('last_block_number', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('shard_index', name=op.f('pk_farcaster_shard_cursors'))
    )
    op.create_table('farcaster_staged_batches',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('shard_index', sa.Integer(), nullable=False),
    sa.Column('first_event_id', sa.BigInteger(), nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('events', postgresql.JSON(astext_type=Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_farcaster_staged_batches')),
    sa.UniqueConstraint('shard_index', 'first_event_id', name='uq_farcaster_staged_batches_shard_first')
    )
    op.create_index('ix_farcaster_staged_batches_unapplied', 'farcaster_staged_batches', ['id'], unique=False, postgresql_where=sa.text('applied_at IS NULL'))
    op.create_table('farcaster_targets',
    sa.Column('fid', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('is_root', sa.Boolean(), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('manual_root', sa.Boolean(), nullable=False),
    sa.Column('client_app_fid', sa.BigInteger(), nullable=True),
    sa.Column('followed_by_root', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_backfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fid', name=op.f('pk_farcaster_targets'))
    )
    op.create_table('farcaster_user_data',
    sa.Column('user_data_type', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_user_data'))
    )
    op.create_index('ix_farcaster_user_data_fid_type', 'farcaster_user_data', ['fid', 'user_data_type'], unique=False)
    op.create_table('farcaster_username_proofs',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('fid', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('proof_type', sa.String(length=32), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', 'timestamp', name=op.f('pk_farcaster_username_proofs'))
    )
    op.create_index('ix_farcaster_username_proofs_fid', 'farcaster_username_proofs', ['fid'], unique=False)
    op.create_table('farcaster_verifications',
    sa.Column('message_type', sa.SmallInteger(), nullable=False),
    sa.Column('address', sa.LargeBinary(), nullable=False),
    sa.Column('protocol', sa.String(length=32), nullable=False),
    sa.Column('claim_signature', sa.LargeBinary(), nullable=True),
    sa.Column('block_hash', sa.LargeBinary(), nullable=True),
    sa.Column('verification_type', sa.Integer(), nullable=True),
    sa.Column('chain_id', sa.Integer(), nullable=True),
    *_message_columns(),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_farcaster_verifications'))
    )
    op.create_index('ix_farcaster_verifications_fid_address', 'farcaster_verifications', ['fid', 'address'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
