"""The path a worker takes: one message carries a workflow through its activities, settling each inline."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import durableflows as df
from durableflows.engine import doorbell
from durableflows.engine.workflow_tasks import cache
from durableflows.models import ActivityTask, InboxItem
from durableflows.tasks import activity_task, workflow_task

from .workflows import three_steps


@pytest.fixture
def worker_process(transactional_db):
    """Run tasks as a worker would: real commits (so the execution cache fills), no broker."""
    doorbell.muted = True
    cache.clear()
    yield
    doorbell.muted = False
    cache.clear()


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
    assert sum("durableflows_historyevent" in sql and sql.startswith("SELECT") for sql in statements) == 1
    assert len(writes) <= 16, "\n".join(writes)
    if connection.vendor == "sqlite":
        assert len(transactions) == 4
    if connection.vendor == "postgresql":
        # each task: BEGIN, its reads in one round trip, its writes in another, COMMIT
        assert len(statements) == 4 * 4, "\n".join(statements)
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
