"""Command line: ``python -m simulators.hub serve --port 3381 --fids 200 --seed 1 --block-rate 1``."""
from __future__ import annotations

import argparse
import json
import sys

from .faults import FaultConfig
from .generator import NetworkConfig
from .network import Network
from ..serving import serve_until_stopped
from .server import HubServer


def _network(args) -> Network:
    cfg = NetworkConfig(seed=args.seed, num_fids=args.fids, num_shards=args.shards,
                        num_client_apps=args.client_apps, events_per_block=args.events_per_block,
                        retention_seconds=args.retention)
    return Network(cfg)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulators.hub", description="Simulated Snapchain hub")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("serve", "info", "ground-truth"):
        s = sub.add_parser(name)
        s.add_argument("--fids", type=int, default=200)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--shards", type=int, default=2)
        s.add_argument("--client-apps", type=int, default=3)
        s.add_argument("--events-per-block", type=float, default=6.0)
        s.add_argument("--retention", type=float, default=3 * 24 * 3600, help="event retention, seconds")
    serve = sub.choices["serve"]
    serve.add_argument("--port", type=int, default=3381)
    serve.add_argument("--block-rate", type=float, default=1.0, help="blocks per second per shard (0 = manual)")
    serve.add_argument("--prereveal", type=int, default=0, help="blocks to reveal before serving")
    serve.add_argument("--hubble", action="store_true", help="serve Hubble 1.19 shapes and event ids")
    serve.add_argument("--faults", default=None, help='JSON FaultConfig, e.g. \'{"error_rate":0.05}\'')
    gt = sub.choices["ground-truth"]
    gt.add_argument("--roots", default="")
    gt.add_argument("--apps", default="", help="client app fids")
    gt.add_argument("--at", type=int, default=0, help="stream position (blocks revealed)")
    args = p.parse_args(argv)

    net = _network(args)
    if args.command == "info":
        print(json.dumps({"fids": net.config.num_fids, "messages": net.total_messages,
                          "client_apps": net.plan.client_apps,
                          "shards": {s: len(f) for s, f in net.shard_fids.items()}}))
        return 0
    if args.command == "ground-truth":
        net.advance(args.at)
        ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
        print(json.dumps(net.ground_truth(ints(args.roots), ints(args.apps)).to_dict()))
        return 0

    if args.prereveal:
        net.advance(args.prereveal)
    faults = FaultConfig.from_dict(json.loads(args.faults)) if args.faults else None
    hub = HubServer(net, port=args.port, block_rate=args.block_rate, hubble=args.hubble, faults=faults)
    hub.start()
    print(f"hub simulator: {hub.url} fids={net.config.num_fids} messages={net.total_messages} "
          f"client_apps={net.plan.client_apps} block_rate={args.block_rate}", flush=True)
    return serve_until_stopped(hub)


if __name__ == "__main__":
    sys.exit(main())
