"""Farcaster indexer: targets, backfill, realtime polling and batched event processing.

Shuttle's split: the subscriber (realtime.py) stages relevant events with its cursor,
the processor (processor.py) applies batches, the reconciler (reconcile.py) repairs
drift. Domain code here runs without Celery; tasks/farcaster.py only wraps it.
"""
