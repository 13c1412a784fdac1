"""What happens when a run ends: its row, pending work, children, parent and Django signals."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, overload

from .. import signals, storage
from ..models import ActivityTask, InboxItem, Timer, UpdateRequest, WorkflowRun
from ..runtime import Event, EventType
from ..sql import Batch, Pending
from ..status import Status
from ..transactions import write_transaction
from . import doorbell

log = logging.getLogger("durableflows.engine")

CLOSING_STATUS = {
    EventType.WORKFLOW_COMPLETED: Status.COMPLETED,
    EventType.WORKFLOW_FAILED: Status.FAILED,
    EventType.WORKFLOW_CANCELLED: Status.CANCELLED,
    EventType.WORKFLOW_TERMINATED: Status.TERMINATED,
    EventType.WORKFLOW_CONTINUED_AS_NEW: Status.CONTINUED_AS_NEW,
    EventType.WORKFLOW_TIMED_OUT: Status.TIMED_OUT,
}
#: Facts left in the inbox of a run that continues as new which its next run receives instead.
_HANDED_ON = (EventType.SIGNAL_RECEIVED.value, EventType.CANCEL_REQUESTED.value, EventType.UPDATE_ACCEPTED.value)
_SIGNALS = {
    Status.COMPLETED: signals.workflow_completed,
    Status.FAILED: signals.workflow_failed,
    Status.CANCELLED: signals.workflow_cancelled,
    Status.TERMINATED: signals.workflow_terminated,
}


def close_run(
    run: WorkflowRun,
    event: Event,
    now: datetime,
    *,
    pending_work: bool = True,
    batch: Batch | None = None,
    notify: bool = True,
) -> WorkflowRun | None:
    """Close ``run`` (locked by the caller) as ``event`` says; returns the next run after continue-as-new.

    Sets the row's fields without saving them; the caller saves the row. The run's
    leftover inbox is deleted (signals and cancel requests go on to the next run after
    continue-as-new) in ``batch`` if one is given. The Django signal of the close is sent on
    commit; with ``notify=False``, the caller sends it with ``notify_closed`` once it has committed.
    """
    status = CLOSING_STATUS[event.type]
    run.status = status
    run.closed_at = now
    run.wake_at = run.rung_at = None
    run.task_error = ""
    if status is Status.COMPLETED:
        run.result = event.data.get("result")
    elif status in (Status.FAILED, Status.CANCELLED, Status.TERMINATED, Status.TIMED_OUT):
        run.error = {k: event.data.get(k, "") for k in ("type", "message", "traceback", "reason") if k in event.data}
    if pending_work:  # activities, timers or children the code still waited on
        open_states = (ActivityTask.State.SCHEDULED, ActivityTask.State.STARTED)
        ActivityTask.objects.filter(run=run, state__in=open_states).update(
            state=ActivityTask.State.CANCELLED, cancel_requested=True, closed_at=now
        )
        Timer.objects.filter(run=run).delete()
        _close_children(run, now)
    successor = None
    if status is Status.CONTINUED_AS_NEW:
        # The next run of this workflow id may only open once this one is closed.
        WorkflowRun.objects.filter(pk=run.pk).update(status=status, closed_at=now)
        successor = storage.create_run(
            run.workflow_name,
            event.data.get("args", []),
            workflow_id=run.workflow_id,
            queue=run.queue or None,
            parent=run.parent,
            parent_child_id=run.parent_child_id,
            parent_close_policy=run.parent_close_policy,
            continued_from=run,
            subject=run.subject,
        )
        _hand_on(run, successor, batch=batch)
    elif run.parent_id is not None:
        _notify_parent(run, status, event.data)
    storage.inbox.delete({"run_id": run.pk}, batch=batch)
    if notify:
        notify_closed(run)
    return successor


def settle_late_facts(run: WorkflowRun) -> None:
    """Facts that reached a closed run (their sender saw it open): handed on after continue-as-new, else dropped."""
    successor = None
    if run.status == Status.CONTINUED_AS_NEW:
        successor = WorkflowRun.objects.filter(continued_from=run).first()
    if successor is not None and _hand_on(run, successor):
        doorbell.ring_workflow(successor.pk, queue=successor.queue or None, coalesce=True)  # it may be closed too
    storage.inbox.delete({"run_id": run.pk})


@overload
def _hand_on(run: WorkflowRun, successor: WorkflowRun, *, batch: None = None) -> int: ...
@overload
def _hand_on(run: WorkflowRun, successor: WorkflowRun, *, batch: Batch | None) -> int | Pending[int]: ...
def _hand_on(run: WorkflowRun, successor: WorkflowRun, *, batch: Batch | None = None) -> int | Pending[int]:
    """Give the next run what was sent to the workflow id and its predecessor did not get to.

    Signals, cancel requests and updates, with the updates' requests (their callers' handles follow them);
    the result is how many facts went on. A request already retried against the next run stays there alone.
    """
    requests = UpdateRequest.objects.filter(run=run, state=UpdateRequest.State.REQUESTED)
    retried = list(
        UpdateRequest.objects.filter(run=successor, update_id__in=requests.values("update_id")).values_list(
            "update_id", flat=True
        )
    )
    if retried:
        InboxItem.objects.filter(run=run, type=EventType.UPDATE_ACCEPTED, data__update_id__in=retried).delete()
        requests.filter(update_id__in=retried).delete()
    requests.update(run=successor)
    return storage.inbox.update({"run_id": run.pk, "type": _HANDED_ON}, run_id=successor.pk, batch=batch)


def terminate_run(run: WorkflowRun, reason: str, now: datetime | None = None) -> bool:
    """Close an open run at once without running its code; False if it was already closed."""
    now = now or storage.now()
    with write_transaction():
        run = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if not run.is_open:
            return False
        event = Event(
            run.history_length + 1,
            EventType.WORKFLOW_TERMINATED,
            now,
            {"reason": reason, "type": "Terminated", "message": reason},
        )
        storage.append_events(run, [event])
        run.history_length = event.sequence
        close_run(run, event, now)
        run.save()
    return True


def _close_children(run: WorkflowRun, now: datetime) -> None:
    for child in WorkflowRun.objects.filter(parent=run, status__in=(Status.PENDING, Status.RUNNING)):
        if child.parent_close_policy == "terminate":
            terminate_run(child, f"parent {run.workflow_id} closed", now)
        elif child.parent_close_policy == "request_cancel":
            storage.add_fact(child, EventType.CANCEL_REQUESTED, {"reason": f"parent {run.workflow_id} closed"})


def _notify_parent(run: WorkflowRun, status: Status, data: dict[str, Any]) -> None:
    if run.parent_child_id is None:
        return
    parent_open = (
        run.parent_id is not None
        and WorkflowRun.objects.filter(pk=run.parent_id, status__in=(Status.PENDING, Status.RUNNING)).exists()
    )
    if not parent_open:
        return
    base = {"child_id": run.parent_child_id, "workflow_id": run.workflow_id, "run_id": str(run.run_id)}
    if status is Status.COMPLETED:
        storage.add_fact(run.parent_id, EventType.CHILD_WORKFLOW_COMPLETED, {**base, "result": data.get("result")})
    else:
        storage.add_fact(
            run.parent_id,
            EventType.CHILD_WORKFLOW_FAILED,
            {
                **base,
                "status": status.value,
                "type": data.get("type", ""),
                "message": data.get("message") or data.get("reason", ""),
            },
        )


def notify_closed(run: WorkflowRun) -> None:
    """Send the Django signal of the run's close (``workflow_completed``, ...) once the transaction commits."""
    status = Status(run.status)
    signal = _SIGNALS.get(status)
    if signal is None:
        return
    kwargs: dict[str, Any] = {
        "workflow_id": run.workflow_id,
        "run_id": str(run.run_id),
        "workflow_name": run.workflow_name,
        "status": status.value,
    }
    if status is Status.COMPLETED:
        kwargs["result"] = run.result
    else:
        kwargs["error"] = run.error
    signals.send_on_commit(signal, WorkflowRun, **kwargs)
