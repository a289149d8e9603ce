"""Catalogue commands: `switchyard catalogue sync|status|failures|suppliers`."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from app.cli.output import emit_json, table

FINAL_SYNC_STATES = ("done", "aborted", "failed")
STATUS_HEADERS = ["sync", "supplier", "mode", "state", "in feed", "unchanged", "queued", "done", "failed",
                  "deactivated", "img queued", "uploaded", "skipped", "img failed", "started", "error"]


def _status_rows(syncs: list[dict[str, Any]]) -> list[list[Any]]:
    return [[s["id"], s["supplier_code"], s["mode"], s["state"], s["families_in_feed"], s["families_unchanged"],
             s["families_queued"], s["families_done"], s["families_failed"], s["families_deactivated"],
             s["images_queued"], s["images_uploaded"], s["images_skipped"], s["images_failed"], s["started_at"],
             (s["error"] or "")[:60]] for s in syncs]


def _print_syncs(args: argparse.Namespace, syncs: list[dict[str, Any]]) -> None:
    if args.json:
        emit_json(syncs)
    else:
        print(table(STATUS_HEADERS, _status_rows(syncs)))


def cmd_sync(args: argparse.Namespace) -> int:
    from app.catalogue import pipeline
    from app.catalogue.direct import run_direct
    from app.catalogue.feed_client import default_client
    from app.catalogue.storage import default_store
    from app.db import get_engine
    from app.settings import get_settings

    settings = get_settings()
    if args.direct:
        progress = None if args.json else (lambda line: print(line, file=sys.stderr))
        results = run_direct(get_engine(), default_client(), default_store(),
                             import_url=args.import_url or settings.catalogue_import_url,
                             limits=pipeline.Limits.from_settings(settings), supplier_codes=args.supplier or None,
                             on_progress=progress)
        _print_syncs(args, results)
        return 1 if any(r["state"] != "done" or r["families_failed"] for r in results) else 0

    from app.catalogue.sync_runs import new_run_id
    from app.platform.resources import shared_resources

    send_task = shared_resources().send_task
    run_id = new_run_id()
    if args.supplier:
        jobs = [send_task("catalogue.sync_supplier", args=[code],
                          kwargs={"run_id": run_id, "import_url": args.import_url}).id
                for code in args.supplier]
    else:
        jobs = [send_task("catalogue.sync_all", kwargs={"run_id": run_id, "import_url": args.import_url}).id]
    if not args.wait:
        if args.json:
            emit_json({"run_id": run_id, "jobs": jobs})
        else:
            print(f"run {run_id}: enqueued {', '.join(jobs)}; follow with `switchyard catalogue status --run {run_id}`")
        return 0
    return _wait_for_run(args, run_id, jobs)


def _wait_for_run(args: argparse.Namespace, run_id: str, jobs: list[str]) -> int:
    from app.catalogue.status import recent_syncs
    from app.db import get_engine
    from app.platform.jobs.models import JobState
    from app.platform.jobs.queries import get_job

    deadline = time.monotonic() + args.timeout
    while True:
        parents = [get_job(j) for j in jobs]
        syncs = recent_syncs(get_engine(), run_id=run_id, limit=1000)
        parents_final = all(p and p["state"] in JobState.FINAL for p in parents)
        if parents_final and all(s["state"] in FINAL_SYNC_STATES for s in syncs):
            _print_syncs(args, syncs)
            failed = any(p["state"] != JobState.SUCCESS for p in parents if p)  # type: ignore[index]
            return 1 if failed or any(s["state"] != "done" or s["families_failed"] for s in syncs) else 0
        if time.monotonic() > deadline:
            _print_syncs(args, syncs)
            print(f"switchyard: run {run_id} not finished after {args.timeout:g}s", file=sys.stderr)
            return 3
        time.sleep(1)


def cmd_status(args: argparse.Namespace) -> int:
    from app.catalogue.status import recent_syncs, sync_summary
    from app.db import get_engine

    if args.sync_id is not None:
        summary = sync_summary(get_engine(), args.sync_id)
        if summary is None:
            print(f"switchyard: no catalogue sync {args.sync_id}", file=sys.stderr)
            return 1
        syncs = [summary]
    else:
        syncs = recent_syncs(get_engine(), limit=args.limit, run_id=args.run, supplier_code=args.supplier)
    _print_syncs(args, syncs)
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    from app.catalogue.status import failures
    from app.db import get_engine

    found = failures(get_engine(), args.sync_id, limit=args.limit)
    if args.json:
        emit_json(found)
        return 0
    print(table(["family", "state", "attempts", "error"],
                [[f["sku"], f["state"], f["attempts"], f["error"]] for f in found["families"]], max_width=120))
    print()
    print(table(["image id", "outcome", "error"],
                [[i["image_id"], i["outcome"], i["error"]] for i in found["images"]], max_width=120))
    return 0


def cmd_suppliers(args: argparse.Namespace) -> int:
    from sqlalchemy import update

    from app.catalogue.models import Supplier
    from app.catalogue.status import list_suppliers
    from app.db import get_engine

    if args.activate or args.deactivate:
        with get_engine().begin() as conn:
            for codes, active in ((args.activate or [], True), (args.deactivate or [], False)):
                if codes:
                    conn.execute(update(Supplier.__table__).where(Supplier.__table__.c.code.in_(codes))
                                 .values(active=active))
    rows = list_suppliers(get_engine())
    if args.json:
        emit_json(rows)
    else:
        print(table(["code", "name", "active", "products", "active products", "last sync", "at", "outcome"],
                    [[r["code"], r["display_name"], r["active"], r["products"], r["active_products"],
                      r["last_sync_id"], r["last_sync_at"], r["last_sync_outcome"]] for r in rows], max_width=80))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    catalogue = subparsers.add_parser("catalogue", help="Promidata catalogue sync: run, follow, inspect")
    sub = catalogue.add_subparsers(dest="catalogue_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("sync", help="sync all active suppliers (or --supplier ones), queued or --direct")
    p.add_argument("--supplier", action="append", metavar="CODE", help="an A-number; repeat for several")
    p.add_argument("--direct", action="store_true", help="run every step inline in this process (no workers)")
    p.add_argument("--import-url", help="override CATALOGUE_IMPORT_URL")
    p.add_argument("--wait", action="store_true", help="queued: wait until every supplier sync has finished")
    p.add_argument("--timeout", type=float, default=3600, help="--wait: give up after this many seconds")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("status", help="recent syncs with families queued/done/failed and images uploaded/skipped")
    p.add_argument("sync_id", nargs="?", type=int)
    p.add_argument("--run", help="only the syncs of one run")
    p.add_argument("--supplier")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("failures", help="failed (or retrying) families and images of one sync, with errors")
    p.add_argument("sync_id", type=int)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_failures)

    p = sub.add_parser("suppliers", help="suppliers with product counts and their last sync outcome")
    p.add_argument("--activate", action="append", metavar="CODE")
    p.add_argument("--deactivate", action="append", metavar="CODE", help="skipped by `catalogue sync`")
    p.set_defaults(func=cmd_suppliers)
