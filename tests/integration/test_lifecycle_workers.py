"""Lifecycle features through real worker processes: a child per run, heartbeats through a slow activity,
continue-as-new three times, and cancellation in the middle of the last period."""

from __future__ import annotations

import pytest

import durableflows as df
from durableflows.models import WorkflowRun
from tests.helpers import wait_until
from tests.integration_app import lifecycle

pytestmark = pytest.mark.django_db(transaction=True)


def types(handle) -> list[str]:
    return [str(event.type) for event in handle.history()]


def running_period(workflow_id: str) -> int | None:
    run = WorkflowRun.objects.filter(workflow_id=workflow_id, status="running").first()
    return run.vars.get("period") if run else None


def heartbeats(handle) -> int:
    pending = [a for a in handle.describe()["pending_activities"] if a["name"] == "it.slow_progress"]
    return (pending[0]["heartbeat_details"] or 0) if pending else 0


def test_child_heartbeats_continue_as_new_and_cancel_midway(workers, gate_dir):
    workers.start(concurrency=3)
    handle = df.start(lifecycle.subscription, str(gate_dir), 0, 3, id="subscription-1")
    for period in range(3):  # periods 0..2 each continue as new into the next
        wait_until(lambda p=period: running_period("subscription-1") == p, timeout=30, message=f"period {period}")
        current = df.get_handle("subscription-1")
        wait_until(lambda h=current: heartbeats(h) >= 2, timeout=30, message="heartbeats recorded")
        (gate_dir / f"period-{period}.open").touch()
    wait_until(lambda: running_period("subscription-1") == 3, timeout=30, message="the fourth run")
    last = df.get_handle("subscription-1")
    wait_until(lambda: heartbeats(last) >= 2, timeout=30, message="heartbeats in the last period")
    last.cancel("customer left")

    with pytest.raises(df.WorkflowFailed) as ended:
        handle.result(timeout=60)  # follows the continue-as-new chain from the first run
    assert ended.value.status == "cancelled"

    runs = list(WorkflowRun.objects.filter(workflow_id="subscription-1").order_by("created_at"))
    assert [r.status for r in runs] == ["continued_as_new"] * 3 + ["cancelled"]
    assert all(later.continued_from_id == earlier.pk for earlier, later in zip(runs, runs[1:], strict=False))
    for run in runs:
        events = types(df.get_handle("subscription-1", run_id=run.pk))
        assert events.count("ChildWorkflowStarted") == events.count("ChildWorkflowCompleted") == 1
    last_events = types(last)
    assert "ActivityCancelRequested" in last_events and last_events[-1] == "WorkflowCancelled"
    assert last_events.count("ActivityCompleted") == 1  # the cleanup; the cancelled attempt records nothing
    children = WorkflowRun.objects.filter(workflow_name="it.period_child")
    assert sorted(children.values_list("status", flat=True)) == ["completed"] * 4
