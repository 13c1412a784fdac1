"""The path a worker takes: one message carries a workflow through its activities, settling each inline."""
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

import durableflows as df
from durableflows.engine.workflow_tasks import cache
from durableflows.models import ActivityTask, HistoryEvent, InboxItem
from durableflows.tasks import activity_task, workflow_task

from .workflows import echo_sleep_echo, echo_then_signal, staged_order, three_steps


def history_reads(statements: list[str]) -> int:
    """How many of ``statements`` read the history table (a replay reads it once), on any backend's quoting."""
    table = f"FROM {connection.ops.quote_name(HistoryEvent._meta.db_table)}"
    return sum(sql.count(table) for sql in statements)



def test_one_message_runs_a_three_activity_workflow_in_few_statements(worker_process):
    handle = df.start(three_steps, 1)
    run_id = handle.run_id
    with CaptureQueriesContext(connection) as queries:
        assert workflow_task(run_id) == "advanced"
    assert handle.result(timeout=0) == [1, 2, 3]
    statements = [q["sql"].lstrip() for q in queries]
    transactions = [sql for sql in statements if sql.upper().startswith("BEGIN") or sql.upper() == "SET TRANSACTION"]
    control = ("SELECT", "SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "SET ")
    writes = [sql for sql in statements if not sql.upper().startswith(control)]
    # four workflow tasks (the start, then one per activity), each one transaction of a few statements:
    # no claims, no inbox round trips, and no replay (the execution stays cached between them)
    assert history_reads(statements) == 1
    assert len(writes) <= 16, "\n".join(writes)
    if connection.vendor == "sqlite":
        assert len(transactions) == 4
    if connection.vendor == "mysql":  # batches go out as one query
        # the first task: BEGIN, its reads in one round trip, its writes in another, COMMIT; each of the
        # three that apply an activity's result: BEGIN, its reads and writes in one round trip, COMMIT
        assert len(statements) == 4 + 3 * 3, "\n".join(statements)
    if connection.vendor == "postgresql":  # ... and one query is one implicit transaction
        # the three that apply an activity's result: checks and writes in one query, no BEGIN or COMMIT
        assert len(statements) == 4 + 3 * 1, "\n".join(statements)
    assert not InboxItem.objects.exists()
    assert list(ActivityTask.objects.values_list("state", flat=True)) == ["completed"] * 3


def test_a_failed_attempt_is_retried_by_message_and_the_workflow_continues(worker_process, settings):
    attempts = []

    def fail_once(value):
        attempts.append(value)
        if len(attempts) == 1:
            raise ConnectionError("flaky")
        return value

    from durableflows.engine import activities

    activities.overrides["engine.echo"] = fail_once
    try:
        handle = df.start(three_steps, 1)
        workflow_task(handle.run_id)
        task = ActivityTask.objects.get(run_id=handle.run_id, activity_id=1)
        assert (task.state, task.attempt, task.last_error["type"]) == ("scheduled", 2, "ConnectionError")
        ActivityTask.objects.filter(pk=task.pk).update(due_at=task.scheduled_at)  # as if the backoff passed
        activity_task(task.pk, 2)
        assert handle.result(timeout=0) == [1, 2, 3]
        activity_task(task.pk, 2)  # the same doorbell again: nothing happens
        assert [e.type.value for e in handle.history()].count("ActivityCompleted") == 3
    finally:
        del activities.overrides["engine.echo"]


def test_a_doorbell_for_something_that_is_not_a_run_id_is_dropped(worker_process):
    assert workflow_task("not-a-run-id") == "missing"
    assert workflow_task("6f1c5d3e-0000-4000-8000-000000000000") == "missing"


# An activity that succeeded here is applied to the cached execution before the run is locked; what
# it assumed is checked afterwards. These change the run while the activity runs, as another
# process could, and see the task fall back to locking first, with every fact recorded once.


def _while_echo_runs(action):
    from durableflows.engine import activities

    def echo(value):
        action()
        return value

    activities.overrides["engine.echo"] = echo
    return activities.overrides


def test_a_signal_that_arrives_while_the_activity_runs_is_applied_with_its_result(worker_process):
    handle = df.start(echo_then_signal, 1)
    overrides = _while_echo_runs(lambda: handle.signal("go", "now"))
    try:
        workflow_task(handle.run_id)
    finally:
        del overrides["engine.echo"]
    assert handle.result(timeout=0) == [1, "now"]
    types = [e.type.value for e in handle.history()]
    assert (types.count("ActivityCompleted"), types.count("SignalReceived")) == (1, 1)
    assert not InboxItem.objects.exists()


def test_a_run_terminated_while_the_activity_runs_stays_terminated(worker_process):
    handle = df.start(three_steps, 1)
    overrides = _while_echo_runs(lambda: handle.terminate("stop"))
    try:
        workflow_task(handle.run_id)
    finally:
        del overrides["engine.echo"]
    types = [e.type.value for e in handle.history()]
    assert types[-1] == "WorkflowTerminated" and "ActivityCompleted" not in types
    assert handle.status == "terminated"
    assert list(ActivityTask.objects.values_list("state", flat=True)) == ["cancelled"]


def test_a_result_that_comes_after_its_attempt_timed_out_is_dropped(worker_process):
    from durableflows.engine import housekeeping

    timed_out = []

    def time_out_the_attempt():  # as housekeeping in another worker would, past the attempt's deadline
        deadline = ActivityTask.objects.get().deadline
        timed_out.append(housekeeping.time_out_activities(deadline + timedelta(seconds=1)))

    handle = df.start(three_steps, 1)
    overrides = _while_echo_runs(time_out_the_attempt)
    try:
        workflow_task(handle.run_id)
    finally:
        del overrides["engine.echo"]
    assert timed_out == [1]
    task = ActivityTask.objects.get()
    assert (task.state, task.attempt) == ("scheduled", 2)  # the timeout's retry, not the late result
    assert "ActivityCompleted" not in [e.type.value for e in handle.history()]
    ActivityTask.objects.filter(pk=task.pk).update(due_at=task.scheduled_at)
    activity_task(task.pk, 2)
    assert handle.result(timeout=0) == [1, 2, 3]


def test_a_step_that_starts_a_timer_locks_first_and_keeps_its_execution(worker_process):
    handle = df.start(echo_sleep_echo, 1)
    with CaptureQueriesContext(connection) as queries:
        assert workflow_task(handle.run_id) == "advanced"
    assert history_reads([q["sql"] for q in queries]) == 1  # no replay
    assert [e.type.value for e in handle.history()][-1] == "TimerStarted"
    assert cache.take(handle._run_id, len(handle.history())) is not None


def test_every_variable_set_on_the_inline_path_is_stored(worker_process):
    handle = df.start(staged_order, 1)
    assert workflow_task(handle.run_id) == "advanced"
    assert handle.result(timeout=0) == "shipped"
    recorded = [e.data["value"] for e in handle.history() if e.type.value == "VarSet"]
    assert recorded == ["reserving", "shipping", "shipped"]
    assert handle.vars() == {"stage": "shipped"}


def test_the_last_heartbeat_details_of_a_failed_attempt_are_saved_for_the_retry(worker_process):
    from durableflows.engine import activities

    def heartbeat_then_fail(n):
        for i in range(n):
            df.heartbeat(i + 1)  # the first is written at once, the others throttled
        raise ConnectionError("lost")

    activities.overrides["engine.progress"] = heartbeat_then_fail
    try:
        handle = df.start("engine.heartbeating", 3)
        workflow_task(handle.run_id)
    finally:
        del activities.overrides["engine.progress"]
    task = ActivityTask.objects.get()
    assert (task.state, task.attempt, task.heartbeat_details) == ("scheduled", 2, 3)


def test_the_signal_of_a_close_is_sent_once_and_only_after_the_close_is_stored(worker_process):
    from durableflows import signals
    from durableflows.models import WorkflowRun

    seen = []

    def stored(sender, **kwargs):  # what the database holds when the receiver runs
        seen.append((kwargs["status"], WorkflowRun.objects.get(pk=kwargs["run_id"]).status))

    for signal in (signals.workflow_completed, signals.workflow_terminated):
        signal.connect(stored)
    try:
        completed = df.start(three_steps, 1)
        workflow_task(completed.run_id)
        terminated = df.start(three_steps, 1)
        overrides = _while_echo_runs(lambda: terminated.terminate("stop"))
        try:  # the task that would have applied the result finds the run moved on, and stores nothing
            workflow_task(terminated.run_id)
        finally:
            del overrides["engine.echo"]
    finally:
        for signal in (signals.workflow_completed, signals.workflow_terminated):
            signal.disconnect(stored)
    assert completed.result(timeout=0) == [1, 2, 3] and terminated.status == "terminated"
    assert seen == [("completed", "completed"), ("terminated", "terminated")]
