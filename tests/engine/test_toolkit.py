"""The testing toolkit itself: it runs the engine as a worker would, cache and schedules included."""

import gc
import sys
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from durableflows.testing import WorkflowEnvironment

from .workflows import cleans_up, three_steps


def test_the_toolkit_keeps_executions_in_the_cache_instead_of_replaying(durableflows_env):
    handle = durableflows_env.start(three_steps, 1)
    with CaptureQueriesContext(connection) as queries:
        assert handle.result() == [1, 2, 3]
    # four workflow tasks: the start (which reads its WorkflowStarted event, unless the start's own task
    # ran before this block), then one per activity result, none of them replaying the history
    history = connection.ops.quote_name("durableflows_historyevent")
    assert sum(q["sql"].count(f"FROM {history}") for q in queries) <= 1


def test_executions_left_suspended_are_discarded_inside_the_workflow(db, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with transaction.atomic():  # a test's transaction, rolled back at its end
        with WorkflowEnvironment() as env:
            handle = env.start(cleans_up)
            env.run_until_idle()
            handle.signal("unrelated")
            env.run_until_idle()
            del handle, env
        transaction.set_rollback(True)
    gc.collect()
    messages = [str(u.exc_value) for u in unraisable]
    assert not messages, messages


def test_schedules_fire_while_time_skips(db):
    import durableflows as df
    from durableflows.models import WorkflowRun

    from .schedule_workflows import report

    with WorkflowEnvironment(start_time=datetime(2030, 1, 1, 12, 0, tzinfo=UTC)) as env:
        df.schedule(report, "today", id="daily-report", cron="0 9 * * *")
        env.sleep(timedelta(days=3))
    runs = WorkflowRun.objects.filter(workflow_id__startswith="daily-report@").order_by("workflow_id")
    assert [(r.workflow_id, r.status) for r in runs] == [
        (f"daily-report@2030-01-0{day}T09:00:00Z", "completed") for day in (2, 3, 4)
    ]
    assert df.get_schedule("daily-report").describe()["next_fire_at"] == datetime(2030, 1, 5, 9, tzinfo=UTC)
