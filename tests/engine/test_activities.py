"""Activity attempts: retries and backoff, non-retryable errors, timeouts, heartbeats, exactly-once facts."""

from datetime import timedelta

import pytest

import durableflows as df
from durableflows import storage
from durableflows.engine import activities, housekeeping
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask, InboxItem

from .workflows import three_steps


def count(handle, event_type):
    return sum(1 for event in handle.history() if event.type.value == event_type)


def test_retries_follow_the_policy_exactly(durableflows_env):
    # initial_interval=2, backoff_coefficient=3: attempts at t, t+2, t+2+6, t+2+6+18
    handle = durableflows_env.start("engine.retrying", 3)
    durableflows_env.run_until_idle()
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    gaps = []
    for _ in range(3):
        task.refresh_from_db()
        gaps.append((task.attempt, round((task.due_at - durableflows_env.now()).total_seconds())))
        durableflows_env.sleep((task.due_at - durableflows_env.now()).total_seconds())
    assert gaps == [(2, 2), (3, 6), (4, 18)]
    assert handle.result() == 4
    task.refresh_from_db()
    assert task.last_error["type"] == "ConnectionError" and task.last_error["attempt"] == 3


def test_maximum_attempts_fail_the_activity_with_its_error(durableflows_env):
    handle = durableflows_env.start("engine.retrying", 10)
    assert handle.result() == {"type": "ConnectionError", "attempts": 4}
    assert count(handle, "ActivityFailed") == 1


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("class", {"type": "PermissionError", "message": "no", "attempts": 1}),
        ("raised", {"type": "CardDeclined", "message": "card declined", "attempts": 1}),
    ],
)
def test_non_retryable_errors_fail_at_once(durableflows_env, kind, expected):
    assert durableflows_env.start("engine.declining", kind).result() == expected


def test_mocked_activity_sees_arguments_and_can_fail(durableflows_env):
    mock = durableflows_env.mock_activity("engine.echo", side_effect=[10, ConnectionError("flaky"), 30, 40])
    handle = durableflows_env.start(three_steps, 1)
    assert handle.result() == [10, 30, 40]
    assert mock.calls == [(1,), (11,), (11,), (31,)]


def _claim_only(handle, env):
    """Start the workflow and claim its first activity attempt without finishing it (a worker that dies)."""
    env.run_until_idle  # noqa: B018
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    now = storage.now()
    ActivityTask.objects.filter(pk=task.pk).update(
        state="started", started_at=now, deadline=now + timedelta(seconds=10)
    )
    task.refresh_from_db()
    return task


def test_start_to_close_timeout_retries_then_times_out(durableflows_env):
    handle = df.start("engine.slow_caller")
    task = _claim_only(handle, durableflows_env)
    durableflows_env.sleep(9)
    assert housekeeping.time_out_activities(storage.now()) == 0
    durableflows_env.sleep(2)  # past the deadline: attempt 1 timed out, attempt 2 scheduled after 1s backoff
    task.refresh_from_db()
    assert (task.state, task.attempt, task.last_error["message"]) == ("scheduled", 2, "start_to_close_timeout exceeded")
    # the dead worker's late result for attempt 1 is dropped
    late = ActivityTask.objects.get(pk=task.pk)
    late.attempt = 1
    assert activities.record(late, activities.Outcome(result="late")) is None
    assert not InboxItem.objects.filter(run__workflow_id=handle.workflow_id).exists()
    # attempt 2 also hangs and exhausts maximum_attempts=2
    durableflows_env.mock_activity("engine.slow", side_effect=TimeoutError("hung"))
    result = durableflows_env.get_handle(handle.workflow_id).result()
    assert result == {"type": "TimeoutError", "attempts": 2}


def test_duplicate_delivery_runs_an_attempt_once(durableflows_env):
    handle = df.start(three_steps, 1)
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    assert activities.execute(task.pk, 1) is not None
    assert activities.execute(task.pk, 1) is None  # the same doorbell again
    assert activities.execute(task.pk, 2) is None  # an attempt that was never scheduled
    assert InboxItem.objects.filter(run__workflow_id=handle.workflow_id).count() == 1
    assert process_workflow_task(handle.run_id).outcome == "advanced"
    assert process_workflow_task(handle.run_id).outcome == "idle"  # a duplicate workflow doorbell
    assert durableflows_env.get_handle(handle.workflow_id).result() == [1, 2, 3]
    assert count(handle, "ActivityCompleted") == 3


def test_heartbeat_details_survive_into_the_next_attempt(durableflows_env):
    handle = df.start("engine.heartbeating", 5)
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    calls = []

    def crash_after_three(n):
        info = df.activity_info()
        calls.append((info.attempt, info.heartbeat_details))
        if info.attempt == 1:
            for i in range(3):
                df.heartbeat(i + 1)
            raise ConnectionError("worker lost")
        return info.heartbeat_details

    activities.overrides["engine.progress"] = crash_after_three
    try:
        assert durableflows_env.get_handle(handle.workflow_id).result() == 3
    finally:
        del activities.overrides["engine.progress"]
    # the first heartbeat is recorded at once, later ones are throttled within the heartbeat timeout;
    # the last details of the attempt are saved with its failure all the same
    assert calls == [(1, None), (2, 3)]
    assert task.pk == ActivityTask.objects.get(run__workflow_id=handle.workflow_id).pk


