"""The narrow set of storage operations shared by the client and the engine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, overload

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db import models as dj_models
from django.utils import timezone

from . import signals
from .conf import df_settings
from .engine import doorbell, stamps
from .models import ActivityTask, HistoryEvent, InboxItem, Timer, WorkflowRun
from .runtime import Event, EventType
from .sql import Batch, Pending, Table
from .status import Status

#: The hot path's tables (see ``durableflows.sql``); everything else goes through the ORM.
runs = Table(WorkflowRun)
history = Table(HistoryEvent)
inbox = Table(InboxItem)
activity_tasks = Table(ActivityTask)
timers = Table(Timer)

_clock: Callable[[], datetime] = timezone.now
#: Event types by stored name: a dict lookup costs a fraction of ``EventType(name)``, once per event loaded.
_EVENT_TYPES = {type.value: type for type in EventType}


def _history_event(sequence: int, type: str, timestamp: datetime, data: dict[str, Any]) -> Event:
    """One stored history row as an ``Event``: run once per event loaded, so the type is a dict lookup."""
    event_type = _EVENT_TYPES.get(type)
    if event_type is None:
        event_type = EventType(type)  # an unknown name: EventType's own ValueError
    return Event(sequence, event_type, timestamp, data)


def now() -> datetime:
    """The engine's clock: wall time, unless the testing toolkit skips time."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the engine's clock (``None`` restores wall time); used by ``durableflows.testing``."""
    global _clock
    _clock = clock or timezone.now


def create_run(
    workflow_name: str,
    encoded_args: list[Any],
    *,
    workflow_id: str,
    start_at: datetime | None = None,
    queue: str | None = None,
    parent: WorkflowRun | None = None,
    parent_child_id: int | None = None,
    parent_close_policy: str = "",
    continued_from: WorkflowRun | None = None,
    subject: dj_models.Model | None = None,
) -> WorkflowRun:
    """Insert a pending run with its WorkflowStarted event and ring for its first task.

    Must run inside a transaction, or where ``transactions.batch_is_atomic_alone()``; the caller has
    made sure no other run of ``workflow_id`` is open (a unique constraint backs that up).
    """
    created = now()
    start_at = max(start_at or created, created)
    delayed = start_at > created
    run = WorkflowRun(
        workflow_id=workflow_id,
        workflow_name=workflow_name,
        args=encoded_args,
        queue=queue or "",
        created_at=created,
        start_at=start_at,
        history_length=1,
        wake_at=start_at if delayed else None,  # a delayed start is rung by housekeeping when due
        rung_at=None if delayed else created,
        parent=parent,
        parent_child_id=parent_child_id,
        parent_close_policy=parent_close_policy,
        continued_from=continued_from,
    )
    if subject is not None:
        if subject.pk is None:
            raise ValueError("subject must be a saved model instance")
        run.subject_type = ContentType.objects.get_for_model(subject)
        run.subject_id = str(subject.pk)
    writes = Batch()
    runs.insert([run], batch=writes)
    append_events(
        run,
        [
            Event(
                1,
                EventType.WORKFLOW_STARTED,
                created,
                {
                    "workflow_id": workflow_id,
                    "run_id": str(run.run_id),
                    "workflow_name": workflow_name,
                    "args": encoded_args,
                    "parent_workflow_id": parent.workflow_id if parent else None,
                    "parent_run_id": str(parent.run_id) if parent else None,
                    "continued_from_run_id": str(continued_from.run_id) if continued_from else None,
                    "start_at": start_at.isoformat(),
                },
            )
        ],
        batch=writes,
    )
    writes.run()
    if not delayed:
        doorbell.ring_workflow(run.run_id, queue=queue, stamps=stamps.record(WorkflowRun, "rung_at", run.pk, created))
    signals.send_on_commit(
        signals.workflow_started,
        WorkflowRun,
        workflow_id=workflow_id,
        run_id=str(run.run_id),
        workflow_name=workflow_name,
        status=Status.PENDING.value,
    )
    return run


def add_fact(
    run: WorkflowRun | Any, type: EventType, data: dict[str, Any], *, ring: bool = True, queue: str | None = None
) -> InboxItem:
    """Queue a fact for the run's next workflow task (inside the caller's transaction)."""
    run_id = run.run_id if isinstance(run, WorkflowRun) else run
    item = InboxItem.objects.create(run_id=run_id, type=type, data=data, created_at=now())
    if ring:
        recorded = stamps.record(InboxItem, "created_at", item.pk, item.created_at)
        doorbell.ring_workflow(
            run_id, queue=queue or getattr(run, "queue", None) or None, coalesce=True, stamps=recorded
        )
    return item


@overload
def load_history(run_id: Any, *, batch: None = None) -> list[Event]: ...
@overload
def load_history(run_id: Any, *, batch: Batch) -> Pending[list[Event]]: ...
def load_history(run_id: Any, *, batch: Batch | None = None) -> list[Event] | Pending[list[Event]]:
    return history.values(
        {"run_id": run_id},
        ("sequence", "type", "timestamp", "data"),
        order_by="sequence",
        row=_history_event,
        batch=batch,
    )


def load_history_if_due(run_id: Any, *, batch: Batch) -> Pending[list[Event]]:
    """The run's history if a workflow task has work with it (a new run, or an open one with facts waiting).

    Read in the round trip that locks the run; empty for a closed or idle run, whose task needs none.
    """
    return history.values(
        {"run_id": run_id},
        ("sequence", "type", "timestamp", "data"),
        order_by="sequence",
        row=_history_event,
        condition=(_due_condition(), _DUE_STATUSES),
        batch=batch,
    )


def load_histories_if_due(run_ids: Sequence[Any], *, batch: Batch) -> Pending[list[tuple[Any, Event]]]:
    """``load_history_if_due`` for several runs in one statement: ``(run id, event)`` in sequence order."""
    return history.values(
        {"run_id": tuple(run_ids)},
        ("run_id", "sequence", "type", "timestamp", "data"),
        order_by="sequence",
        row=lambda run_id, *event: (run_id, _history_event(*event)),
        condition=(_due_condition(), _DUE_STATUSES),
        batch=batch,
    )


_DUE_STATUSES = (str(Status.PENDING.value), str(Status.RUNNING.value))


@functools.cache
def _due_condition() -> str:
    """An event's run is new, or running with facts waiting."""
    run, waiting, status = runs._names[""], inbox._names[""], runs._names["status"]
    key = f"{history._names['']}.{history._names['run_id']}"
    return (
        f"EXISTS (SELECT 1 FROM {run} WHERE {run}.{runs._names['run_id']} = {key} AND ({status} = %s OR ({status} = %s"
        f" AND EXISTS (SELECT 1 FROM {waiting} WHERE {waiting}.{inbox._names['run_id']} = {key}))))"
    )


