"""Sends one run's work through the documented entry points, in a process configured like a
user's (the cluster's env): Farcaster roots and a client app, a catalogue sync of every supplier,
and a batch of analyses. Prints what it sent as JSON."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--roots", default="")
    parser.add_argument("--client-app", type=int, default=0)
    parser.add_argument("--pages", default="", help="base URL of the pages to analyse")
    parser.add_argument("--analyses", type=int, default=0)
    parser.add_argument("--catalogue", action="store_true")
    parser.add_argument("--backfill-fids", default="", help="FIRST-LAST: request a backfill of each")
    args = parser.parse_args(argv)
    sent: dict[str, object] = {}
    if args.roots or args.client_app:
        from tasks.farcaster import indexer

        ix = indexer()
        if args.client_app:
            ix.add_client_app(args.client_app)
            ix.enqueue.discover(args.client_app)
        roots = [int(r) for r in args.roots.split(",") if r]
        for root in roots:
            ix.add_target(root, root=True)
        sent["roots"] = roots
    if args.backfill_fids:
        from tasks.farcaster import indexer

        first, last = (int(x) for x in args.backfill_fids.split("-"))
        ix = indexer()
        sent["backfills"] = [ix.request_backfill(fid) for fid in range(first, last + 1)]
    if args.catalogue:
        from tasks.catalogue import new_run_id, sync_all

        run_id = new_run_id()
        sync_all.apply_async(kwargs={"run_id": run_id})
        sent["catalogue_run"] = run_id
    if args.analyses:
        from app.analysis.request import parse_request
        from app.analysis.submission import submit

        sent["analyses"] = [
            submit(parse_request({"tool_id": f"tool-{i}", "url": f"{args.pages}/page/{i}"}, allow_private=True))["id"]
            for i in range(args.analyses)]
    print(json.dumps(sent), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
