"""Simulated hosts: network namespaces with veth links to one bridge in a private subnet.

Processes started in a host run under `ip netns exec` in their own UTS namespace (so each host
has its own hostname, as Celery node names and lease owners expect) and can reach only the
subnet: a namespace has no default route. Everything is torn down by `Network.destroy()`, which
also kills every process left in the namespaces.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.213"


def ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Why namespaces can't be made here, or None."""
    if os.geteuid() != 0:
        return "multi-host tests need root (network namespaces, veth links)"
    if not shutil.which("ip"):
        return "multi-host tests need iproute2's `ip`"
    if not shutil.which("unshare"):
        return "multi-host tests need util-linux's `unshare`"
    return None


def _free_octet() -> int:
    used = ip("-o", "-4", "addr", "show")
    for octet in random.sample(range(100, 250), 150):
        if f" {SUBNET}.{octet}." not in used:
            return octet
    raise RuntimeError(f"no free {SUBNET}.x.0/24 subnet")


@dataclass
class Host:
    name: str
    netns: str
    link: str  # the bridge side of the host's veth pair
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def popen(self, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
        wrapped = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c",
                   f'hostname {self.name} && exec "$@"', "sh", *argv]
        process = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def pids(self) -> list[int]:
        return [int(p) for p in ip("netns", "pids", self.netns, check=False).split()]

    def kill_everything(self) -> int:
        """SIGKILL every process in the host (a power cut); returns how many there were."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        return len(pids)

    def cut(self) -> None:
        """The host's cable pulled: its packets go nowhere, its open connections hang."""
        ip("link", "set", self.link, "down")

    def restore(self) -> None:
        ip("link", "set", self.link, "up")


class Network:
    def __init__(self) -> None:
        self.octet = _free_octet()
        self.tag = f"sy{self.octet}"
        self.bridge = f"{self.tag}br"
        self.gateway = f"{SUBNET}.{self.octet}.1"  # the bridge's own address: Redis, PostgreSQL, simulators
        self.hosts: list[Host] = []
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_host(self) -> Host:
        index = len(self.hosts) + 1
        name, netns = f"host{index}", f"{self.tag}h{index}"
        outside, inside = f"{self.tag}h{index}a", f"{self.tag}h{index}b"
        address = f"{SUBNET}.{self.octet}.{10 + index}"
        ip("netns", "add", netns)
        host = Host(name, netns, outside, address)
        self.hosts.append(host)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", netns)
        ip("link", "set", outside, "master", self.bridge, "up")
        ip("-n", netns, "addr", "add", f"{address}/24", "dev", inside)
        ip("-n", netns, "link", "set", inside, "up")
        ip("-n", netns, "link", "set", "lo", "up")
        return host

    def destroy(self) -> None:
        for host in self.hosts:
            host.kill_everything()
            ip("link", "del", host.link, check=False)
            ip("netns", "del", host.netns, check=False)
        ip("link", "del", self.bridge, check=False)
        self.hosts.clear()
