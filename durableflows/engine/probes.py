"""Probes: how housekeeping tells a doorbell still queued from one that is lost.

A doorbell sent to a queue is in flight until a workflow or activity task answers it. A probe
is a marker message sent to the same queue; queues are first in, first out, so once a worker has
taken the probe, every doorbell sent to that queue before it has left the queue too. A doorbell
still unanswered ``REDELIVERY_TIMEOUT`` seconds after a later probe was taken is lost (its worker
died, or dropped it on a broker reconnect) and is rung again; one still queued never is, however
long the queue. Probes are kept per broker queue (``doorbell.broker_queue``), so they follow the
project's Celery ``task_routes`` as the doorbells do.
"""

from __future__ import annotations

import operator
from datetime import datetime, timedelta
from functools import reduce

from django.db.models import Max, Q

from .. import storage
from ..conf import df_settings
from ..models import ActivityTask, InboxItem, QueueProbe, WorkflowRun
from ..transactions import write_transaction
from . import doorbell, stamps

#: Probes of one queue that may wait untaken at once (a queue without workers must not fill up).
MAX_UNTAKEN = 20
#: In-flight rows looked at to find the queues worth probing.
SAMPLE = 100


def delivered_before(now: datetime) -> dict[str, datetime]:
    """For each queue: doorbells recorded before this time left the queue ``REDELIVERY_TIMEOUT`` ago or more.

    That is the newest probe taken that long ago, less ``stamps.SLACK``: a doorbell's recorded
    time may precede its publish by that much.
    """
    taken_by = now - timedelta(seconds=df_settings.REDELIVERY_TIMEOUT)
    rows = QueueProbe.objects.filter(taken_at__lte=taken_by).values("queue").annotate(sent_at=Max("sent_at"))
    return {row["queue"]: row["sent_at"] - stamps.SLACK for row in rows.order_by()}


def send_probes(now: datetime) -> int:
    """Probe each queue that has doorbells in flight, every fifth of ``REDELIVERY_TIMEOUT``; drop old probes.

    Reads first and writes only when there is something to write, so an idle sweep takes no write lock.
    """
    interval = timedelta(seconds=df_settings.REDELIVERY_TIMEOUT / 5)
    passed = [Q(queue=queue, sent_at__lt=before) for queue, before in delivered_before(now).items()]
    due = [queue for queue in sorted(_queues_in_flight(now - interval)) if _due(queue, now - interval)]
    if not passed and not due:
        return 0
    with write_transaction():
        if passed:
            QueueProbe.objects.filter(reduce(operator.or_, passed)).delete()  # passed by a newer one
        for queue in due:
            probe = QueueProbe.objects.create(queue=queue, sent_at=now)
            doorbell.ring_probe(probe.pk, queue=queue)
    return len(due)


def _due(queue: str, last: datetime) -> bool:
    """Whether ``queue`` had no probe since ``last`` and has room for one more untaken."""
    probes = QueueProbe.objects.filter(queue=queue)
    return not probes.filter(sent_at__gt=last).exists() and probes.filter(taken_at__isnull=True).count() < MAX_UNTAKEN


def _queues_in_flight(since: datetime) -> set[str]:
    """The broker queues of the oldest doorbells in flight since ``since``: unanswered runs, activities and facts."""
    runs = WorkflowRun.objects.filter(rung_at__lte=since).order_by("rung_at")
    tasks = ActivityTask.objects.filter(state=ActivityTask.State.SCHEDULED, dispatched_at__lte=since).order_by()
    facts = InboxItem.objects.filter(created_at__lte=since).order_by("created_at")
    workflow_queues = set(runs.values_list("queue", flat=True)[:SAMPLE])
    workflow_queues |= set(facts.values_list("run__queue", flat=True)[:SAMPLE])
    activity_queues = set(tasks.values_list("queue", flat=True)[:SAMPLE])
    return {doorbell.broker_queue(doorbell.WORKFLOW_TASK, queue) for queue in workflow_queues} | {
        doorbell.broker_queue(doorbell.ACTIVITY_TASK, queue) for queue in activity_queues
    }


def in_queue(broker_queue: str, task_name: str, field: str = "queue") -> Q:
    """The rows (``field``: their queue) whose doorbells of ``task_name`` go to ``broker_queue``."""
    rows = Q(**{field: broker_queue})
    if doorbell.broker_queue(task_name) == broker_queue:
        rows |= Q(**{field: ""})
    return rows


def mark_taken(probe_pk: int) -> None:
    """Record that a worker took this probe from its queue (run by the probe's Celery task)."""
    QueueProbe.objects.filter(pk=probe_pk, taken_at__isnull=True).update(taken_at=storage.now())


def forget_untaken() -> int:
    """Drop the probes still queued: the broker lost them (see ``broker``)."""
    deleted, _ = QueueProbe.objects.filter(taken_at__isnull=True).delete()
    return deleted
