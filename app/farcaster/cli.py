"""Farcaster indexer commands: `switchyard farcaster ...` and `switchyard hub-sim ...`.

Target and client-app changes are written to PostgreSQL here and now (then backfills are
queued); backfill and reconcile are queued on the `backfill` pool, as beat does."""
from __future__ import annotations

import argparse
import sys

from app.cli.output import emit_json, table


def _indexer():
    from app.farcaster.services import indexer

    return indexer()


def _out(args: argparse.Namespace, data, headers=None, rows=None) -> int:
    if args.json or headers is None:
        emit_json(data)
    else:
        print(table(headers, rows))
    return 0


def cmd_targets_add(args):
    return _out(args, _indexer().add_target(args.fid, root=args.root))


def cmd_targets_remove(args):
    return _out(args, _indexer().remove_target(args.fid))


def cmd_targets_list(args):
    from app.farcaster import targets

    with _indexer().engine.connect() as conn:
        rows = targets.list_targets(conn, roots_only=args.roots)
    return _out(args, rows, ["fid", "root", "manual", "client app", "followed", "added", "backfilled"],
                [[r["fid"], r["is_root"], r["manual"], r["client_app_fid"], r["followed_by_root"], r["added_at"],
                  r["last_backfilled_at"]] for r in rows])


def cmd_apps_add(args):
    from app.platform.resources import shared_resources

    result = _indexer().add_client_app(args.fid)
    if not args.no_scan:
        result["scan_task"] = shared_resources().send_task("farcaster.discover_app_users", args=[args.fid]).id
    return _out(args, result)


def cmd_apps_list(args):
    from app.farcaster import targets

    with _indexer().engine.connect() as conn:
        rows = targets.list_client_apps(conn)
    return _out(args, rows, ["fid", "added", "users scanned", "users"],
                [[r["fid"], r["added_at"], r["users_scanned_at"], r["users"]] for r in rows])


def cmd_backfill(args):
    return _out(args, _indexer().request_backfill(args.fid))


def cmd_reconcile(args):
    if args.allow_deletes:  # an operator checked the hub: run it here and now, and show the outcome
        return _out(args, _indexer().reconcile(args.fid, allow_deletes=True))
    from app.platform.resources import shared_resources

    task = shared_resources().send_task("farcaster.reconcile_fid", args=[args.fid])
    return _out(args, {"fid": args.fid, "task_id": task.id})


def cmd_reconcile_refusals(args):
    from app.farcaster.reconcile import list_refusals

    with _indexer().engine.connect() as conn:
        rows = list_refusals(conn)
    return _out(args, rows, ["fid", "rows gone", "active rows", "refused"],
                [[r["fid"], r["rows"], r["active_rows"], r["refused_at"]] for r in rows])


def cmd_skipped(args):
    from sqlalchemy import text

    with _indexer().engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT kind, count, first_seen_at, last_seen_at FROM farcaster_skipped_kinds ORDER BY kind")).mappings()]
    return _out(args, rows, ["kind", "count", "first seen", "last seen"],
                [[r["kind"], r["count"], r["first_seen_at"], r["last_seen_at"]] for r in rows])


def cmd_cursors(args):
    from sqlalchemy import text

    from app.farcaster import realtime
    from app.farcaster import services

    ix = _indexer()
    with ix.engine.connect() as conn:
        cursors = dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all())
        unapplied = conn.execute(text("SELECT count(*) FROM farcaster_staged_batches WHERE applied_at IS NULL")).scalar()
    try:
        info = services.hub_client().info()
        heads = {s: realtime.head_event_id(info, s) for s in realtime.stream_shards(info)}
    except Exception as exc:  # noqa: BLE001 - show what the database knows even when the hub is down
        print(f"switchyard: hub unavailable: {exc}", file=sys.stderr)
        heads = {}
    data = []
    for shard in sorted(set(cursors) | set(heads)):
        cursor, head = cursors.get(shard), heads.get(shard)
        lag = None
        if cursor is not None and head is not None:
            lag = max(0, (head - cursor) >> realtime.SEQ_BITS) if shard else max(0, head - cursor)
        data.append({"shard": shard, "cursor": cursor, "hub_head": head, "lag_blocks": lag})
    if args.json:
        emit_json({"shards": data, "unapplied_batches": unapplied})
        return 0
    print(table(["shard", "cursor", "hub head", "lag (blocks)"],
                [[d["shard"], d["cursor"], d["hub_head"], d["lag_blocks"]] for d in data]))
    print(f"staged batches not yet applied: {unapplied}")
    return 0


def cmd_rebuild_cache(args):
    return _out(args, _indexer().rebuild_cache())


