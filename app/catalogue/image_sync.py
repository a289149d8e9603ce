"""Store one image: download, check it decodes completely, deduplicate by URL and content hash, conditional put.

Dedupe happens at three levels: an image row already stored is skipped without a download; bytes
whose sha256 is already stored under another URL reuse that object; and the conditional put
(If-None-Match) makes concurrent uploads of the same bytes create the object exactly once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from app.catalogue.errors import InvalidArguments
from app.catalogue.feed_client import FeedClient
from app.catalogue.image_check import check_image
from app.catalogue.models import Image
from app.catalogue.storage import ObjectStore

images = Image.__table__

@dataclass(frozen=True)
class StoredImage:
    image_id: int
    outcome: str  # "uploaded" (this call created the object) or "skipped" (already there)
    storage_key: str
    reason: str
    content_hash: str | None = None  # None: the row was already stored, nothing to record
    size_bytes: int | None = None
    content_type: str | None = None


def storage_key(prefix: str, digest: str, ext: str) -> str:
    return f"{prefix}images/{digest[:2]}/{digest}.{ext}"


def image_id_for(conn: Connection, url: str) -> int:
    image_id = conn.execute(select(images.c.id).where(images.c.source_url == url)).scalar()
    if image_id is None:
        raise InvalidArguments(f"no image row for {url!r}: images are created by their family's sync")
    return image_id


def store_image(engine: Engine, url: str, *, client: FeedClient, store: ObjectStore, max_bytes: int,
                max_pixels: int, key_prefix: str = "") -> StoredImage:
    """Download, check and store the bytes; record with ``mark_stored``.

    No database connection is held during the download or the put: an image pool runs many
    uploads per process on few pooled connections."""
    with engine.connect() as conn:
        row = conn.execute(select(images.c.id, images.c.storage_key, images.c.stored_at)
                           .where(images.c.source_url == url)).first()
    if row is None:
        raise InvalidArguments(f"no image row for {url!r}: images are created by their family's sync")
    if row.stored_at is not None:
        return StoredImage(row.id, "skipped", row.storage_key, "already stored")

    fetched = client.get(url, max_bytes=max_bytes)
    content_type, ext = check_image(fetched.content, url, max_pixels=max_pixels)  # nothing partial is stored
    digest = hashlib.sha256(fetched.content).hexdigest()
    with engine.connect() as conn:
        same_bytes = conn.execute(select(images.c.storage_key).where(
            images.c.content_hash == digest, images.c.stored_at.is_not(None)).limit(1)).scalar()
    if same_bytes:
        key, outcome, reason = same_bytes, "skipped", "same bytes stored under another URL"
    else:
        key = storage_key(key_prefix, digest, ext)
        created = store.put_if_absent(key, fetched.content, content_type)
        outcome, reason = ("uploaded", "stored") if created else ("skipped", "object already in storage")
    return StoredImage(row.id, outcome, key, reason, content_hash=digest, size_bytes=len(fetched.content),
                       content_type=content_type)


def mark_stored(conn: Connection, result: StoredImage) -> None:
    if result.content_hash is None:
        return
    conn.execute(update(images).where(images.c.id == result.image_id, images.c.stored_at.is_(None)).values(
        content_hash=result.content_hash, storage_key=result.storage_key, size_bytes=result.size_bytes,
        content_type=result.content_type, stored_at=func.now(), verified_at=func.now(), last_error=None))


def record_image_error(conn: Connection, url: str, error: str) -> None:
    conn.execute(update(images).where(images.c.source_url == url).values(last_error=error[:2000]))
