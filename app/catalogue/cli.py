"""Catalogue commands: `switchyard catalogue sync|status|failures|suppliers|verify-images`."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from app.cli.output import emit_json, table

FINAL_SYNC_STATES = ("done", "aborted", "failed")
STATUS_HEADERS = ["sync", "supplier", "mode", "state", "in feed", "bad lines", "dup lines", "unchanged", "queued",
                  "done", "failed", "deactivated", "img queued", "uploaded", "skipped", "img failed", "started",
                  "error"]


def _status_rows(syncs: list[dict[str, Any]]) -> list[list[Any]]:
    return [[s["id"], s["supplier_code"], s["mode"], s["state"], s["families_in_feed"], s["malformed_lines"],
             s["duplicate_lines"], s["families_unchanged"], s["families_queued"], s["families_done"],
             s["families_failed"], s["families_deactivated"], s["images_queued"], s["images_uploaded"],
             s["images_skipped"], s["images_failed"], s["started_at"], (s["error"] or "")[:60]] for s in syncs]


def run_failed(syncs: list[dict[str, Any]]) -> bool:
    """A run is good only when every supplier sync is done with no family and no image failed."""
    return not syncs or any(s["state"] != "done" or s["families_failed"] or s["images_failed"] for s in syncs)


def _print_summary(syncs: list[dict[str, Any]]) -> None:
    """One line per sync that did not end well, on stderr, with where to look next."""
    for s in syncs:
        if s["state"] != "done":
            print(f"switchyard: sync {s['id']} ({s['supplier_code']}) {s['state']}: {s['error'] or ''}", file=sys.stderr)
        elif s["families_failed"] or s["images_failed"]:
            print(f"switchyard: sync {s['id']} ({s['supplier_code']}): {s['families_failed']} families and "
                  f"{s['images_failed']} images failed; see `switchyard catalogue failures {s['id']}`",
                  file=sys.stderr)
    if not syncs:
        print("switchyard: the run synced no supplier", file=sys.stderr)


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
        _print_summary(results)
        return 1 if run_failed(results) else 0

    from app.catalogue.sync_runs import new_run_id
    from app.platform.resources import shared_resources

    if args.wait and not _consumers("supplier-sync"):
        print("switchyard: no worker consumes the supplier-sync queue, so --wait would wait for nothing; start "
              "one (`switchyard worker supplier-sync`) or run `switchyard catalogue sync --direct`", file=sys.stderr)
        return 2
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


def _consumers(queue: str) -> list[str]:
    """Workers that consume the queue now (they answer a broadcast within a second)."""
    from app.platform.celery_app import celery

    replies = celery.control.inspect(timeout=1.0).active_queues() or {}
    return sorted(worker for worker, queues in replies.items() if any(q.get("name") == queue for q in queues))


def _expected_syncs(parents: list[dict[str, Any] | None]) -> int | None:
    """How many supplier syncs the run will have: known once every "sync all" has listed its suppliers."""
    expected = 0
    for job in parents:
        if job is None:
            return None
        if job["name"] == "catalogue.sync_all":
            if job["state"] not in ("SUCCESS", "FAILURE", "REVOKED", "REJECTED"):
                return None
            expected += len((job["result"] or {}).get("suppliers") or [])
        else:
            expected += 1
    return expected


def _wait_for_run(args: argparse.Namespace, run_id: str, jobs: list[str]) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.catalogue.status import recent_syncs
    from app.db import get_engine
    from app.platform.jobs.models import JobState
    from app.platform.jobs.queries import get_job

    deadline = time.monotonic() + args.timeout
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=args.json or not console.is_terminal) as bar:
        families = bar.add_task("families", total=None)
        images = bar.add_task("images", total=None)
        while True:
            parents = [get_job(j) for j in jobs]
            syncs = recent_syncs(get_engine(), run_id=run_id, limit=1000)
            bar.update(families, total=sum(s["families_queued"] for s in syncs) or None,
                       completed=sum(s["families_done"] + s["families_failed"] for s in syncs))
            bar.update(images, total=sum(s["images_queued"] for s in syncs) or None,
                       completed=sum(s["images_queued"] - s["images_pending"] for s in syncs))
            expected = _expected_syncs(parents)
            parents_final = all(p and p["state"] in JobState.FINAL for p in parents)
            if parents_final and expected is not None and len(syncs) >= expected \
                    and all(s["state"] in FINAL_SYNC_STATES for s in syncs):
                break
            if time.monotonic() > deadline:
                bar.stop()
                _print_syncs(args, syncs)
                print(f"switchyard: run {run_id} not finished after {args.timeout:g}s", file=sys.stderr)
                return 3
            time.sleep(0.5)
    _print_syncs(args, syncs)
    failed_parents = [p for p in parents if p and p["state"] != JobState.SUCCESS]
    for p in failed_parents:
        print(f"switchyard: {p['name']} {p['id']} {p['state']}: {(p['error'] or '')[:300]}", file=sys.stderr)
    _print_summary(syncs)
    return 1 if failed_parents or run_failed(syncs) else 0


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


def cmd_verify_images(args: argparse.Namespace) -> int:
    from app.catalogue.image_repair import verify_stored_images
    from app.catalogue.storage import default_store
    from app.db import get_engine
    from app.settings import get_settings

    report = verify_stored_images(get_engine(), default_store(), max_pixels=get_settings().catalogue_max_image_pixels,
                                  limit=args.limit)
    if args.json:
        emit_json({"checked": report.checked, "intact": report.intact, "broken": report.broken})
    else:
        print(f"checked {report.checked} stored image(s) not verified before: {report.intact} intact, "
              f"{len(report.broken)} broken")
        for item in report.broken:
            print(f"  {item['storage_key']}: {item['reason']} ({len(item['urls'])} URL(s))")  # type: ignore[arg-type]
        if report.broken:
            print("broken images are no longer stored; the next `switchyard catalogue sync` downloads them again")
    return 1 if report.broken else 0


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

    p = sub.add_parser("verify-images", help="decode every stored image not verified yet, once; un-store broken ones")
    p.add_argument("--limit", type=int, help="check at most this many stored objects")
    p.set_defaults(func=cmd_verify_images)