def cmd_recover(args):
    return _out(args, _indexer().recover(args.stale_after))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    return f"{seconds:.0f}s" if seconds < 120 else (f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h")


def cmd_backfills(args: argparse.Namespace) -> int:
    from app.db import get_engine
    from app.farcaster import backfill_requests

    engine = get_engine()
    resent: list[tuple[int, int]] = []
    if args.resend_failed:
        with engine.begin() as conn:
            resent = backfill_requests.resend_failed(conn)
        _indexer().send_backfills(resent)
    with engine.connect() as conn:
        counts = backfill_requests.counts(conn)
        rows = backfill_requests.listing(conn, state=args.state, limit=args.limit)
    if args.json:
        emit_json({"counts": counts, "requests": rows, "resent": [{"id": i, "fid": f} for i, f in resent]})
        return 0
    if args.resend_failed:
        print(f"re-sent {len(resent)} failed backfill(s)" + (f": fids {', '.join(str(f) for _, f in resent)}"
                                                             if resent else ""))
    print("  ".join(f"{state}: {n}" for state, n in counts.items()))
    print(table(["id", "fid", "state", "reason", "age", "running", "took", "pages", "messages", "worker",
                 "heartbeat", "error"],
                [[r["id"], r["fid"], r["state"], r["reason"], _age(r["age_seconds"]),
                  _age(r["running_seconds"]) if r["state"] == "running" else "-", _age(r["took_seconds"]),
                  r["pages"], r["messages"], r["worker"] or "-",
                  f"{_age(r['heartbeat_age_seconds'])} ago" if r["heartbeat_age_seconds"] is not None else "-",
                  (r["error"] or "")[:60]] for r in rows]))
    return 0


def cmd_hub_sim(args):
    from simulators.hub.cli import main

    return main(args.argv)


def _fid(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a fid is a positive integer, got {value!r}")
    return int(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    fc = subparsers.add_parser("farcaster", help="Farcaster indexer: targets, client apps, backfill, cursors")
    sub = fc.add_subparsers(dest="farcaster_command", required=True, metavar="SUBCOMMAND")

    targets = sub.add_parser("targets", help="the indexed accounts").add_subparsers(
        dest="targets_command", required=True, metavar="ACTION")
    p = targets.add_parser("add", help="make a fid a target and backfill it (--root: its follows too)")
    p.add_argument("fid", type=_fid)
    p.add_argument("--root", action="store_true")
    p.set_defaults(func=cmd_targets_add)
    p = targets.add_parser("remove", help="drop the manual reason (rows are kept)")
    p.add_argument("fid", type=_fid)
    p.set_defaults(func=cmd_targets_remove)
    p = targets.add_parser("list", help="targets with why each is one")
    p.add_argument("--roots", action="store_true", help="roots only")
    p.set_defaults(func=cmd_targets_list)

    apps = sub.add_parser("client-apps", help="client apps whose users become roots").add_subparsers(
        dest="apps_command", required=True, metavar="ACTION")
    p = apps.add_parser("add", help="register a client app and scan the hub for its users")
    p.add_argument("fid", type=_fid)
    p.add_argument("--no-scan", action="store_true", help="only future signer adds")
    p.set_defaults(func=cmd_apps_add)
    apps.add_parser("list", help="client apps and their user counts").set_defaults(func=cmd_apps_list)

    p = sub.add_parser("backfill", help="queue a backfill of one fid (not if one is waiting or running)")
    p.add_argument("fid", type=_fid)
    p.set_defaults(func=cmd_backfill)
    p = sub.add_parser("backfills", help="backfill requests by state: ages, errors, the worker running each")
    p.add_argument("--state", choices=("pending", "running", "done", "failed"))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--resend-failed", action="store_true",
                   help="first queue a new backfill of every target whose latest backfill failed")
    p.set_defaults(func=cmd_backfills)
    p = sub.add_parser("reconcile", help="queue a hub/database reconciliation of one fid")
    p.add_argument("fid", type=_fid)
    p.add_argument("--allow-deletes", action="store_true",
                   help="run it now and mark what the hub no longer lists even past the delete guard's ratio")
    p.set_defaults(func=cmd_reconcile)
    sub.add_parser("reconcile-refusals", help="fids whose reconciliation the delete guard refused").set_defaults(
        func=cmd_reconcile_refusals)
    sub.add_parser("skipped", help="hub data kinds skipped (unknown or not indexed), with counts").set_defaults(
        func=cmd_skipped)
    sub.add_parser("cursors", help="per shard: cursor, hub head, lag").set_defaults(func=cmd_cursors)
    sub.add_parser("rebuild-cache", help="rebuild the Redis target sets from PostgreSQL").set_defaults(
        func=cmd_rebuild_cache)
    p = sub.add_parser("recover", help="re-send staged batches and open backfills (what beat does)")
    p.add_argument("--stale-after", type=float, default=0, help="only work older than this many seconds")
    p.set_defaults(func=cmd_recover)

    p = subparsers.add_parser("hub-sim", help="the simulated Snapchain hub (serve, info, ground-truth)",
                              add_help=False)
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_hub_sim)
