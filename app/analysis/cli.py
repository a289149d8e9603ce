"""Analysis commands: api (the HTTP API server) and analyze submit|show|list|demo."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from app.analysis.demo import DEMO_PAGES_PORT
from app.cli.output import emit_json, table
from app.settings import get_settings

FINAL = ("completed", "failed")


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run("app.analysis.api:create_app", factory=True, host=args.host or settings.analysis_api_host,
                port=args.port or settings.analysis_api_port, log_level=settings.log_level.lower(),
                proxy_headers=False)
    return 0


def _submit(tool_id: str, url: str | None, description: str | None, priority: str) -> dict[str, Any]:
    from app.analysis.request import parse_request
    from app.analysis.submission import submit

    request = parse_request({"tool_id": tool_id, "url": url, "description": description, "priority": priority},
                            allow_private=get_settings().analysis_allow_private_addresses)
    return submit(request)


def cmd_submit(args: argparse.Namespace) -> int:
    from app.analysis.request import InvalidRequestError
    from app.analysis.submission import BrokerUnavailableError

    try:
        record = _submit(args.tool_id, args.url, args.description, args.priority)
    except (InvalidRequestError, BrokerUnavailableError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 2
    if args.json:
        emit_json({"jobId": record["id"], "status": record["status"]})
    else:
        print(record["id"])
    return 0


def _view(record: dict[str, Any]) -> dict[str, Any]:
    from app.analysis.schemas import JobView

    return JobView.from_record(record).model_dump(mode="json")


def cmd_show(args: argparse.Namespace) -> int:
    from app.analysis import store

    record = store.get(args.job_id)
    if record is None:
        print(f"switchyard: no analysis job {args.job_id!r}", file=sys.stderr)
        return 1
    view = _view(record)
    if args.json:
        emit_json(view)
        return 0
    result = view.pop("result")
    timestamps = view.pop("timestamps")
    print(table(["field", "value"], [[k, v] for k, v in {**view, **timestamps}.items()], max_width=200))
    if result:
        analysis = result["analysis"]
        print(f"\nmaturity score: {analysis['maturityScore']}")
        for heading, key in (("strengths", "strengths"), ("limitations", "limitations")):
            print(f"{heading}:" + "".join(f"\n  - {item}" for item in analysis[key]))
        print("use cases:" + "".join(f"\n  - {u['useCase']}" for u in analysis["useCases"]))
        print("technologies:" + "".join(f"\n  - {t['name']} ({t['category']})" for t in analysis["technologies"]))
    return 0


LIST_HEADERS = ["job id", "tool", "priority", "status", "progress", "attempts", "created", "error"]


def _rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["id"], r["tool_id"], r["priority"], r["status"], r["progress"], r["attempts"], r["created_at"],
             (r["error"] or "")[:60]] for r in records]


def cmd_list(args: argparse.Namespace) -> int:
    from app.analysis import store

    records = store.list_recent(status=args.status, tool_id=args.tool, limit=args.limit)
    if args.json:
        emit_json([_view(r) for r in records])
    else:
        print(table(LIST_HEADERS, _rows(records)))
    return 0


def _require_loopback_allowed() -> bool:
    if get_settings().analysis_allow_private_addresses:
        return True
    print("switchyard: the demo serves its pages on 127.0.0.1; run it and the analysis worker with "
          "ANALYSIS_ALLOW_PRIVATE_ADDRESSES=true", file=sys.stderr)
    return False


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the demo pages on 127.0.0.1, submit analyses at mixed priorities, wait for them."""
    from app.analysis import store
    from app.analysis.demo import demo_server, submit_demo_jobs

    if not _require_loopback_allowed():
        return 2
    with demo_server(args.port) as server:
        ids = submit_demo_jobs(server.base_url)
        if not args.json:
            print(f"serving demo pages at {server.base_url}; submitted {len(ids)} analyses")
        deadline = time.monotonic() + args.timeout
        records = [store.get(i) for i in ids]
        while any(r is None or r["status"] not in FINAL for r in records) and time.monotonic() < deadline:
            time.sleep(0.5)  # polling a human-facing command; is the analysis worker running?
            records = [store.get(i) for i in ids]
    done = [r for r in records if r is not None]
    if args.json:
        emit_json([_view(r) for r in done])
    else:
        print(table(LIST_HEADERS, _rows(done)))
    if any(r["status"] not in FINAL for r in done):
        print("switchyard: not all analyses finished in time; is `switchyard worker analysis` running?",
              file=sys.stderr)
        return 1
    return 0


def cmd_demo_pages(args: argparse.Namespace) -> int:
    """Serve the demo pages until interrupted (the local run's page server)."""
    from app.analysis.demo import demo_server

    stop = threading.Event()
    # Explicit handlers: a process started in the background by a non-interactive shell inherits
    # SIGINT ignored, and Python then never raises KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = demo_server(args.port).start()
    try:
        print(f"serving demo pages at {server.base_url} (Ctrl-C stops)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("api", help="run the analysis HTTP API (uvicorn)")
    p.add_argument("--host", help="default ANALYSIS_API_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, help="default ANALYSIS_API_PORT (8080)")
    p.set_defaults(func=cmd_api)

    analyze = subparsers.add_parser("analyze", help="submit and inspect analysis jobs")
    commands = analyze.add_subparsers(dest="analyze_command", required=True, metavar="SUBCOMMAND")

    p = commands.add_parser("submit", help="queue one analysis; prints its job id")
    p.add_argument("tool_id")
    p.add_argument("--url")
    p.add_argument("--description")
    p.add_argument("--priority", choices=("low", "normal", "high"), default="normal")
    p.set_defaults(func=cmd_submit)

    p = commands.add_parser("show", help="one analysis job: status, progress, attempts, result or error")
    p.add_argument("job_id")
    p.set_defaults(func=cmd_show)

    p = commands.add_parser("list", help="recent analysis jobs, newest first")
    p.add_argument("--status", choices=("queued", "running", "retrying", "completed", "failed"))
    p.add_argument("--tool", help="only this toolId")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("demo", help="serve demo pages locally and analyse them at mixed priorities")
    p.add_argument("--port", type=int, default=0, help="page server port (default: any free port)")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the results")
    p.set_defaults(func=cmd_demo)

    p = commands.add_parser("demo-pages", help="serve the demo pages on 127.0.0.1 until Ctrl-C (local run)")
    p.add_argument("--port", type=int, default=DEMO_PAGES_PORT)
    p.set_defaults(func=cmd_demo_pages)
