"""Celery messages that say "look at run X" or "run activity task Y, attempt N".

A doorbell is only a hint: it is sent after the transaction that wrote the
facts commits, and housekeeping sends it again if it looks lost (see ``probes``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import current_app
from django.db import transaction

from ..conf import df_settings
from .stamps import Stamps

log = logging.getLogger("durableflows.doorbell")

#: Set by ``durableflows.testing``, which drives work itself instead of sending messages.
muted = False

WORKFLOW_TASK = "durableflows.workflow_task"
ACTIVITY_TASK = "durableflows.activity_task"
PROBE_TASK = "durableflows.queue_probe"

#: After a failed publish, sends are skipped for this many seconds instead of each waiting for the
#: broker's retries: the database already says what is in flight, and housekeeping rings it again.
PAUSE_AFTER_FAILURE = 1.0
_paused_until = 0.0


def ring_workflow(run_id: Any, *, queue: str | None = None, stamps: Stamps | None = None) -> None:
    """After commit, ask a worker to run a workflow task for ``run_id``; ``stamps``: see ``stamps``."""

    def ring() -> None:
        if stamps is not None and not muted:
            stamps.before_send()
        send(WORKFLOW_TASK, [str(run_id)], queue=queue)
        if stamps is not None and not muted:
            stamps.after_send()

    transaction.on_commit(ring)


def ring_activity(
    task_pk: int,
    attempt: int,
    *,
    queue: str | None = None,
    countdown: float | None = None,
    stamps: Stamps | None = None,
) -> None:
    """After commit, ask a worker to run attempt ``attempt`` of activity task ``task_pk``."""

    def ring() -> None:
        if stamps is not None and not muted:
            stamps.before_send()
        send(ACTIVITY_TASK, [task_pk, attempt], queue=queue, countdown=countdown)
        if stamps is not None and not muted:
            stamps.after_send()

    transaction.on_commit(ring)


def ring_probe(probe_pk: int, *, queue: str | None = None) -> None:
    """After commit, send probe ``probe_pk`` down the queue doorbells for ``queue`` go to."""
    transaction.on_commit(lambda: send(PROBE_TASK, [probe_pk], queue=queue))


def send(name: str, args: list[Any], *, queue: str | None = None, countdown: float | None = None) -> None:
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
    try:
        current_app.send_task(name, args=args, **options)
    except Exception:
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        log.warning("could not send %s%s; housekeeping will send it again", name, args, exc_info=True)
