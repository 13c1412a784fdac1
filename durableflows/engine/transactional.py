"""Transactional activities: the function's database writes and its ActivityCompleted fact commit together.

A claimed attempt opens ``write_transaction()``, locks its run (shared) and then its own row,
re-checks that the attempt still holds and has time left, runs the function and records the
completion before the commit. A duplicate delivery never gets this far (the claim refuses it);
an attempt that housekeeping timed out meanwhile finds its row settled and runs nothing; an
exception, or a deadline passed while the function ran, rolls its writes back and hands the
failure to the caller, which records it in a transaction of its own (the retry policy applies).

Locks come in the order workflow tasks take them, the run before its activity rows, so a
workflow task that cancels this activity or a terminate waits for the commit instead of
deadlocking with it. The shared run lock does not hold up PostgreSQL's workflow tasks (which
take ``FOR NO KEY UPDATE``); on MariaDB and MySQL it makes them wait; SQLite's ``BEGIN
IMMEDIATE`` holds the whole database for the attempt.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from django.db import connection

from .. import registry, serialization, storage
from ..activity_context import ActivityInfo, current_activity
from ..conf import df_settings
from ..errors import CompleteAsync, NonRetryableError
from ..models import ActivityTask
from ..sql import Batch
from ..transactions import write_transaction
from . import activities

State = ActivityTask.State


class InTransactionAttempt(Protocol):
    """The attempt's context: backs ``df.activity_info()`` and ``df.heartbeat()``, whose details it keeps in memory."""

    info: ActivityInfo
    unsaved_details: Any

    def heartbeat(self, details: Any = None) -> None: ...


class _Rollback(Exception):
    """Leave the attempt's transaction without committing, with the outcome to report instead."""

    def __init__(self, outcome: activities.Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def run_attempt(task: ActivityTask, context: InTransactionAttempt) -> activities.Outcome:
    """Run a claimed attempt inside the transaction that records its completion.

    Returns a ``recorded`` outcome once the completion committed, a failure to record otherwise,
    or, if the attempt no longer holds, an unrecorded result that recording then drops.
    """
    token = current_activity.set(context)
    try:
        with write_transaction():
            if not _lock(task):
                return activities.Outcome()  # settled meanwhile: nothing ran, nothing to record
            _refuse_if_late(task, context)
            encoded = _call(task)
            _refuse_if_late(task, context)
            outcome = activities.Outcome(result=encoded, heartbeat_details=context.unsaved_details, recorded=True)
            held = activities.complete(task, details=outcome.heartbeat_details)
            fact = activities.completed_fact(task, outcome, held)
            if fact is None:  # cannot happen under the row lock; never commit the writes without their fact
                raise _Rollback(activities.Outcome())
            storage.add_fact(task.run_id, *fact, ring=False)  # the caller rings, or advances the run itself
        return outcome
    except _Rollback as rollback:
        return rollback.outcome
    except CompleteAsync:  # its writes would have to wait, uncommitted, for another process to complete it
        failure = activities.Failure(
            "TypeError", f"transactional activity {task.name!r} cannot complete asynchronously", retryable=False
        )
        return activities.Outcome(failure=failure, heartbeat_details=context.unsaved_details)
    except Exception as exc:  # noqa: BLE001 - every failure of user code is recorded
        return activities.Outcome(
            failure=activities.Failure.from_exception(exc), heartbeat_details=context.unsaved_details
        )
    finally:
        current_activity.reset(token)


def _lock(task: ActivityTask) -> bool:
    """Lock the run (shared), then the attempt's row; True if the attempt is still the started one."""
    run_lock, row_lock = lock_clauses()
    reads = Batch()
    storage.runs.get({"run_id": task.run_id}, lock=run_lock, batch=reads)
    row = storage.activity_tasks.get(
        {"id": task.pk, "attempt": task.attempt, "state": State.STARTED}, lock=row_lock, batch=reads
    )
    reads.run()
    return row.value is not None


def lock_clauses() -> tuple[str, str]:
    """The run's shared lock and the attempt row's lock on this database (none on SQLite, locked at BEGIN).

    Whoever settles an attempt takes them in this order, the order of workflow tasks and terminates.
    """
    if not connection.features.has_select_for_update:
        return "", ""
    if connection.vendor == "postgresql":
        return "FOR KEY SHARE", "FOR UPDATE"  # KEY SHARE: what inserting the fact would take anyway
    if connection.vendor == "mysql":
        return "LOCK IN SHARE MODE", "FOR UPDATE"
    return "", "FOR UPDATE"


def _refuse_if_late(task: ActivityTask, context: InTransactionAttempt) -> None:
    """Past the attempt's deadline housekeeping would time it out: roll back rather than commit late."""
    if task.deadline is not None and storage.now() >= task.deadline:
        failure = activities.Failure("TimeoutError", "start_to_close_timeout exceeded")
        raise _Rollback(activities.Outcome(failure=failure, timed_out=True, heartbeat_details=context.unsaved_details))


def _call(task: ActivityTask) -> Any:
    """Call the activity (or its test double) and return its result encoded for the history."""
    definition = registry.get_activity(task.name)
    args, _ = serialization.decode_arguments(definition.fn, task.args)
    result = activities.overrides.get(task.name, definition.fn)(*args)
    if inspect.isawaitable(result):
        getattr(result, "close", lambda: None)()
        raise NonRetryableError(f"transactional activity {task.name!r} returned an awaitable", type="TypeError")
    return serialization.check(result, what=f"result of activity {task.name!r}", limit=df_settings.MAX_PAYLOAD_BYTES)
