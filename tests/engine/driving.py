"""Advance runs in-process with the real engine: workflow tasks and activity attempts, no worker, no broker."""

from __future__ import annotations

from typing import Any

from durableflows.engine import activities
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask


def drive(run_id: Any, max_steps: int = 50) -> None:
    """Run workflow tasks and the activities they schedule until the run has nothing more to do right now."""
    for _ in range(max_steps):
        outcome = process_workflow_task(run_id).outcome
        assert outcome != "held", "the workflow task was held; see the run's task_error"
        scheduled = list(ActivityTask.objects.filter(run_id=run_id, state=ActivityTask.State.SCHEDULED))
        if not scheduled:
            return
        for task in scheduled:
            activities.execute(task.pk, task.attempt, ring_workflow=False)
    raise AssertionError(f"run {run_id} still had work after {max_steps} steps")
