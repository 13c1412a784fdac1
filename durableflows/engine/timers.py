"""Durable timers: firing the due ones in set-based batches, and the doorbell of a short timer.

A timer is a ``Timer`` row until it fires; firing deletes the row in the transaction that records
its ``TimerFired`` fact, so a timer fires exactly once however many workers try. Housekeeping fires
timers in batches; a timer due sooner than housekeeping might look (``short_timer_horizon``) also
gets a Celery message due at its fire time, which fires that one timer and advances its run.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from .. import storage
from ..conf import df_settings
from ..models import ActivityTask, Timer, WorkflowRun
from ..runtime import EventType
from ..sql import Batch
from ..transactions import write_transaction
from . import doorbell

log = logging.getLogger("durableflows.timers")

#: Timers fired per transaction: one claim, one bulk insert of facts, one delete.
BATCH = 1000
#: Batches per call of ``fire_due_timers``, so that one sweep still leaves time for the other jobs.
BATCHES_PER_SWEEP = 10


def fire_due_timers(now: datetime) -> int:
    """Fire the timers due at ``now``, a batch per transaction, while batches come back full (bounded)."""
    fired = 0
    for _ in range(BATCHES_PER_SWEEP):
        count = _fire_batch(now)
        fired += count
        if count < BATCH:
            break
    return fired


def _fire_batch(now: datetime) -> int:
    """Claim up to ``BATCH`` due timers no one else holds (``SKIP LOCKED``), record their facts, delete them."""
    with write_transaction():
        due = storage.claim_batch(
            Timer.objects.filter(fire_at__lte=now).order_by("fire_at").values_list("pk", "run_id", "timer_id"),
            size=BATCH,
        )
        if not due:
            return 0
        created = storage.now()
        fired = EventType.TIMER_FIRED.value
        writes = Batch()
        storage.inbox.insert_rows(
            [
                {"run_id": run_id, "type": fired, "data": {"timer_id": timer_id}, "created_at": created}
                for _, run_id, timer_id in due
            ],
            batch=writes,
        )
        storage.timers.delete({"id": tuple(pk for pk, _, _ in due)}, batch=writes)
        writes.run()
        doorbell.ring_workflows(_with_queues(list(dict.fromkeys(run_id for _, run_id, _ in due))))  # in due order
    return len(due)


def _with_queues(run_ids: list[Any]) -> list[tuple[Any, str | None]]:
    """Each run with its own queue (most have none, so only those that do are read)."""
    queues = dict(WorkflowRun.objects.filter(pk__in=run_ids).exclude(queue="").values_list("pk", "queue"))
    return [(run_id, queues.get(run_id)) for run_id in run_ids]


def fire_timer(run_id: Any, timer_id: int) -> str:
    """Fire one timer of one run if it is still pending and due: ``"fired"``, ``"gone"`` or ``"not due"``.

    Used by the doorbell of a short timer. The conditional ``DELETE`` is the claim: of this call and
    any sweep, only the one that deletes the row records the fact.
    """
    try:
        run_id = uuid.UUID(str(run_id))
        timer_id = int(timer_id)
    except (TypeError, ValueError):
        log.warning("timer doorbell for %r, %r dropped: not a run id and timer id", run_id, timer_id)
        return "gone"
    now = storage.now()
    with write_transaction():
        deleted, _ = Timer.objects.filter(run_id=run_id, timer_id=timer_id, fire_at__lte=now).delete()
        if deleted:
            storage.add_fact(run_id, EventType.TIMER_FIRED, {"timer_id": timer_id}, ring=False)
            return "fired"
    pending = Timer.objects.filter(run_id=run_id, timer_id=timer_id).values_list("fire_at", "run__queue").first()
    if pending is None:
        return "gone"
    fire_at, queue = pending
    doorbell.ring_timer(run_id, timer_id, fire_at, queue=queue or None)  # it came early: ask again for its time
    return "not due"


def short_timer_horizon() -> timedelta:
    """Timers due sooner than this after they start also get a doorbell: housekeeping may sleep past them.

    The housekeeper plans its next wake-up at most ``HOUSEKEEPING_INTERVAL`` ahead, from the timers it
    can see; one started meanwhile (or committed just after it looked) may fall due before it wakes.
    """
    return timedelta(seconds=min(2 * float(df_settings.HOUSEKEEPING_INTERVAL), float(df_settings.MAX_COUNTDOWN)))


def started(run: WorkflowRun, timer_id: int, fire_at: datetime, now: datetime) -> None:
    """Store a timer a workflow task started (in its transaction); a short one also gets its doorbell."""
    Timer.objects.create(run=run, timer_id=timer_id, fire_at=fire_at)
    if fire_at - now < short_timer_horizon():
        doorbell.ring_timer(run.pk, timer_id, fire_at, queue=run.queue or None)


def next_due() -> datetime | None:
    """When the next timer fires or the next started attempt reaches its deadline: two index lookups."""
    timer = Timer.objects.order_by("fire_at").values_list("fire_at", flat=True).first()
    deadline = (
        ActivityTask.objects.filter(state=ActivityTask.State.STARTED, deadline__isnull=False)
        .order_by("deadline")
        .values_list("deadline", flat=True)
        .first()
    )
    return min((due for due in (timer, deadline) if due is not None), default=None)
