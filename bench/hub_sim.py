"""Benchmark of the simulated Snapchain hub.

Generates a network (default 100,000 fids, >= 5M messages), serves it from a separate process
on 127.0.0.1 and measures: generation time, per-fid materialisation (encode + BLAKE3 + Ed25519),
HTTP requests/s and messages/s served cold (first touch) and warm, and event-stream throughput.

    .venv/bin/python bench/hub_sim.py            # full run (100k fids)
    .venv/bin/python bench/hub_sim.py --quick    # a few seconds, 5k fids
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulators.hub.network import Network  # noqa: E402
from simulators.hub.shapes import message_json  # noqa: E402

ENDPOINTS = [("/v1/castsByFid", ""), ("/v1/reactionsByFid", "&reaction_type=None"), ("/v1/linksByFid", ""),
             ("/v1/userDataByFid", ""), ("/v1/verificationsByFid", "")]


def _client(host, port, paths, stop, counts, once=False):
    """A keep-alive client on a raw socket: the bench measures the server, not http.client."""
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    i = 0
    while time.monotonic() < stop and not (once and i >= len(paths)):
        s.sendall(b"GET " + paths[i % len(paths)] + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
        i += 1
        status = f.readline().split()[1]
        length = 0
        while True:
            line = f.readline()
            if line == b"\r\n":
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = f.read(length)
        counts[0] += 1
        if status != b"200":
            counts[2] += 1
        else:
            counts[1] += body.count(b'"hashScheme"')
    s.close()


def load(host, port, fids, seconds, clients, seed, repeat=False):
    """``clients`` keep-alive connections issuing GETs over ``fids`` x ENDPOINTS for ``seconds``."""
    r = random.Random(seed)
    if not repeat:   # cold, backfill-like: each client takes whole fids, all endpoints in a row, never twice
        slices = [[f"{p}?fid={fid}{extra}".encode() for fid in fids[i::clients] for p, extra in ENDPOINTS]
                  for i in range(clients)]
    else:
        paths = [f"{p}?fid={fid}{extra}".encode() for fid in fids for p, extra in ENDPOINTS]
        r.shuffle(paths)
        slices = [paths[i:] + paths[:i] for i in range(0, clients * 7, 7)]
    stop = time.monotonic() + seconds
    counts = [[0, 0, 0] for _ in range(clients)]   # requests, messages, errors
    threads = [threading.Thread(target=_client, args=(host, port, slices[i], stop, counts[i], not repeat))
               for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    req, msgs, errs = (sum(c[k] for c in counts) for k in range(3))
    return {"requests": req, "messages": msgs, "errors": errs, "seconds": round(elapsed, 2),
            "requests_per_s": round(req / elapsed), "messages_per_s": round(msgs / elapsed)}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--fids", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="5k fids, 3 s phases")
    args = p.parse_args(argv)
    if args.quick:
        args.fids, args.seconds = 5000, 3.0
    results = {"fids": args.fids}

    # 1. generation: the plan (follow graph, counts) is eager; content is lazy per fid
    t = time.perf_counter()
    net = Network(num_fids=args.fids, seed=args.seed)
    results["generation_s"] = round(time.perf_counter() - t, 2)
    results["messages"] = net.total_messages
    print(f"generated {args.fids:,} fids / {net.total_messages:,} messages in {results['generation_s']} s", flush=True)
    if not args.quick and net.total_messages < 5_000_000:
        print("WARNING: fewer than 5M messages; raise --fids", flush=True)

    # 2. materialisation: encode + hash every message of N fids, then sign + render them
    sample = random.Random(args.seed).sample(range(1, args.fids + 1), min(500, args.fids))
    t = time.perf_counter()
    states = [net.fid_state(f) for f in sample]
    built = sum(len(s.messages) for s in states)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    for s in states:
        for m in s.messages.values():
            message_json(m)
    t_sign = time.perf_counter() - t
    results["build_messages_per_s"] = round(built / t_build)
    results["sign_render_messages_per_s"] = round(built / t_sign)
    print(f"materialise: {results['build_messages_per_s']:,} msg/s encode+hash, "
          f"{results['sign_render_messages_per_s']:,} msg/s sign+render JSON", flush=True)

    # 3. event stream production, once the stream's actors (the most active fids) are materialised
    t = time.perf_counter()
    for actors in net.stream._actors.values():
        for f in actors:
            net.fid_state(f)
    results["stream_warmup_s"] = round(time.perf_counter() - t, 1)
    net.stream.events_per_block = 500
    net.advance(2)
    t = time.perf_counter()
    before = sum(log.total_events for log in net.stream.shards.values())
    net.advance(10)
    produced = sum(log.total_events for log in net.stream.shards.values()) - before
    results["stream_events_per_s"] = round(produced / (time.perf_counter() - t))
    print(f"stream: {results['stream_events_per_s']:,} events/s produced (2 shards; "
          f"actors materialised in {results['stream_warmup_s']} s)", flush=True)
    del net, states

    # 4. serving, from another process (the server has its own GIL)
    server = subprocess.Popen([sys.executable, "-m", "simulators.hub", "serve", "--port", "0", "--fids", str(args.fids),
                               "--seed", str(args.seed), "--block-rate", "0", "--prereveal", "20"],
                              stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        url = server.stdout.readline().split()[2]
        host, port = url[len("http://"):].split(":")
        port = int(port)
        rnd = random.Random(args.seed)
        cold_fids = rnd.sample(range(1, args.fids + 1), min(args.fids, 200_000))
        results["serve_cold"] = load(host, port, cold_fids, args.seconds, args.clients, 1)
        print("serve cold (first touch: generate + sign):", results["serve_cold"], flush=True)
        hot = cold_fids[:300]
        load(host, port, hot, 120.0, 4, 2)   # warm-up: touch each (fid, endpoint) once
        results["serve_warm"] = load(host, port, hot, args.seconds, args.clients, 3, repeat=True)
        print("serve warm (cached JSON):", results["serve_warm"], flush=True)
        # events endpoint at 1000 per page
        conn = http.client.HTTPConnection(host, port)
        conn.request("POST", "/_sim/rate?blocks_per_second=0&events_per_block=300")
        conn.getresponse().read()
        conn.request("POST", "/_sim/advance?blocks=10")
        conn.getresponse().read()
        t, served = time.perf_counter(), 0
        for shard in (1, 2):
            cursor = 0
            while True:
                conn.request("GET", f"/v1/events?shard_index={shard}&from_event_id={cursor}&pageSize=1000")
                page = json.loads(conn.getresponse().read())["events"]
                if not page:
                    break
                served += len(page)
                cursor = page[-1]["id"] + 1
        results["events_served_per_s"] = round(served / (time.perf_counter() - t))
        print(f"events endpoint: {results['events_served_per_s']:,} events/s served ({served:,} events)", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
