"""Check images stored before decoding was verified (``verified_at`` null), once each: the repair command.

Bytes that decode are marked verified. Bytes that do not are un-stored: every image row pointing
at them loses its storage key (with the reason in ``last_error``) and the object is deleted, so
the next sync of their supplier downloads them again (its sweep picks up unstored images).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from app.catalogue.errors import BadImage
from app.catalogue.image_check import check_image
from app.catalogue.models import Image
from app.catalogue.storage import ObjectStore

images = Image.__table__
BATCH = 200


@dataclass
class VerifyReport:
    checked: int = 0  # distinct stored objects read
    intact: int = 0
    broken: list[dict[str, object]] = field(default_factory=list)  # {storage_key, urls, reason}


def verify_stored_images(engine: Engine, store: ObjectStore, *, max_pixels: int, limit: int | None = None) -> VerifyReport:
    report = VerifyReport()
    after = ""
    while limit is None or report.checked < limit:
        with engine.connect() as conn:
            keys = list(conn.execute(
                select(images.c.storage_key).where(images.c.stored_at.is_not(None), images.c.verified_at.is_(None),
                                                   images.c.storage_key > after)
                .group_by(images.c.storage_key).order_by(images.c.storage_key).limit(BATCH)).scalars())
        if not keys:
            break
        for key in keys[: None if limit is None else limit - report.checked]:
            after = key
            report.checked += 1
            reason = _problem(store, key, max_pixels)
            with engine.begin() as conn:
                if reason is None:
                    conn.execute(update(images).where(images.c.storage_key == key, images.c.verified_at.is_(None))
                                 .values(verified_at=func.now()))
                    report.intact += 1
                    continue
                urls = list(conn.execute(
                    update(images).where(images.c.storage_key == key).values(
                        stored_at=None, verified_at=None, storage_key=None, content_hash=None, size_bytes=None,
                        content_type=None, last_error=f"stored bytes failed verification: {reason}"[:2000])
                    .returning(images.c.source_url)).scalars())
            store.delete(key)  # after the rows let go of it; content-addressed, so no good image shares it
            report.broken.append({"storage_key": key, "urls": urls, "reason": reason})
    return report


def _problem(store: ObjectStore, key: str, max_pixels: int) -> str | None:
    try:
        data = store.get(key)
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable object is what we are looking for
        return f"cannot read {key}: {type(exc).__name__}: {exc}"
    try:
        check_image(data, key, max_pixels=max_pixels)
    except BadImage as exc:
        return str(exc)
    return None
