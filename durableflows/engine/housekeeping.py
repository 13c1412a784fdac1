"""The sweep every worker runs: fire due timers, time out activities, re-send lost doorbells
(``probes`` tell them from queued ones; ``broker`` tells when Redis lost them all) and start due
schedules (``scheduler``). Retention purges in a thread of its own (``purger``).

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
from ..models import ActivityTask, InboxItem, WorkflowRun
from ..status import Status
from ..transactions import write_transaction
from . import activities, broker, doorbell, probes, scheduler, stamps
from .timers import fire_due_timers

log = logging.getLogger("durableflows.housekeeping")
State = ActivityTask.State
OPEN = (Status.PENDING, Status.RUNNING)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of every housekeeping job; returns how many rows each handled."""
    now = now or storage.now()
    return {
        "rings_restored": restore_rings_if_broker_lost(now),
        "timers_fired": fire_due_timers(now),
        "activities_timed_out": time_out_activities(now),
        "activities_dispatched": dispatch_due_activities(now),
        "runs_rung": ring_runs_needing_a_task(now),
        "schedules_started": scheduler.start_due_schedules(now),
        "probes_sent": probes.send_probes(now),
    }


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
    """Send doorbells for attempts that are due and have none in flight (retries, lost messages).

    A doorbell counts as lost once a probe sent after it has left its queue (``probes``).
    """
    lost = Q(dispatched_at__isnull=True)
    for queue, before in probes.delivered_before(now).items():
        lost |= probes.in_queue(queue, doorbell.ACTIVITY_TASK) & Q(dispatched_at__lte=before)
    with write_transaction():
        due = storage.claim_batch(
            ActivityTask.objects.filter(state=State.SCHEDULED, due_at__lte=now, cancel_requested=False).filter(lost)
        )
        ActivityTask.objects.filter(pk__in=[t.pk for t in due]).update(dispatched_at=now)
        for task in due:
            recorded = stamps.record(ActivityTask, "dispatched_at", task.pk, now)
            doorbell.ring_activity(task.pk, task.attempt, queue=task.queue or None, stamps=recorded)
    return len(due)


def ring_runs_needing_a_task(now: datetime) -> int:
    """Ring runs whose wake-up time passed, and runs whose doorbell, or whose facts' doorbells, are lost.

    A doorbell counts as lost once a probe sent after it has left its queue (``probes``), so a run
    whose message is still queued is never rung twice, however long the queue. Each query reads only
    what is due, through an index (``wake_at``, ``rung_at``; inbox rows by age), so a sweep costs the
    same however many runs sleep on timers or signals.
    """
    queries = [WorkflowRun.objects.filter(wake_at__lte=now).order_by("wake_at")]  # only open runs have a wake_at
    for queue, before in probes.delivered_before(now).items():
        in_queue = probes.in_queue(queue, doorbell.WORKFLOW_TASK)
        queries.append(WorkflowRun.objects.filter(in_queue, rung_at__lte=before).order_by("rung_at"))
        waiting = InboxItem.objects.filter(
            probes.in_queue(queue, doorbell.WORKFLOW_TASK, "run__queue"),
            created_at__lte=before,
            run__status__in=OPEN,
            run__rung_at__isnull=True,  # else its own doorbell is in flight
            run__wake_at__isnull=True,  # else it is rung when due
        ).values_list("run_id", flat=True)
        if waiting_ids := list(waiting.distinct().order_by()[: df_settings.HOUSEKEEPING_BATCH]):
            queries.append(
                WorkflowRun.objects.filter(pk__in=waiting_ids, rung_at__isnull=True, status__in=OPEN).order_by()
            )
    with write_transaction():
        runs = {run.pk: run for query in queries for run in storage.claim_batch(query.only("run_id", "queue"))}
        WorkflowRun.objects.filter(pk__in=list(runs)).update(wake_at=None, rung_at=now)
        for run in runs.values():
            recorded = stamps.record(WorkflowRun, "rung_at", run.pk, now)
            doorbell.ring_workflow(run.pk, queue=run.queue or None, stamps=recorded)
    return len(runs)


def restore_rings_if_broker_lost(now: datetime) -> int:
    """When the broker lost every message (Redis restarted without persistence), make all in flight due now.

    Runs rung or with facts waiting get a wake-up time of now, dispatched attempts lose their
    dispatch time, so this sweep and the next ones ring them again at once, not after probes.
    """
    if not broker.lost_its_messages():
        return 0
    with write_transaction():
        restored = WorkflowRun.objects.filter(rung_at__isnull=False).update(rung_at=None, wake_at=now)
        restored += WorkflowRun.objects.filter(
            pk__in=InboxItem.objects.values("run_id"), wake_at__isnull=True, status__in=OPEN
        ).update(wake_at=now)
        restored += ActivityTask.objects.filter(state=State.SCHEDULED, dispatched_at__isnull=False).update(
            dispatched_at=None
        )
        probes.forget_untaken()
    log.warning("the broker lost its messages (restarted without persistence?): ringing %s again", restored)
    return restored
