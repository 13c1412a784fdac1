"""Transactional activities: their writes and their ActivityCompleted fact commit together, or not at all."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

import durableflows as df
from durableflows import storage
from durableflows.engine import activities, housekeeping
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask, InboxItem
from durableflows.options import ActivityOptions
from durableflows.tasks import workflow_task
from tests.helpers import wait_until
from tests.integration_app.models import Receipt

RETRY = df.RetryPolicy(maximum_attempts=3, initial_interval=1)


@df.activity(name="engine.tx.write", transactional=True, start_to_close_timeout=10, retry=RETRY)
def write_receipt(key: str, failing_attempts: int) -> int:
    """Writes a receipt, then fails while ``attempt <= failing_attempts``; returns the receipts it sees."""
    attempt = df.activity_info().attempt
    Receipt.objects.create(key=key, attempt=attempt)
    if attempt <= failing_attempts:
        raise ConnectionError(f"attempt {attempt} failed after writing")
    return Receipt.objects.filter(key=key).count()


@df.workflow(name="engine.tx.one_write")
async def one_write(key: str, failing_attempts: int, transactional: bool = True) -> int:
    return await df.execute_activity(write_receipt, key, failing_attempts, transactional=transactional)


def receipts(key: str) -> list[int]:
    return list(Receipt.objects.filter(key=key).order_by("id").values_list("attempt", flat=True))


def completed_facts(handle) -> int:
    return sum(1 for event in handle.history() if event.type.value == "ActivityCompleted")


# -- declaring ------------------------------------------------------------------------------
def test_async_activities_cannot_be_transactional():
    with pytest.raises(TypeError, match="only a sync activity can be transactional"):

        @df.activity(name="engine.tx.async", transactional=True)
        async def fetch() -> None: ...

    with pytest.raises(TypeError, match="only a sync activity can be transactional"):

        class Service:
            @df.activity_method(transactional=True)
            async def fetch(self) -> None: ...


@pytest.mark.parametrize(
    "options, error",
    [({"transactional": 1}, TypeError), ({"transactional": True, "heartbeat_timeout": 5}, ValueError)],
)
def test_bad_transactional_options_are_refused(options, error):
    with pytest.raises(error):
        ActivityOptions.build(**options)
    with pytest.raises(error):
        ActivityOptions(heartbeat_timeout=5).merged(transactional=options["transactional"])


def test_the_option_is_recorded_only_when_set():
    assert "transactional" not in ActivityOptions().to_json()
    options = ActivityOptions.build(transactional=True)
    assert options.to_json()["transactional"] is True
    assert ActivityOptions.from_json(options.to_json()).transactional is True


def test_a_call_cannot_make_an_async_activity_transactional(durableflows_env):
    @df.activity(name="engine.tx.async_ok")
    async def fetch() -> str:
        return "fetched"

    @df.workflow(name="engine.tx.calls_async")
    async def calls_async() -> str:
        return await df.execute_activity(fetch, transactional=True)

    with pytest.raises(df.WorkflowFailed, match="only a sync activity can be transactional"):
        durableflows_env.start(calls_async).result()


# -- running --------------------------------------------------------------------------------
def test_a_failed_attempt_rolls_back_its_writes(durableflows_env):
    handle = durableflows_env.start(one_write, "rolled-back", 1)
    assert handle.result() == 1  # attempt 2 saw only its own receipt
    assert receipts("rolled-back") == [2]
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    assert (task.state, task.last_error["type"], task.last_error["attempt"]) == ("completed", "ConnectionError", 1)
    assert completed_facts(handle) == 1


def test_without_the_option_a_failed_attempt_keeps_its_writes(durableflows_env):
    handle = durableflows_env.start(one_write, "kept", 1, False)
    assert handle.result() == 2
    assert receipts("kept") == [1, 2]


def test_an_activity_that_fails_for_good_leaves_no_writes(durableflows_env):
    handle = durableflows_env.start(one_write, "never", 5)
    with pytest.raises(df.WorkflowFailed, match="ConnectionError"):
        handle.result()
    assert receipts("never") == []


def test_a_transactional_activity_cannot_complete_asynchronously(durableflows_env):
    @df.activity(name="engine.tx.complete_async", transactional=True)
    def hand_off(key: str) -> None:
        Receipt.objects.create(key=key, attempt=df.activity_info().attempt)
        raise df.CompleteAsync()

    @df.workflow(name="engine.tx.hands_off")
    async def hands_off(key: str) -> None:
        await df.execute_activity(hand_off, key)

    handle = durableflows_env.start(hands_off, "handed-off")
    with pytest.raises(df.WorkflowFailed, match="cannot complete asynchronously"):
        handle.result()
    assert receipts("handed-off") == []  # refused for good, its writes rolled back


def test_an_attempt_settled_before_it_locked_runs_nothing(durableflows_env):
    calls = []
    durableflows_env.mock_activity(write_receipt, side_effect=lambda key, n: calls.append(key))
    handle = df.start(one_write, "late", 0)
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    claimed = activities.claim(task.pk, 1)
    assert claimed is not None
    # housekeeping times the attempt out (its worker looked dead) before the attempt takes its locks
    assert housekeeping.time_out_activities(storage.now() + timedelta(seconds=11)) == 1

    outcome = activities.run_attempt(claimed)
    assert calls == [] and not outcome.recorded
    assert activities.record(claimed, outcome) is None
    assert not InboxItem.objects.filter(run__workflow_id=handle.workflow_id).exists()
    task.refresh_from_db()
    assert (task.state, task.attempt) == ("scheduled", 2)


def test_an_attempt_past_its_deadline_rolls_back_instead_of_committing(durableflows_env):
    handle = df.start(one_write, "overran", 0)
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    late = storage.now() + timedelta(seconds=11)  # start_to_close_timeout is 10 s

    def overrun(key: str, failing_attempts: int) -> int:
        Receipt.objects.create(key=key, attempt=df.activity_info().attempt)
        storage.set_clock(lambda: late)  # the attempt took 11 s
        return 1

    durableflows_env.mock_activity(write_receipt, side_effect=overrun)
    try:
        assert activities.execute(task.pk, 1, ring_workflow=False) is None
    finally:
        storage.set_clock(durableflows_env.now)
    assert receipts("overran") == []
    task.refresh_from_db()
    assert (task.state, task.attempt, task.last_error["message"]) == ("scheduled", 2, "start_to_close_timeout exceeded")
    durableflows_env.mock_activity(write_receipt, side_effect=write_receipt)
    assert durableflows_env.get_handle(handle.workflow_id).result() == 1
    assert receipts("overran") == [2]
    assert completed_facts(handle) == 1


def test_heartbeat_details_are_kept_with_the_failure_of_the_attempt(durableflows_env):
    seen = []

    def resumes(key: str, failing_attempts: int) -> int:
        info = df.activity_info()
        seen.append(info.heartbeat_details)
        df.heartbeat({"done": info.attempt})  # not written now: saved with the attempt's outcome
        if info.attempt == 1:
            raise ConnectionError("lost")
        return 0

    durableflows_env.mock_activity(write_receipt, side_effect=resumes)
    handle = durableflows_env.start(one_write, "beats", 0)
    assert handle.result() == 0
    assert seen == [None, {"done": 1}]
    assert ActivityTask.objects.get(run__workflow_id=handle.workflow_id).heartbeat_details == {"done": 2}


# -- the path a worker takes ----------------------------------------------------------------

def test_an_eager_transactional_activity_commits_once_and_the_workflow_moves_on(worker_process):
    handle = df.start(one_write, "eager", 0)
    assert workflow_task(handle.run_id) == "advanced"  # claimed, run and settled in this one message
    assert handle.result(timeout=0) == 1
    assert receipts("eager") == [1]
    assert completed_facts(handle) == 1
    assert not InboxItem.objects.exists()
    assert workflow_task(handle.run_id) == "closed"  # a duplicate doorbell changes nothing


def test_an_eager_attempt_that_fails_rolls_back_and_is_retried(worker_process):
    handle = df.start(one_write, "eager-retry", 1)
    workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    assert (task.state, task.attempt, task.last_error["type"]) == ("scheduled", 2, "ConnectionError")
    assert receipts("eager-retry") == []
    ActivityTask.objects.filter(pk=task.pk).update(due_at=storage.now())  # skip the backoff
    assert str(activities.execute(task.pk, 2, ring_workflow=False)) == handle.run_id
    assert activities.execute(task.pk, 2, ring_workflow=False) is None  # the same doorbell again
    assert workflow_task(handle.run_id) == "closed"
    assert handle.result(timeout=0) == 1
    assert receipts("eager-retry") == [2]
    assert completed_facts(handle) == 1


# -- lock order, on a database with row locks ------------------------------------------------
class _Thread(threading.Thread):
    """Runs ``fn`` on a connection of its own and keeps its result or error."""

    def __init__(self, fn) -> None:
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            connections.close_all()


def _waiting_for_a_lock() -> int:
    """How many statements wait for a lock (on MariaDB/MySQL: run a locking read, visible without PROCESS)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        else:
            cursor.execute(
                "SELECT count(*) FROM information_schema.processlist"
                " WHERE id <> CONNECTION_ID() AND info LIKE '%%FOR UPDATE%%'"
            )
        return cursor.fetchone()[0]


