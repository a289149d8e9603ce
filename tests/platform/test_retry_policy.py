"""The task retry policy: transient errors retry with a bounded jittered backoff, permanent ones fail
at once; the final failure reaches the job history with its reason. Runs on Celery's in-process worker."""
from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from app.platform.jobs import queries
from app.platform.arguments import InvalidTaskArguments, PositiveInt
from app.platform.retry import RetryPolicy, retry_or_fail
from tests.support import wait_until


class Transient(ConnectionError):
    pass


class Malformed(ValueError):
    permanent = True


POLICY = RetryPolicy(retry_on=(ConnectionError, ValueError), never_retry=(KeyError,), max_attempts=3,
                     backoff_initial=0.04, backoff_max=0.1)


class FakeTask:
    """Just what retry_or_fail uses of a bound Celery task: the request's retry count and retry()."""

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.retried: list[dict[str, Any]] = []

    def retry(self, **options: Any) -> Exception:
        self.retried.append(options)
        return RuntimeError("retry")


def test_which_errors_retry() -> None:
    assert POLICY.is_transient(Transient()) and POLICY.is_transient(ValueError())
    assert not POLICY.is_transient(Malformed())  # permanent, though a ValueError
    assert not POLICY.is_transient(KeyError())  # never_retry
    assert not POLICY.is_transient(InvalidTaskArguments.naming("t", [("fid", "bad")]))
    assert not POLICY.is_transient(RuntimeError())  # not listed: not retried
    assert POLICY.will_retry(Transient(), 2) and not POLICY.will_retry(Transient(), 3)


@pytest.mark.parametrize("retries, low, high", [(0, 0.02, 0.04), (1, 0.04, 0.08), (5, 0.05, 0.1)])
def test_a_transient_error_retries_with_a_backoff_within_bounds(retries: int, low: float, high: float) -> None:
    policy = RetryPolicy(retry_on=(ConnectionError,), max_attempts=10, backoff_initial=0.04, backoff_max=0.1)
    countdowns = []
    for _ in range(50):
        task = FakeTask(retries)
        with pytest.raises(RuntimeError, match="retry"):
            retry_or_fail(task, Transient("reset"), policy)
        [options] = task.retried
        assert options["max_retries"] == 9 and isinstance(options["exc"], Transient)
        countdowns.append(options["countdown"])
    assert all(low <= c <= high for c in countdowns) and len(set(countdowns)) > 40


def test_a_servers_retry_after_lengthens_the_wait_within_the_cap() -> None:
    error = Transient("429")
    error.retry_after = 60  # type: ignore[attr-defined]
    task = FakeTask(0)
    with pytest.raises(RuntimeError):
        retry_or_fail(task, error, POLICY)
    assert task.retried[0]["countdown"] == 0.1


def test_a_permanent_error_fails_at_once_with_its_reason() -> None:
    task, finals, failures = FakeTask(0), [], []
    with pytest.raises(Malformed):
        retry_or_fail(task, Malformed("not valid JSON"), POLICY, on_final=finals.append,
                      on_failure=lambda error, final: failures.append((error, final)))
    assert task.retried == []
    assert finals == ["Malformed: not valid JSON"] and failures == [("Malformed: not valid JSON", True)]


def test_the_last_attempt_fails_and_says_how_many_it_took() -> None:
    task, finals = FakeTask(2), []
    with pytest.raises(Transient):
        retry_or_fail(task, Transient("reset"), POLICY, on_final=finals.append)
    assert task.retried == [] and finals == ["failed after 3 attempts: Transient: reset"]


# --- through Celery: the platform's task class applies the policy and validates arguments ------------
QUEUE = "retry-policy-test"
calls: list[int] = []


@pytest.fixture(scope="module")
def toy_task(celery_app: Any) -> Iterator[Any]:
    @celery_app.task(name="tests.retry_policy_toy", queue_name=QUEUE, bind=True, retry_policy=POLICY)
    def toy(self: Any, fail_times: PositiveInt, permanent: bool = False) -> int:
        calls.append(self.request.retries)
        if permanent:
            raise Malformed("family A23-1: not valid JSON")
        if self.request.retries < fail_times:
            raise Transient(f"reset on attempt {self.request.retries + 1}")
        return self.request.retries + 1

    yield toy
    celery_app.tasks.unregister(toy.name)  # other tests check every registered task's route


@pytest.fixture(scope="module")
def in_process_worker(celery_app: Any, toy_task: Any, database: str) -> Iterator[Any]:
    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[QUEUE]) as worker:
        yield worker


def _final(job_id: str) -> dict[str, Any]:
    return wait_until(lambda: (j := queries.get_job(job_id)) and j["state"] in ("SUCCESS", "FAILURE") and j,
                      timeout=20, message=f"job {job_id} to finish")


def test_transient_errors_retry_then_the_job_succeeds(db: str, redis_client: Any, toy_task: Any,
                                                      in_process_worker: Any) -> None:
    calls.clear()
    job = _final(toy_task.apply_async(args=[2]).id)
    assert (job["state"], job["attempts"], job["error"]) == ("SUCCESS", 3, None)
    assert calls == [0, 1, 2]


def test_a_transient_error_on_the_last_attempt_is_the_recorded_failure(db: str, redis_client: Any,
                                                                       toy_task: Any, in_process_worker: Any) -> None:
    calls.clear()
    job = _final(toy_task.apply_async(args=[5]).id)
    assert (job["state"], job["attempts"]) == ("FAILURE", 3)
    assert job["error"] == "Transient: reset on attempt 3"


def test_permanent_errors_and_bad_arguments_fail_at_once(db: str, redis_client: Any, toy_task: Any,
                                                         in_process_worker: Any) -> None:
    calls.clear()
    job = _final(toy_task.apply_async(args=[1], kwargs={"permanent": True}).id)
    assert (job["state"], job["attempts"]) == ("FAILURE", 1)
    assert job["error"] == "Malformed: family A23-1: not valid JSON"
    bad = _final(toy_task.apply_async(args=[0], kwargs={"permanent": "yes"}).id)
    assert (bad["state"], bad["attempts"]) == ("FAILURE", 1)
    assert bad["error"] == ("InvalidTaskArguments: invalid arguments for tests.retry_policy_toy: "
                            "fail_times: Input should be greater than or equal to 1, got 0; "
                            "permanent: Input should be a valid boolean, got 'yes'")
    assert calls == [0]  # the bad arguments never reached the task's body
