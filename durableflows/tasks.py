"""The Celery tasks: thin doorbell handlers that call the engine. Nothing else.

Each first retires a database connection that is broken or older than ``CONN_MAX_AGE``,
as Django does at the start of a request: with ``CELERY_DB_REUSE_MAX`` set, Celery no
longer closes the connection around every task, and nothing else would. A task run
eagerly inside the caller's transaction leaves the connection alone.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connections

from .conf import df_settings
from .engine import activities, doorbell, probes, timers
from .engine.workflow_tasks import process_workflow_task, process_workflow_tasks
from .models import ActivityTask

log = logging.getLogger("durableflows.engine")

#: Bound on how many steps one message may carry a workflow inline before handing over to doorbells.
MAX_INLINE_STEPS = 100


@shared_task(name="durableflows.workflow_task", ignore_result=True)
def workflow_task(run_id: str) -> str:
    """Advance one run; a lone new activity is claimed and run right here instead of via another message."""
    _retire_old_connections()
    result = process_workflow_task(run_id, eager=True)
    _carry(result.eager_activity)
    return result.outcome


@shared_task(name="durableflows.activity_task", ignore_result=True)
def activity_task(task_pk: int, attempt: int) -> None:
    """Run one activity attempt, then carry its workflow forward in this worker."""
    _retire_old_connections()
    _carry(activities.claim(task_pk, attempt))


@shared_task(name="durableflows.workflow_tasks", ignore_result=True)
def workflow_tasks(run_ids: list[str]) -> None:
    """Advance several runs in one transaction: the doorbell of a crowd woken together (timers due at once).

    Their new activities go out as messages, so that no run in the list waits for another's activity.
    """
    _retire_old_connections()
    if not isinstance(run_ids, list):
        log.warning("workflow tasks for %r dropped: not a list of run ids", run_ids)
        return
    process_workflow_tasks(run_ids[: doorbell.RUNS_PER_MESSAGE])


@shared_task(name="durableflows.timer_task", ignore_result=True)
def timer_task(run_id: str, timer_id: int) -> str:
    """Fire a short timer as it falls due and advance its run right here (housekeeping fires it if this is lost)."""
    _retire_old_connections()
    fired = timers.fire_timer(run_id, timer_id)
    if fired != "fired":
        return fired
    result = process_workflow_task(run_id, eager=True)
    _carry(result.eager_activity)
    return result.outcome


@shared_task(name="durableflows.queue_probe", ignore_result=True)
def queue_probe(probe_pk: int) -> None:
    """Record that this probe left its queue: every doorbell sent there before it has too."""
    _retire_old_connections()
    probes.mark_taken(probe_pk)


def _retire_old_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _carry(task: ActivityTask | None) -> None:
    """Run claimed attempts one after another, each settled in the workflow task it feeds."""
    for step in range(MAX_INLINE_STEPS):
        if task is None:
            return
        outcome = activities.run_attempt(task)
        if outcome.pending or not df_settings.INLINE_WORKFLOW_TASKS:  # pending: df.CompleteAsync, nothing to apply
            activities.record(task, outcome)
            return
        last = step == MAX_INLINE_STEPS - 1  # the next activity then goes out as a message
        task = process_workflow_task(task.run_id, eager=not last, settle=(task, outcome)).eager_activity