def test_heartbeat_raises_once_the_workflow_cancelled(durableflows_env):
    handle = df.start("engine.heartbeating", 5)
    process_workflow_task(handle.run_id)
    task = ActivityTask.objects.get(run__workflow_id=handle.workflow_id)
    seen = []

    def cancelled_midway(n):
        df.heartbeat(0)  # recorded at once
        handle.cancel("stop")
        process_workflow_task(handle.run_id)  # the workflow handles the cancel request
        durableflows_env.sleep(20)  # past the heartbeat throttle (half of the 30 s timeout)
        try:
            df.heartbeat(1)
        except df.ActivityCancelled:
            seen.append("cancelled")
            raise
        return "finished anyway"

    durableflows_env.mock_activity("engine.progress", side_effect=cancelled_midway)
    assert activities.execute(task.pk, 1, ring_workflow=False) is None
    assert seen == ["cancelled"]
    assert handle.status == df.Status.CANCELLED
    assert count(handle, "ActivityCancelRequested") == 1
    task.refresh_from_db()
    assert task.state == "cancelled"


def test_an_activity_cancelled_in_the_task_that_scheduled_it_never_runs(durableflows_env):
    from .workflows import calls, cancellation

    calls.clear()
    handle = durableflows_env.start(cancellation)
    handle.cancel("at once")  # applied in the same workflow task as the start
    with pytest.raises(df.WorkflowFailed) as raised:
        handle.result()
    assert raised.value.status == df.Status.CANCELLED
    assert calls == ["echo:cleanup"]
    states = dict(ActivityTask.objects.values_list("name", "state"))
    assert states == {"engine.never_completes": "cancelled", "engine.echo": "completed"}
    assert count(handle, "ActivityCancelRequested") == 1


def test_heartbeat_and_activity_info_work_in_async_activities(durableflows_env):
    from .workflows import async_heartbeating

    handle = durableflows_env.start(async_heartbeating, 3)
    assert handle.result() == {"attempt": 1, "heartbeat_timeout": 30.0}
    task = ActivityTask.objects.get()
    assert task.heartbeat_at is not None
    assert task.heartbeat_details == 3  # the last, throttled, heartbeat is saved with the completion


def test_heartbeat_in_an_async_activity_raises_once_the_workflow_cancelled(durableflows_env):
    handle = df.start("engine.heartbeating", 5)
    process_workflow_task(handle.run_id)
    seen = []

    async def heartbeats(n):
        try:
            df.heartbeat(0)  # the first heartbeat of an attempt is recorded at once
        except df.ActivityCancelled:
            seen.append("cancelled")
            raise
        return "finished anyway"

    durableflows_env.mock_activity("engine.progress", side_effect=heartbeats)
    task = activities.claim(ActivityTask.objects.get().pk, 1)
    handle.cancel("stop")  # while the attempt is claimed: the workflow asks to cancel it
    process_workflow_task(handle.run_id)
    outcome = activities.run_attempt(task)
    assert seen == ["cancelled"] and outcome.failure.type == "ActivityCancelled"
    assert activities.record(task, outcome, ring_workflow=False) is None
    assert handle.status == df.Status.CANCELLED
    assert ActivityTask.objects.get().state == "cancelled"


@pytest.mark.parametrize(
    "heartbeat_timeout, cause", [(None, "start_to_close_timeout exceeded"), (0.3, "heartbeat_timeout exceeded")]
)
def test_an_async_activity_is_cancelled_when_its_attempt_times_out(durableflows_env, heartbeat_timeout, cause):
    import time

    from .workflows import calls, hanging

    calls.clear()
    began = time.monotonic()
    handle = durableflows_env.start(hanging, heartbeat_timeout)
    assert handle.result() == {"type": "TimeoutError", "message": cause, "attempts": 2}
    assert time.monotonic() - began < 2.5  # each attempt was interrupted, not left to sleep its 3 s
    assert calls == ["hangs:cancelled", "hangs:cancelled"]
    assert ActivityTask.objects.get().state == "timed_out"


class Inventory:
    """Activities bound to an object built with its dependencies."""

    def __init__(self, stock: dict) -> None:
        self.stock = stock

    @df.activity_method(name="engine.inventory.reserve")
    def reserve(self, sku: str) -> int:
        self.stock[sku] -= 1
        return self.stock[sku]


@df.workflow(name="engine.reserving")
async def reserving(sku: str) -> int:
    return await df.execute_activity(Inventory.reserve, sku)


def test_activities_registered_on_an_object_run_with_its_dependencies(durableflows_env):
    inventory = Inventory({"apple": 3})
    assert df.register_activities(inventory) == ["engine.inventory.reserve"]
    assert durableflows_env.start(reserving, "apple").result() == 2
    assert inventory.stock == {"apple": 2}