def append_events(run: WorkflowRun, events: Iterable[Event], *, batch: Batch | None = None) -> None:
    rows = [
        {"run_id": run.pk, "sequence": e.sequence, "type": e.type, "timestamp": e.timestamp, "data": e.data}
        for e in events
    ]
    history.insert_rows(rows, batch=batch)


def claim_batch(queryset: dj_models.QuerySet, *, size: int | None = None) -> list:
    """Lock up to a batch of rows that no one else holds (``SKIP LOCKED``), leaving joined rows unlocked.

    ``size`` defaults to ``HOUSEKEEPING_BATCH``.
    """
    size = size or df_settings.HOUSEKEEPING_BATCH
    if connection.features.has_select_for_update_of:
        return list(queryset.select_for_update(skip_locked=True, of=("self",))[:size])
    if not queryset.query.select_related:
        return list(queryset.select_for_update(skip_locked=True)[:size])
    # Without FOR UPDATE OF (MariaDB) a join locks the joined rows too: lock the rows alone, then load them.
    locked = list(queryset.select_related(None).select_for_update(skip_locked=True).values_list("pk", flat=True)[:size])
    return list(queryset.filter(pk__in=locked)) if locked else []


def latest_run(workflow_id: str) -> WorkflowRun | None:
    """The open run of ``workflow_id`` if there is one, else the one created last."""
    runs = WorkflowRun.objects.filter(workflow_id=workflow_id)
    return runs.filter(status__in=(Status.PENDING, Status.RUNNING)).first() or runs.order_by("-created_at").first()


def open_run(workflow_id: str, *, lock: bool = False) -> WorkflowRun | None:
    qs = WorkflowRun.objects.filter(workflow_id=workflow_id, status__in=(Status.PENDING, Status.RUNNING)).order_by()
    return next(iter((qs.select_for_update() if lock else qs)[:1]), None)  # at most one is open
