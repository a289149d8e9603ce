"""Store one image: download, deduplicate by URL and by content hash, conditional put, record.

Dedupe happens at three levels: an image row already stored is skipped without a download; bytes
whose sha256 is already stored under another URL reuse that object; and the conditional put
(If-None-Match) makes concurrent uploads of the same bytes create the object exactly once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from app.catalogue.errors import BadImage, InvalidArguments
from app.catalogue.feed_client import FeedClient
from app.catalogue.models import Image
from app.catalogue.storage import ObjectStore

images = Image.__table__

# Magic numbers, not the Content-Type header: image hosts often send application/octet-stream.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


@dataclass(frozen=True)
class StoredImage:
    image_id: int
    outcome: str  # "uploaded" (this call created the object) or "skipped" (already there)
    storage_key: str
    reason: str
    content_hash: str | None = None  # None: the row was already stored, nothing to record
    size_bytes: int | None = None
    content_type: str | None = None


def sniff(data: bytes, url: str) -> tuple[str, str]:
    """(content type, extension) from the file's first bytes."""
    for magic, content_type, ext in SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise BadImage(f"{url}: not a JPEG, PNG, GIF or WebP file (starts with {data[:8]!r})")


def storage_key(prefix: str, digest: str, ext: str) -> str:
    return f"{prefix}images/{digest[:2]}/{digest}.{ext}"


def image_id_for(conn: Connection, url: str) -> int:
    image_id = conn.execute(select(images.c.id).where(images.c.source_url == url)).scalar()
    if image_id is None:
        raise InvalidArguments(f"no image row for {url!r}: images are created by their family's sync")
    return image_id


def store_image(conn: Connection, url: str, *, client: FeedClient, store: ObjectStore, max_bytes: int,
                key_prefix: str = "") -> StoredImage:
    """Download and store the bytes (no transaction is held open meanwhile); record with ``mark_stored``."""
    row = conn.execute(select(images.c.id, images.c.storage_key, images.c.stored_at)
                       .where(images.c.source_url == url)).first()
    conn.commit()
    if row is None:
        raise InvalidArguments(f"no image row for {url!r}: images are created by their family's sync")
    if row.stored_at is not None:
        return StoredImage(row.id, "skipped", row.storage_key, "already stored")

    fetched = client.get(url, max_bytes=max_bytes)
    content_type, ext = sniff(fetched.content, url)
    digest = hashlib.sha256(fetched.content).hexdigest()
    same_bytes = conn.execute(select(images.c.storage_key).where(
        images.c.content_hash == digest, images.c.stored_at.is_not(None)).limit(1)).scalar()
    conn.commit()
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
        content_type=result.content_type, stored_at=func.now(), last_error=None))


def record_image_error(conn: Connection, url: str, error: str) -> None:
    conn.execute(update(images).where(images.c.source_url == url).values(last_error=error[:2000]))
