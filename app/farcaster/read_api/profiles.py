"""Profiles: the folded user data, counters, verified addresses, and whether a fid is known."""
from __future__ import annotations

from sqlalchemy import Connection, text

from app.farcaster.read_api import schemas
from app.farcaster.read_api.cast_rows import LIVE
from app.farcaster.read_api.counters import FID_COUNTS_SQL
from app.farcaster.read_api.errors import not_found

_KNOWN = text("""
    SELECT EXISTS (SELECT 1 FROM farcaster_targets WHERE fid = :fid)
        OR EXISTS (SELECT 1 FROM farcaster_profiles WHERE fid = :fid)
        OR EXISTS (SELECT 1 FROM farcaster_fid_counts WHERE fid = :fid)
        OR EXISTS (SELECT 1 FROM farcaster_reactions WHERE fid = :fid)
""")

_PROFILE = text(f"""
    SELECT t.fid IS NOT NULL AS target, p.fid IS NOT NULL AS has_profile, p.username, p.display_name, p.pfp_url,
           p.bio, p.url, counts.*,
           (SELECT COALESCE(json_agg(json_build_array(encode(v.address, 'hex'), v.protocol, v.chain_id, v.timestamp)
                                     ORDER BY v.timestamp, v.hash), '[]')
            FROM farcaster_verifications v
            WHERE v.fid = :fid AND v.message_type = 7 AND {LIVE.format(t="v")}) AS addresses
    FROM (SELECT 1) one
    LEFT JOIN farcaster_targets t ON t.fid = :fid
    LEFT JOIN farcaster_profiles p ON p.fid = :fid
    CROSS JOIN ({FID_COUNTS_SQL}) counts
""")

_BY_USERNAME = text("SELECT fid FROM farcaster_profiles WHERE username = :name ORDER BY updated_at DESC LIMIT 1")


def require_known(conn: Connection, fid: int) -> None:
    """404 for a fid of which nothing is stored: the indexer does not follow it and no stored
    message concerns it (an empty answer would wrongly say it has no casts)."""
    if not conn.execute(_KNOWN, {"fid": fid}).scalar():
        raise not_found(f"fid {fid} is not indexed: not a target, and no stored message concerns it", "fid")


def profile(conn: Connection, fid: int) -> schemas.Profile:
    """One statement; a fid with no profile row, no target row and no counts is checked further."""
    r = conn.execute(_PROFILE, {"fid": fid}).one()
    if not (r.target or r.has_profile or r.known_by_counts):
        require_known(conn, fid)
    addresses = [schemas.VerifiedAddress(address="0x" + a, protocol=p, chain_id=c, verified_at=t)
                 for a, p, c, t in r.addresses]
    return schemas.Profile(fid=fid, target=r.target, username=r.username, display_name=r.display_name,
                           pfp_url=r.pfp_url, bio=r.bio, url=r.url,
                           counts=schemas.ProfileCounts(casts=r.casts, followers=r.followers, following=r.following),
                           verified_addresses=addresses)


def fid_by_username(conn: Connection, name: str) -> int:
    fid = conn.execute(_BY_USERNAME, {"name": name.lower()}).scalar()
    if fid is None:
        raise not_found(f"no indexed user is named {name!r}", "name")
    return int(fid)
