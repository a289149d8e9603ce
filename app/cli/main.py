"""`switchyard` entry point: each pipeline registers its subcommands (its declaration's `cli`)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import pipelines as registry
from app.platform.pipeline import Pipeline, resolve
from app.settings import SettingsError


def build_parser(pipelines: Sequence[Pipeline] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchyard", description="Operate Switchyard's queues, jobs and pipelines.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for pipeline in registry.PIPELINES if pipelines is None else pipelines:
        for register in pipeline.cli:  # each `register(subparsers)` adds subcommands with a `func`
            resolve(register)(subparsers)
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
