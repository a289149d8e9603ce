"""The Farcaster indexer's composition root: its services built from the shared resources."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from app.farcaster.hub_client import HubClient, default_client
from app.farcaster.operations import Indexer
from app.farcaster.target_cache import TargetCache
from app.platform.resources import Resources, shared_resources


class CeleryEnqueue:
    """The indexer's follow-up work, sent as Celery tasks by name (tasks/farcaster.py)."""

    def __init__(self, send_task: Any) -> None:
        self.send_task = send_task

    def backfill(self, request_id: int, fid: int) -> None:
        self.send_task("farcaster.backfill_fid", args=[fid], kwargs={"request_id": request_id})

    def apply_staged(self, batch_id: int) -> None:
        self.send_task("farcaster.apply_staged", args=[batch_id])

    def reconcile(self, fid: int) -> None:
        self.send_task("farcaster.reconcile_fid", args=[fid])

    def discover(self, app_fid: int) -> None:
        self.send_task("farcaster.discover_app_users", args=[app_fid])

    def scan_app_users(self, app_fid: int, chunk: int) -> None:
        self.send_task("farcaster.scan_app_users", args=[app_fid, chunk])

    def replay(self) -> None:
        self.send_task("farcaster.replay_new_targets")


@lru_cache(maxsize=1)
def hub_client() -> HubClient:
    """One hub client per process (it holds the connection pool and the failover state)."""
    return default_client()


def build_indexer(resources: Resources) -> Indexer:
    engine = resources.engine
    # hub_client is looked up when called, so a test can replace it on this module.
    return Indexer(engine, TargetCache(engine), CeleryEnqueue(resources.send_task),
                   client_factory=lambda: hub_client())


def indexer() -> Indexer:
    return build_indexer(shared_resources())
