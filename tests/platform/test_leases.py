"""Leases: take, renew, expire (database clock), fencing, and the sweep re-sending work once."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db import get_engine
from app.platform import lease_sweep, leases
from tests.platform.lease_helpers import expire_owner, take


@pytest.fixture
def engine(db):
    return get_engine()


def lease_row(engine, kind="test.work", key="k"):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM leases WHERE kind = :k AND key = :key"),
                            {"k": kind, "key": key}).mappings().first()


def test_a_live_owner_keeps_its_lease_and_a_duplicate_is_refused(engine):
    first = take(engine, "test.work", "k", owner="a@h:1")
    assert first == leases.Held("test.work", "k", 1, "a@h:1")
    assert take(engine, "test.work", "k", owner="b@h:2") is None  # a duplicate delivery while a runs
    assert lease_row(engine)["owner"] == "a@h:1"


def test_expiry_follows_the_database_clock_and_a_renewal_extends_it(engine):
    take(engine, "test.work", "k", owner="a@h:1", ttl=60)
    with engine.begin() as conn:
        # A heartbeat with no ttl left: expires_at is this transaction's now(), past for every later one.
        leases.heartbeat(conn, "a@h:1", "a@h", 1, 0)
    with engine.connect() as conn:
        alive = conn.execute(text("SELECT expires_at > now() FROM lease_owners WHERE owner = 'a@h:1'")).scalar()
    assert alive is False
    with engine.begin() as conn:
        leases.heartbeat(conn, "a@h:1", "a@h", 1, 30)  # renewed before anyone took it over
    assert take(engine, "test.work", "k", owner="b@h:2") is None
    with engine.connect() as conn:
        left = conn.execute(text("SELECT EXTRACT(EPOCH FROM expires_at - now()) FROM lease_owners "
                                 "WHERE owner = 'a@h:1'")).scalar()
    assert 25 < left <= 30


def test_a_dead_owners_lease_is_taken_with_a_higher_epoch_and_the_old_epoch_is_fenced(engine):
    old = take(engine, "test.work", "k", owner="a@h:1")
    expire_owner(engine, "a@h:1")
    new = take(engine, "test.work", "k", owner="b@h:2")
    assert new is not None and new.epoch == old.epoch + 1
    assert lease_row(engine)["previous_owner"] == "a@h:1"
    with engine.begin() as conn, leases.holding(new):
        leases.fence(conn)  # the current owner writes
    with pytest.raises(leases.LeaseLost, match="stale"):
        with engine.begin() as conn, leases.holding(old):
            leases.fence(conn)
    # The old owner coming back (a heartbeat after a network cut) does not make its epoch current.
    with engine.begin() as conn:
        leases.heartbeat(conn, "a@h:1", "a@h", 1, 60)
    with pytest.raises(leases.LeaseLost):
        with engine.begin() as conn, leases.holding(old):
            leases.fence(conn)


def test_release_frees_the_lease_and_a_later_delivery_runs_it_again_with_a_new_epoch(engine):
    held = take(engine, "test.work", "k", owner="a@h:1")
    with engine.begin() as conn:
        assert leases.release(conn, held) is True
        assert leases.release(conn, held) is False
    row = lease_row(engine)
    assert row["state"] == "released" and row["owner"] is None
    again = take(engine, "test.work", "k", owner="b@h:2")
    assert again is not None and again.epoch == held.epoch + 1
    with engine.begin() as conn:
        assert leases.release(conn, held) is False  # an old epoch cannot release the new run


def test_a_fenced_write_is_rolled_back_with_its_transaction(engine):
    old = take(engine, "test.work", "k", owner="a@h:1")
    expire_owner(engine, "a@h:1")
    take(engine, "test.work", "k", owner="b@h:2")
    with pytest.raises(leases.LeaseLost):
        with engine.begin() as conn, leases.holding(old):
            conn.execute(text("INSERT INTO lease_owners (owner, hostname, pid, expires_at) "
                              "VALUES ('written', 'x', 1, now())"))
            leases.fence(conn)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lease_owners WHERE owner = 'written'")).scalar() == 0


class Published(list):
    def __call__(self, lease: leases.TakenOver) -> None:
        self.append(lease)


def test_the_sweep_resends_expired_work_exactly_once_even_when_two_sweeps_run(engine):
    take(engine, "test.work", "dead", owner="a@h:1", task_id="t-dead", delivery_tag="tag-dead",
         args=[5], kwargs={"request_id": 9})
    take(engine, "test.work", "alive", owner="b@h:2")
    expire_owner(engine, "a@h:1")
    first, second, forgotten = Published(), Published(), []

    def publish_while_a_second_sweep_runs(lease: leases.TakenOver) -> None:
        first(lease)
        # The second sweep runs while the first holds its rows, uncommitted: it skips them.
        assert lease_sweep.sweep(engine, second, forgotten.append)["resent"] == []

    result = lease_sweep.sweep(engine, publish_while_a_second_sweep_runs, forgotten.append)
    assert [(t.key, t.previous_owner) for t in first] == [("dead", "a@h:1")]
    assert second == []
    work = first[0].work
    assert (work.task_id, work.task_name, work.args, work.kwargs) == ("t-dead", "test.work", [5], {"request_id": 9})
    assert forgotten == ["tag-dead"]  # the dead worker's unacked message is dropped
    assert result["resent"] == [{"kind": "test.work", "key": "dead", "epoch": 2, "previous_owner": "a@h:1"}]
    # After the commit a third sweep finds nothing either: the lease is re-sent, waiting for a taker.
    third = Published()
    lease_sweep.sweep(engine, third, forgotten.append)
    assert third == []
    row = lease_row(engine, key="dead")
    assert (row["state"], row["epoch"], row["resends"], row["owner"]) == ("resent", 2, 1, None)
    assert take(engine, "test.work", "dead", owner="c@h:3").epoch == 3


def test_a_failed_publish_marks_nothing_and_the_next_sweep_resends(engine):
    take(engine, "test.work", "k", owner="a@h:1")
    expire_owner(engine, "a@h:1")

    def broker_down(lease: leases.TakenOver) -> None:
        raise ConnectionError("redis unreachable")

    with pytest.raises(ConnectionError):
        lease_sweep.sweep(engine, broker_down, lambda tag: None)
    assert lease_row(engine)["state"] == "running"
    published = Published()
    lease_sweep.sweep(engine, published, lambda tag: None)
    assert [t.key for t in published] == ["k"]


def test_a_sweep_skips_a_lease_whose_write_is_in_flight(engine):
    """A fence holds the lease row until its transaction ends; the sweep does not wait for it."""
    held = take(engine, "test.work", "k", owner="a@h:1")
    expire_owner(engine, "a@h:1")
    published = Published()
    with engine.begin() as conn, leases.holding(held):
        leases.fence(conn)
        lease_sweep.sweep(engine, published, lambda tag: None)
        assert published == []
    lease_sweep.sweep(engine, published, lambda tag: None)
    assert [t.key for t in published] == ["k"]


def test_forget_unacked_removes_the_message_from_kombus_hash_and_index(redis_client):
    redis_client.hset("test:unacked", "tag-1", "[]")
    redis_client.zadd("test:unacked_index", {"tag-1": 1.0, "tag-2": 2.0})
    lease_sweep.forget_unacked(redis_client, "tag-1", unacked_key="test:unacked", unacked_index_key="test:unacked_index")
    assert redis_client.hkeys("test:unacked") == []
    assert redis_client.zrange("test:unacked_index", 0, -1) == [b"tag-2"]
    redis_client.delete("test:unacked", "test:unacked_index")


def test_running_lists_work_with_its_owner_lease_age_and_heartbeat(engine):
    take(engine, "farcaster.backfill_fid", "3:7", owner="backfill@h:11", task_id="t1")
    take(engine, "analysis.analyze", "j", owner="analysis@h:12", task_id="t2")
    expire_owner(engine, "analysis@h:12")
    with engine.connect() as conn:
        rows = {r["kind"]: r for r in leases.running(conn)}
        only = leases.running(conn, kind_prefix="farcaster.")
        by_task = leases.for_tasks(conn, ["t1", "nope"])
    assert rows["farcaster.backfill_fid"]["alive"] is True
    assert rows["analysis.analyze"]["alive"] is False and rows["analysis.analyze"]["heartbeat_age_seconds"] >= 20
    assert [r["kind"] for r in only] == ["farcaster.backfill_fid"]
    assert set(by_task) == {"t1"} and by_task["t1"]["owner"] == "backfill@h:11"


def test_jobs_running_shows_each_lease_with_its_worker_age_and_heartbeat(engine, capsys):
    import json

    from app.cli.main import main

    take(engine, "farcaster.backfill_fid", "3:7", owner="backfill@h:11", task_id="t1")
    take(engine, "analysis.analyze", "j", owner="analysis@h:12", task_id="t2")
    expire_owner(engine, "analysis@h:12")
    assert main(["--json", "jobs", "running"]) == 0
    rows = {r["task_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["t1"]["owner"], rows["t1"]["alive"]) == ("backfill@h:11", True)
    assert rows["t2"]["alive"] is False
    assert main(["jobs", "running", "--name", "farcaster."]) == 0
    out = capsys.readouterr().out
    assert "backfill@h:11" in out and "analysis@h:12" not in out and "yes" in out


def test_a_second_delivery_to_the_same_live_process_is_a_duplicate_too(engine):
    """The owner's earlier run may still hold it (a thread, or a release the heartbeat retries)."""
    assert take(engine, "test.work", "k", owner="a@h:1") is not None
    assert take(engine, "test.work", "k", owner="a@h:1") is None


def test_prune_forgets_old_released_leases_and_long_dead_owners_only(engine):
    old = take(engine, "test.work", "old", owner="a@h:1")
    take(engine, "test.work", "running", owner="b@h:2")
    with engine.begin() as conn:
        leases.release(conn, old)
        conn.execute(text("UPDATE leases SET taken_at = now() - interval '2 days'"))
        conn.execute(text("UPDATE lease_owners SET expires_at = now() - interval '2 days'"))
        assert leases.prune(conn, older_than_seconds=86400) == 1
        assert list(conn.execute(text("SELECT key FROM leases")).scalars()) == ["running"]
        # b still holds a lease (dead, for the sweep to take over): its owner row stays.
        assert list(conn.execute(text("SELECT owner FROM lease_owners")).scalars()) == ["b@h:2"]
