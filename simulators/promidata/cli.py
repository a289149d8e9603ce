"""Command line: ``python -m simulators.promidata serve --port 8781 --suppliers 3 --families 20 --latency-ms 50``."""
from __future__ import annotations

import argparse
import json
import sys

from ..serving import serve_until_stopped
from .faults import Faults
from .model import DEFAULT_SUPPLIERS, FeedModel
from .server import PromidataServer


def _model(args: argparse.Namespace) -> FeedModel:
    if not 1 <= args.suppliers <= len(DEFAULT_SUPPLIERS):
        raise SystemExit(f"--suppliers must be 1..{len(DEFAULT_SUPPLIERS)}")
    return FeedModel(seed=args.seed, suppliers=DEFAULT_SUPPLIERS[: args.suppliers],
                     families_per_supplier=args.families, images_per_family=args.images_per_family)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.promidata", description="Simulated Promidata feed")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "info"):
        s = sub.add_parser(name)
        s.add_argument("--suppliers", type=int, default=3, help="how many of A23, A36, A403, A73, A360")
        s.add_argument("--families", type=int, default=20, help="families per supplier")
        s.add_argument("--images-per-family", type=int, default=4)
        s.add_argument("--seed", type=int, default=1)
    serve = sub.choices["serve"]
    serve.add_argument("--port", type=int, default=8781, help="0 picks a free port")
    serve.add_argument("--latency-ms", type=float, default=0, help="added to every feed request")
    serve.add_argument("--faults", default=None, help='JSON, e.g. \'{"error_rate": 0.05, "malformed": ["A23-100001"]}\'')
    args = parser.parse_args(argv)

    model = _model(args)
    if args.command == "info":
        truth = model.ground_truth()
        truth["images"] = len(truth.pop("image_urls"))
        truth["imprint_images"] = len(truth.pop("imprint_image_urls"))
        print(json.dumps(truth))
        return 0
    faults = Faults(latency_seconds=args.latency_ms / 1000)
    if args.faults:
        faults.update(**json.loads(args.faults))
    server = PromidataServer(model, port=args.port, faults=faults).start()
    print(f"promidata simulator: IMPORT_URL={server.import_url} suppliers={[s.code for s in model.suppliers]} "
          f"families={len(model.live_skus())} latency_ms={args.latency_ms:g}", flush=True)
    return serve_until_stopped(server)


if __name__ == "__main__":
    sys.exit(main())