class HeldAttempt:
    """An attempt of ``one_write`` started in a thread, holding its transaction open until ``finish()``."""

    def __init__(self, key: str) -> None:
        if connection.vendor == "sqlite":
            pytest.skip("needs a database server with row locks (DATABASE_URL=postgres://... or mysql://...)")
        self.inside, self.go = threading.Event(), threading.Event()
        self.handle = df.start(one_write, key, 0)
        process_workflow_task(self.handle.run_id)
        self.task = activities.claim(ActivityTask.objects.get(run__workflow_id=self.handle.workflow_id).pk, 1)
        self.thread = _Thread(lambda: activities.run_attempt(self.task))

    def _held_open(self, key: str, failing_attempts: int) -> int:
        Receipt.objects.create(key=key, attempt=1)
        self.inside.set()
        assert self.go.wait(30), "the test never let the attempt finish"
        return 1

    def __enter__(self) -> HeldAttempt:
        activities.overrides["engine.tx.write"] = self._held_open
        self.thread.start()
        assert self.inside.wait(30)
        return self

    def finish(self) -> None:
        self.go.set()
        self.thread.join(30)

    def __exit__(self, *exc_info: object) -> None:
        self.go.set()
        del activities.overrides["engine.tx.write"]


def test_a_terminate_during_the_attempt_waits_for_its_commit_instead_of_deadlocking(worker_process):
    with HeldAttempt("locks") as held:
        terminating = _Thread(lambda: held.handle.terminate("stop"))  # locks the run, cancels its open activities
        terminating.start()
        wait_until(_waiting_for_a_lock, timeout=30, message="the terminate to wait for the attempt's locks")
        held.finish()
        terminating.join(30)
    attempt = held.thread
    assert attempt.error is None and terminating.error is None, (attempt.error, terminating.error)
    assert attempt.result.recorded
    assert receipts("locks") == [1]
    assert ActivityTask.objects.get(pk=held.task.pk).state == "completed"  # the terminate found it done
    assert held.handle.status == df.Status.TERMINATED


def test_housekeeping_passes_over_a_held_attempt_that_then_times_out_by_itself(worker_process):
    with HeldAttempt("overrun") as held:
        late = held.task.deadline + timedelta(seconds=1)
        storage.set_clock(lambda: late)  # the attempt outlives its start-to-close timeout
        try:
            assert housekeeping.time_out_activities(late) == 0  # its row is locked: passed over, not waited for
            held.finish()
        finally:
            storage.set_clock(None)
    attempt, task = held.thread, held.task
    assert attempt.error is None, attempt.error
    outcome = attempt.result
    assert outcome.timed_out and not outcome.recorded  # it rolled back instead of committing late
    assert activities.record(task, outcome) is None  # recorded as a timeout: attempt 2 is scheduled
    assert receipts("overrun") == []
    task.refresh_from_db()
    assert (task.state, task.attempt, task.last_error["message"]) == ("scheduled", 2, "start_to_close_timeout exceeded")
    assert not InboxItem.objects.filter(run__workflow_id=held.handle.workflow_id).exists()
