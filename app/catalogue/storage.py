"""Object storage for image bytes: S3-compatible (boto3) when a bucket is configured, else a local directory.

Both implement one conditional write, ``put_if_absent``: the object is written only when the
key does not exist yet (S3 ``If-None-Match: *``; a hard link locally), so concurrent workers
storing the same content never overwrite each other and exactly one of them reports "created".
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class ObjectStore(Protocol):
    description: str

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Store data at key unless it exists. True when this call created the object."""

    def exists(self, key: str) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalDirectoryStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.description = f"local directory {self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the store: {key!r}")
        return path

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        target = self._path(key)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, target)  # atomic and fails if the name exists: the local If-None-Match
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()
                      and not p.name.startswith(".upload-"))


class S3Store:
    """Any S3-compatible service; Cloudflare R2 with its account endpoint and region "auto"."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.description = f"s3://{bucket}" + (f" at {endpoint_url}" if endpoint_url else "")
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
            # One client serves every thread of an image-upload worker: a connection each.
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                          max_pool_connections=64,
                          s3={"addressing_style": "path"} if endpoint_url else None),
        )

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                   IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise  # ConditionalRequestConflict (a concurrent write in flight) and others: retried by the task
        return True

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return sorted(keys)


def build_store(settings: object | None = None) -> ObjectStore:
    from app.settings import get_settings

    s = settings or get_settings()
    if s.catalogue_s3_bucket:  # type: ignore[attr-defined]
        return S3Store(s.catalogue_s3_bucket, endpoint_url=s.catalogue_s3_endpoint_url,  # type: ignore[attr-defined]
                       region=s.catalogue_s3_region, access_key_id=s.catalogue_s3_access_key_id,  # type: ignore[attr-defined]
                       secret_access_key=s.catalogue_s3_secret_access_key)  # type: ignore[attr-defined]
    return LocalDirectoryStore(s.catalogue_storage_dir)  # type: ignore[attr-defined]


_store: ObjectStore | None = None
_store_pid: int | None = None


def default_store() -> ObjectStore:
    """One store (and boto3 client) per process, rebuilt after a fork."""
    global _store, _store_pid
    if _store is None or _store_pid != os.getpid():
        _store, _store_pid = build_store(), os.getpid()
    return _store
