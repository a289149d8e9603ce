"""`switchyard up`: the whole system on this machine, for development and demos."""
from __future__ import annotations

import argparse


def cmd_up(args: argparse.Namespace) -> int:
    from app.localrun.runner import run

    return run(demos=not args.no_demo)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("up", help="run beat, every pool, Flower and the demo workloads until Ctrl-C")
    p.add_argument("--no-demo", action="store_true", help="start no simulators and enqueue no demo work")
    p.set_defaults(func=cmd_up)
