"""The Celery tasks: thin doorbell handlers that call the engine. Nothing else."""

from __future__ import annotations

from celery import shared_task

from .conf import df_settings
from .engine import activities, doorbell
from .engine.workflow_tasks import process_workflow_task

#: Bound on how many steps one message may carry a workflow inline before handing over to doorbells.
MAX_INLINE_STEPS = 100


@shared_task(name="durableflows.workflow_task", ignore_result=True)
def workflow_task(run_id: str) -> str:
    """Advance one run; a lone new activity runs right here instead of via another message."""
    result = process_workflow_task(run_id, eager=True)
    if result.eager_activity is not None:
        _run_activities_inline(*result.eager_activity)
    return result.outcome


@shared_task(name="durableflows.activity_task", ignore_result=True)
def activity_task(task_pk: int, attempt: int) -> None:
    """Run one activity attempt, then carry its workflow forward in this worker."""
    _run_activities_inline(task_pk, attempt)


def _run_activities_inline(task_pk: int, attempt: int) -> None:
    inline = df_settings.INLINE_WORKFLOW_TASKS
    step: tuple[int, int] | None = (task_pk, attempt)
    for _ in range(MAX_INLINE_STEPS):
        if step is None:
            return
        run_id = activities.execute(*step, ring_workflow=not inline)
        if run_id is None or not inline:
            return
        step = process_workflow_task(run_id, eager=True).eager_activity
    if step is not None:
        doorbell.send(doorbell.ACTIVITY_TASK, list(step))
