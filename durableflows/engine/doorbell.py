"""Celery messages that say "look at run X" or "run activity task Y, attempt N".

A doorbell is only a hint: it is sent after the transaction that wrote the
facts commits, and housekeeping sends it again if it looks lost (see ``probes``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from celery import current_app
from django.db import transaction

from ..conf import df_settings
from .stamps import Stamps

log = logging.getLogger("durableflows.doorbell")

#: Set by ``durableflows.testing``, which drives work itself instead of sending messages.
muted = False

WORKFLOW_TASK = "durableflows.workflow_task"
WORKFLOW_TASKS = "durableflows.workflow_tasks"
ACTIVITY_TASK = "durableflows.activity_task"
TIMER_TASK = "durableflows.timer_task"
PROBE_TASK = "durableflows.queue_probe"

#: Runs per ``WORKFLOW_TASKS`` message: few enough that the runs of a crowd spread over the workers.
RUNS_PER_MESSAGE = 20

#: After a failed publish, sends are skipped for this many seconds instead of each waiting for the
#: broker's retries: the database already says what is in flight, and housekeeping rings it again.
PAUSE_AFTER_FAILURE = 1.0
_paused_until = 0.0


def ring_workflow(
    run_id: Any, *, queue: str | None = None, coalesce: bool = False, stamps: Stamps | None = None
) -> None:
    """After commit, ask a worker to run a workflow task for ``run_id``; ``stamps``: see ``stamps``.

    With ``coalesce`` (facts: signals, cancels, updates), a transaction rings once per run however
    many facts it writes: one task takes them all, and further messages would find nothing new.
    """
    ring = _WorkflowRing(str(run_id), queue, stamps)
    if coalesce:
        connection = transaction.get_connection()
        # A ring still waiting in this transaction survives any rollback that would not also undo this fact.
        if connection.in_atomic_block and any(_waiting(entry[1], ring) for entry in connection.run_on_commit):
            if stamps is not None:
                stamps.rings -= 1  # its row rides on the ring already waiting
            return
    transaction.on_commit(ring)


class _WorkflowRing:
    """The on-commit callback of ``ring_workflow``, equal to another for the same run and queue."""

    def __init__(self, run_id: str, queue: str | None, stamps: Stamps | None) -> None:
        self.key = (run_id, queue)
        self.stamps = stamps
        self.sent = False  # tests may run on-commit callbacks and leave them in the (never committed) list

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _WorkflowRing) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __call__(self) -> None:
        self.sent = True
        run_id, queue = self.key
        _send_stamped(self.stamps, WORKFLOW_TASK, [run_id], queue=queue)


def _waiting(callback: object, ring: _WorkflowRing) -> bool:
    return callback == ring and not cast(_WorkflowRing, callback).sent


def ring_workflows(runs: Iterable[tuple[Any, str | None]]) -> None:
    """After commit, ask for a workflow task for each ``(run_id, queue)``, up to ``RUNS_PER_MESSAGE`` per message.

    A crowd of runs woken together (timers due at the same time) would otherwise cost a Celery
    message each, which costs a worker more than the workflow task it carries.
    """
    by_queue: dict[str | None, list[str]] = {}
    for run_id, queue in runs:
        by_queue.setdefault(queue, []).append(str(run_id))

    def send_all() -> None:
        for queue, run_ids in by_queue.items():
            for start in range(0, len(run_ids), RUNS_PER_MESSAGE):
                chunk = run_ids[start : start + RUNS_PER_MESSAGE]
                if len(chunk) == 1:
                    send(WORKFLOW_TASK, chunk, queue=queue)
                else:
                    send(WORKFLOW_TASKS, [chunk], queue=queue)

    transaction.on_commit(send_all)


def ring_timer(run_id: Any, timer_id: int, fire_at: datetime, *, queue: str | None = None) -> None:
    """After commit, ask a worker to fire timer ``timer_id`` of ``run_id`` at ``fire_at`` (a Celery ETA)."""
    transaction.on_commit(lambda: send(TIMER_TASK, [str(run_id), timer_id], queue=queue, eta=fire_at))


def ring_activity(
    task_pk: int,
    attempt: int,
    *,
    queue: str | None = None,
    countdown: float | None = None,
    stamps: Stamps | None = None,
) -> None:
    """After commit, ask a worker to run attempt ``attempt`` of activity task ``task_pk``."""
    transaction.on_commit(
        lambda: _send_stamped(stamps, ACTIVITY_TASK, [task_pk, attempt], queue=queue, countdown=countdown)
    )


def ring_probe(probe_pk: int, *, queue: str) -> None:
    """After commit, send probe ``probe_pk`` down the broker queue ``queue`` (see ``broker_queue``)."""
    transaction.on_commit(lambda: send(PROBE_TASK, [probe_pk], queue=queue))


def broker_queue(task_name: str, queue: str | None = None) -> str:
    """The broker queue a doorbell of ``task_name`` for a run or activity of ``queue`` goes to.

    ``queue``, else ``DEFAULT_QUEUE``, else where the project's Celery ``task_routes`` send the task,
    else Celery's default queue: what ``send`` leaves Celery to decide, decided the same way.
    """
    if queue or df_settings.DEFAULT_QUEUE:
        return queue or df_settings.DEFAULT_QUEUE
    return current_app.amqp.Router().route({}, task_name)["queue"].name


def _send_stamped(stamps: Stamps | None, name: str, args: list[Any], **options: Any) -> None:
    """``send``, letting ``stamps`` re-stamp the transaction's rows around it (see ``stamps``)."""
    if stamps is not None and not muted:
        stamps.before_send()
    send(name, args, **options)
    if stamps is not None and not muted:
        stamps.after_send()


def send(
    name: str,
    args: list[Any],
    *,
    queue: str | None = None,
    countdown: float | None = None,
    eta: datetime | None = None,
) -> None:
    """Publish now; a failure is logged, never raised: housekeeping rings again later."""
    global _paused_until
    if muted:
        return
    if time.monotonic() < _paused_until:
        log.debug("broker unreachable a moment ago: %s%s not sent; housekeeping will send it again", name, args)
        return
    options: dict[str, Any] = {"ignore_result": True}  # also spares a result backend's per-task subscription
    if queue or df_settings.DEFAULT_QUEUE:
        options["queue"] = queue or df_settings.DEFAULT_QUEUE
    if countdown:
        options["countdown"] = countdown
    if eta is not None:
        options["eta"] = eta
    try:
        current_app.send_task(name, args=args, **options)
    except Exception:
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        log.warning("could not send %s%s; housekeeping will send it again", name, args, exc_info=True)
