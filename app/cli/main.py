"""`switchyard` entry point: each domain registers its subcommands from its own module."""
from __future__ import annotations

import argparse
import importlib
import sys

from app.settings import SettingsError

# Modules with `register(subparsers)`; each adds its subcommands (with a `func`).
COMMAND_MODULES = (
    "app.cli.platform",
    "app.cli.analysis",
    "app.cli.catalogue",
    "app.cli.local",
    "app.cli.farcaster",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchyard", description="Operate Switchyard's queues, jobs and pipelines.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
