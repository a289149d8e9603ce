"""Lose a worker host, Redis's data, Redis or PostgreSQL in the middle of a run, lose nothing.

Each scenario sends a backfill wave (two roots and a client app on a 40-fid hub), a catalogue
sync (3 suppliers) and ten analyses, injects its fault once work is running, and requires every
pipeline to match the simulators' ground truth with every analysis completed exactly once by
effect. The recovery figure is the time from the loss to the lost work running again.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.multihost.cluster import Cluster
from tests.multihost.netns import Host
from tests.multihost.truth import catalogue_done, install_effect_log, pending_work, problems
from tests.support import wait_until

ROOTS = "3,9"
ANALYSES = 10
RECOVERY_BOUND = 60  # seconds: the bound for work held by a lost host to run again
RECOVERY: dict[str, float] = {}


def quietly(probe: Callable[[], Any]) -> Callable[[], Any]:
    """A probe that reads PostgreSQL while it may be restarting: an error is 'not yet'."""
    def run() -> Any:
        try:
            return probe()
        except Exception:  # noqa: BLE001
            return None
    return run


def start_run(cluster: Cluster) -> tuple[dict[str, Any], int]:
    cluster.reset()
    install_effect_log(cluster)
    app_fid = cluster.hub.network.plan.client_apps[0]
    sent = cluster.send(roots=ROOTS, client_app=app_fid, catalogue=True, analyses=ANALYSES,
                        pages=cluster.pages.base_url)
    return sent, app_fid


def running_on(cluster: Cluster, host: Host | None = None) -> int:
    pattern = f"%@{host.name}:%" if host else "%"
    return int(cluster.scalar("SELECT count(*) FROM leases WHERE state = 'running' AND owner LIKE :p", p=pattern))


def finished(cluster: Cluster, sent: dict[str, Any]) -> bool:
    return not pending_work(cluster, sent) and catalogue_done(cluster)


def wait_finished(cluster: Cluster, sent: dict[str, Any], timeout: float) -> None:
    try:
        wait_until(quietly(lambda: finished(cluster, sent)), timeout=timeout, interval=0.5, message="the run to finish")
    except AssertionError:
        raise AssertionError(f"unfinished: {quietly(lambda: pending_work(cluster, sent))()}\n"
                             f"{quietly(lambda: unfinished_detail(cluster))()}\n{cluster.tail_logs()}") from None


def unfinished_detail(cluster: Cluster) -> str:
    from sqlalchemy import text

    with cluster.engine.connect() as conn:
        backfills = conn.execute(text("SELECT id, fid, state FROM farcaster_backfill_requests "
                                      "WHERE state NOT IN ('done', 'failed')")).all()
        jobs = conn.execute(text("SELECT id, name, state, worker, args, kwargs, created_at, started_at FROM jobs "
                                 "WHERE state NOT IN ('SUCCESS') AND name NOT LIKE 'maintenance.%' "
                                 "ORDER BY created_at")).all()
        held = conn.execute(text("SELECT kind, key, epoch, state, owner FROM leases WHERE state <> 'released'")).all()
    return f"backfill requests: {backfills}\njobs not done: {jobs[:20]}\nleases not released: {held}"


def assert_ground_truth(cluster: Cluster, sent: dict[str, Any], app_fid: int) -> None:
    found = problems(cluster, sent, app_fid)
    assert not found, "\n".join(found)


def held_by(cluster: Cluster, host: Host) -> dict[tuple[str, str], int]:
    with cluster.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT kind, key, epoch FROM leases WHERE state = 'running' AND owner LIKE :p"),
                            {"p": f"%@{host.name}:%"}).all()
    return {(kind, key): epoch for kind, key, epoch in rows}


def leases(cluster: Cluster) -> list[Any]:
    from sqlalchemy import text

    with cluster.engine.connect() as conn:
        return list(conn.execute(text("SELECT kind, key, epoch, state, owner, taken_at, resent_at FROM leases "
                                      "ORDER BY taken_at")).all())


def taken_elsewhere(cluster: Cluster, held: dict[tuple[str, str], int], host: Host) -> bool:
    """Every lease the lost host held has a newer epoch owned by another host (or is done)."""
    from sqlalchemy import text

    with cluster.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, key, epoch, state, owner FROM leases")).all()
    now = {(k, key): (epoch, state, owner or "") for k, key, epoch, state, owner in rows}
    # Released: done (also by the lost host itself, in the instant before the loss).
    return all(now[item][1] == "released" or (now[item][0] > epoch and f"@{host.name}:" not in now[item][2])
               for item, epoch in held.items())


def lose_a_host(cluster: Cluster, victim: Host, fault: Callable[[Host], None], name: str) -> tuple[dict[str, Any], int]:
    sent, app_fid = start_run(cluster)
    wait_until(lambda: running_on(cluster, victim) >= 2, timeout=60, interval=0.2,
               message=f"work running on {victim.name}")
    held = held_by(cluster, victim)
    lost_at = time.monotonic()
    fault(victim)
    try:
        wait_until(lambda: taken_elsewhere(cluster, held, victim), timeout=RECOVERY_BOUND, interval=0.2,
                   message=f"the work {victim.name} held ({len(held)} leases) to run on another host")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nheld: {held}\nleases: {leases(cluster)}\n{cluster.tail_logs()}") from None
    RECOVERY[name] = time.monotonic() - lost_at
    wait_finished(cluster, sent, timeout=RECOVERY_BOUND - (time.monotonic() - lost_at))
    assert_ground_truth(cluster, sent, app_fid)
    return sent, app_fid


def lose_a_service(cluster: Cluster, fault: Callable[[], None], name: str) -> None:
    sent, app_fid = start_run(cluster)
    wait_until(lambda: running_on(cluster) >= 1, timeout=90, interval=0.2, message="work running")
    lost_at_db = cluster.now()
    lost_at = time.monotonic()
    fault()
    wait_until(quietly(lambda: cluster.scalar("SELECT count(*) FROM leases WHERE taken_at > :t", t=lost_at_db)),
               timeout=RECOVERY_BOUND, interval=0.2, message="work to run again")
    RECOVERY[name] = time.monotonic() - lost_at
    wait_finished(cluster, sent, timeout=90)
    assert_ground_truth(cluster, sent, app_fid)


@pytest.mark.xfail(strict=False, reason=(
    "known gap: a message the cut host had popped from Redis (in flight, or prefetched) but not started "
    "holds no lease; it sits in kombu's unacked set until the visibility timeout (seen in 2 of 5 runs)"))
def test_a_cut_host_s_work_finishes_elsewhere_and_its_late_results_are_fenced(cluster):
    victim = cluster.network.hosts[2]
    try:
        lose_a_host(cluster, victim, Host.cut, "link cut")
    finally:
        victim.restore()
    # Its processes come back to a world that moved on: whatever they finish now is refused.
    cluster.wait_for_workers([victim], timeout=60)
    wait_until(lambda: running_on(cluster, victim) == 0, timeout=60, message=f"{victim.name}'s late work to end")
    fenced = sum(path.read_text(errors="replace").count("its lease was taken over")
                 for path in cluster.logs.glob(f"{victim.name}-*.log"))
    sent = {"roots": [int(r) for r in ROOTS.split(",")],
            "analyses": [r for r in cluster.engine.connect().exec_driver_sql("SELECT id FROM analysis_jobs").scalars()]}
    assert_ground_truth(cluster, sent, cluster.hub.network.plan.client_apps[0])
    print(f"{fenced} late result(s) of {victim.name} fenced")


def test_a_host_s_whole_process_tree_killed(cluster):
    # host2 stays down: the scenarios below run on the two hosts left.
    lose_a_host(cluster, cluster.network.hosts[1], Host.kill_everything, "host SIGKILLed")


def test_redis_flushall_mid_run(cluster):
    lose_a_service(cluster, lambda: cluster.redis.client().flushall(), "Redis FLUSHALL")


KNOWN_SERVICE_RESTART_GAP = (
    "after a restart mid-run some backfills (Redis) or catalogue syncs (PostgreSQL) were left "
    "unfinished in CI-like load; not diagnosed yet (see the report of issue 14)")


@pytest.mark.xfail(reason=KNOWN_SERVICE_RESTART_GAP, strict=False)
def test_redis_restart_mid_run(cluster):
    lose_a_service(cluster, cluster.redis.restart, "Redis restart")


@pytest.mark.xfail(reason=KNOWN_SERVICE_RESTART_GAP, strict=False)
def test_postgres_restart_mid_run(cluster):
    lose_a_service(cluster, cluster.postgres.restart, "PostgreSQL restart")


def test_recovery_figure(cluster, capsys):
    if not RECOVERY:
        pytest.skip("no scenario ran")
    values = sorted(RECOVERY.values())
    with capsys.disabled():
        print("\nrecovery (s from loss to the work running again): "
              + ", ".join(f"{name} {seconds:.1f}" for name, seconds in RECOVERY.items())
              + f"; median {statistics.median(values):.1f}, max {max(values):.1f}")
    assert max(values) <= RECOVERY_BOUND
