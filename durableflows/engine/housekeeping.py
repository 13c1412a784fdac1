"""The sweep every worker runs: fire due timers, time out activities, re-send lost doorbells
and start due schedules (``scheduler``). Retention purges in a thread of its own (``purger``).

Each step claims its rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` (on
PostgreSQL; SQLite serializes writers anyway) and is idempotent, so any number
of workers may sweep at once without firing anything twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from .. import storage
from ..conf import df_settings
from ..models import ActivityTask, InboxItem, Timer, WorkflowRun
from ..runtime import EventType
from ..status import Status
from ..transactions import write_transaction
from . import activities, doorbell, scheduler

log = logging.getLogger("durableflows.housekeeping")
State = ActivityTask.State
OPEN = (Status.PENDING, Status.RUNNING)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of every housekeeping job; returns how many rows each handled."""
    now = now or storage.now()
    return {
        "timers_fired": fire_due_timers(now),
        "activities_timed_out": time_out_activities(now),
        "activities_dispatched": dispatch_due_activities(now),
        "runs_rung": ring_runs_needing_a_task(now),
        "schedules_started": scheduler.start_due_schedules(now),
    }


def fire_due_timers(now: datetime) -> int:
    with write_transaction():
        due = storage.claim_batch(Timer.objects.filter(fire_at__lte=now).order_by("fire_at"))
        for timer in due:
            storage.add_fact(timer.run_id, EventType.TIMER_FIRED, {"timer_id": timer.timer_id})
        Timer.objects.filter(pk__in=[t.pk for t in due]).delete()
    return len(due)


def time_out_activities(now: datetime) -> int:
    """Settle attempts past their deadline and activities past their schedule-to-close budget."""
    count = 0
    started_late = Q(state=State.STARTED, deadline__lt=now)
    expired = Q(state__in=(State.SCHEDULED, State.STARTED), expires_at__lt=now)
    with write_transaction():
        for task in storage.claim_batch(ActivityTask.objects.select_related("run").filter(started_late | expired)):
            if task.expires_at is not None and task.expires_at < now:
                failure = activities.Failure("TimeoutError", "schedule_to_close_timeout exceeded", retryable=False)
            elif _deadline_is_heartbeat(task):
                failure = activities.Failure("TimeoutError", "heartbeat_timeout exceeded")
            else:
                failure = activities.Failure("TimeoutError", "start_to_close_timeout exceeded")
            activities.record(task, activities.Outcome(failure=failure), timed_out=True)
            count += 1
    return count


def _deadline_is_heartbeat(task: ActivityTask) -> bool:
    options = task.options or {}
    return (
        bool(options.get("heartbeat_timeout"))
        and task.started_at is not None
        and task.deadline is not None
        and (task.deadline < task.started_at + timedelta(seconds=options["start_to_close_timeout"]))
    )


def dispatch_due_activities(now: datetime) -> int:
    """Send doorbells for attempts that are due and have none in flight (retries, lost messages)."""
    stale = now - timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    with write_transaction():
        due = storage.claim_batch(
            ActivityTask.objects.filter(state=State.SCHEDULED, due_at__lte=now, cancel_requested=False).filter(
                Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale)
            )
        )
        ActivityTask.objects.filter(pk__in=[t.pk for t in due]).update(dispatched_at=now)
        for task in due:
            doorbell.ring_activity(task.pk, task.attempt, queue=task.queue or None)
    return len(due)


def ring_runs_needing_a_task(now: datetime) -> int:
    """Ring runs whose wake-up time passed, and runs whose facts have waited too long.

    Each query reads only what is due, through an index (``wake_at``; inbox rows by age), so a sweep
    costs the same however many runs sleep on timers or signals.
    """
    stale = now - timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    queries = [WorkflowRun.objects.filter(wake_at__lte=now).order_by("wake_at")]  # only open runs have a wake_at
    waiting = InboxItem.objects.filter(created_at__lt=stale).values_list("run_id", flat=True).distinct()
    if waiting_ids := list(waiting.order_by()[: df_settings.HOUSEKEEPING_BATCH]):
        queries.append(WorkflowRun.objects.filter(pk__in=waiting_ids, wake_at__isnull=True, status__in=OPEN).order_by())
    with write_transaction():
        runs = [run for query in queries for run in storage.claim_batch(query.only("run_id", "queue"))]
        WorkflowRun.objects.filter(pk__in=[r.pk for r in runs]).update(
            wake_at=now + timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
        )
        for run in runs:
            doorbell.ring_workflow(run.pk, queue=run.queue or None)
    return len(runs)
