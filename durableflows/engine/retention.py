"""Retention: delete closed runs, with their history and tasks, once ``DURABLEFLOWS["RETENTION"]`` has passed.

Each batch is a few set-based statements, one per table that refers to the runs
(``DELETE ... WHERE run_id IN (...)``), never Django's delete collector, which loads
what it deletes; in one short transaction (on SQLite, a transaction per statement).
A batch holds at most ``RETENTION_BATCH`` runs and :func:`events_per_batch` events, so
a large backlog, or one huge history, never holds the write lock for long. Open runs are never deleted, nor
closed runs whose parent or a child is still open: the open one still needs the link.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Exists, Min, OuterRef, QuerySet
from django.db.models.deletion import Collector

from .. import storage
from ..conf import df_settings
from ..models import HistoryEvent, WorkflowRun
from ..options import Duration, to_seconds
from ..status import OPEN_STATUSES
from ..transactions import write_transaction
from . import fork_guard

log = logging.getLogger("durableflows.retention")

#: Events one batch deletes at most (whole runs while they fit; a longer history goes in slices first).
#: SQLite has one write lock for everyone, held for the whole batch; PostgreSQL locks only the rows
#: deleted, and its COMMIT (a WAL flush) costs the same for a small batch as for a larger one.
MAX_EVENTS_PER_BATCH = 1_000
MAX_EVENTS_PER_BATCH_POSTGRESQL = 5_000


def events_per_batch() -> int:
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return max(MAX_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH_POSTGRESQL)
    return MAX_EVENTS_PER_BATCH


@dataclasses.dataclass
class PurgeResult:
    """What a purge deleted (or, in a dry run, would delete)."""

    runs: int = 0
    events: int = 0
    cutoff: datetime | None = None
    batches: int = 0


def retention_period() -> timedelta | None:
    """``DURABLEFLOWS["RETENTION"]`` as a timedelta; ``None`` keeps closed runs forever."""
    seconds = to_seconds(df_settings.RETENTION, name='DURABLEFLOWS["RETENTION"]')
    return None if seconds is None else timedelta(seconds=seconds)


def expired_runs(cutoff: datetime) -> QuerySet[WorkflowRun]:
    """Closed runs that closed before ``cutoff`` and are linked to no open parent or child."""
    open_runs = WorkflowRun.objects.filter(status__in=OPEN_STATUSES)
    return (
        WorkflowRun.objects.exclude(status__in=OPEN_STATUSES)
        .filter(closed_at__lt=cutoff)
        .exclude(Exists(open_runs.filter(pk=OuterRef("parent_id"))))
        .exclude(Exists(open_runs.filter(parent=OuterRef("pk"))))
    )


def purge(
    older_than: Duration | None = None,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    dry_run: bool = False,
    pause: Callable[[float, int], bool] | None = None,
) -> PurgeResult:
    """Delete runs closed more than ``older_than`` (default: the RETENTION setting) before ``now``.

    Does nothing when neither is set. ``max_batches`` bounds the work of one call; ``pause(seconds, runs)``,
    called between batches with the last batch's duration and runs, lets others in (True stops the purge).
    """
    period = retention_period() if older_than is None else timedelta(seconds=to_seconds(older_than, name="older_than"))
    if period is None:
        return PurgeResult()
    cutoff = (now or storage.now()) - period
    result = PurgeResult(cutoff=cutoff)
    if dry_run:
        candidates = expired_runs(cutoff)
        result.runs = candidates.count()
        result.events = HistoryEvent.objects.filter(run__in=candidates.values("pk")).count()
        return result
    size = batch_size or df_settings.RETENTION_BATCH
    while max_batches is None or result.batches < max_batches:
        began = time.monotonic()
        with fork_guard.holding_off_forks():  # a worker's pool must not fork amid a batch (see fork_guard)
            runs, events, more = _delete_batch(cutoff, size)
            _checkpoint()
        result.runs += runs
        result.events += events
        result.batches += 1
        if not more or (pause is not None and pause(time.monotonic() - began, runs)):
            break
    if result.runs:
        log.info("retention deleted %d run(s) closed before %s", result.runs, cutoff.isoformat())
    return result


def _delete_batch(cutoff: datetime, size: int) -> tuple[int, int, bool]:
    """One transaction: delete a batch of expired runs, or a slice of one long history.

    Returns (runs deleted, events deleted, whether more may be waiting).
    """
    with _batch_transaction():
        candidates = expired_runs(cutoff).order_by("closed_at").select_for_update(skip_locked=True)
        rows = list(candidates.values_list("pk", "history_length")[:size])
        if not rows:
            return 0, 0, False
        limit = events_per_batch()
        ids: list[uuid.UUID] = []
        total = 0
        for pk, length in rows:
            if ids and total + length > limit:
                break
            ids.append(pk)
            total += length
        if total > limit and (sliced := _delete_history_slice(ids[0], limit)):
            return 0, sliced, True
        events = _delete_runs(ids)
        return len(ids), events, len(rows) == size or len(ids) < len(rows)


def _checkpoint() -> None:
    """On SQLite, copy what the batch wrote to the WAL into the database now, outside the write lock.

    Otherwise the WAL the purge fills is checkpointed by whichever connection commits once it has grown
    past SQLite's limit: most often a workflow task, which does it while still first in the writers' queue
    (``durableflows.sqlite``), so every writer behind it waits too. A passive checkpoint takes no write lock.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _split_statements() -> bool:
    """On SQLite every writer waits for one lock: each statement of a batch then commits on its own and
    hands the lock back, instead of holding it for the whole batch (an interrupted batch is finished later)."""
    return connections[DEFAULT_DB_ALIAS].vendor == "sqlite"


def _batch_transaction() -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext() if _split_statements() else write_transaction()


def _statement_transaction() -> contextlib.AbstractContextManager[Any]:
    return write_transaction() if _split_statements() else contextlib.nullcontext()


def _delete_history_slice(run_id: uuid.UUID, size: int) -> int:
    """Delete the oldest ``size`` events of one run; 0 once its history is gone."""
    first = HistoryEvent.objects.filter(run_id=run_id).aggregate(first=Min("sequence"))["first"]
    if first is None:
        return 0
    with _statement_transaction():
        return _raw_delete(HistoryEvent.objects.filter(run_id=run_id, sequence__lt=first + size))


def _delete_runs(ids: list[uuid.UUID]) -> int:
    """Delete the runs and every row that refers to them, a statement per table; returns the events deleted."""
    events = 0
    for relation in _relations_to_runs():
        rows = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": ids})
        with _statement_transaction():
            if relation.on_delete is models.CASCADE:
                deleted = _raw_delete(rows)
                events += deleted if relation.related_model is HistoryEvent else 0
            elif relation.on_delete is models.SET_NULL:
                rows.update(**{relation.field.name: None})
    runs = WorkflowRun._base_manager.filter(pk__in=ids)
    with _statement_transaction():
        if any(r.on_delete not in _SET_BASED for r in _relations_to_runs()):
            runs.delete()  # PROTECT, RESTRICT or SET_DEFAULT somewhere: Django's collector enforces them
        else:
            runs._raw_delete(DEFAULT_DB_ALIAS)  # what refers to them is gone or unlinked above
    return events


_SET_BASED = (models.CASCADE, models.SET_NULL, models.DO_NOTHING)


def _relations_to_runs() -> Iterator[models.ForeignObjectRel]:
    """Every foreign key to WorkflowRun: the app's own tables, and any a project adds."""
    for relation in WorkflowRun._meta.related_objects:
        if not relation.many_to_many:
            yield relation


def _raw_delete(queryset: QuerySet) -> int:
    """One ``DELETE ... WHERE`` statement when nothing cascades from these rows, else Django's collector."""
    if Collector(using=DEFAULT_DB_ALIAS).can_fast_delete(queryset):
        return queryset._raw_delete(DEFAULT_DB_ALIAS)
    return queryset.delete()[0]


# -- the purge loop in every worker ---------------------------------------------------------------

#: Between two batches the purge rests at least this many times as long as the last batch took, so
#: other writers get the database (on SQLite, the single write lock) a third of the time or more...
REST_FACTOR = 0.5
#: ...and long enough that one worker deletes at most this many runs per second: above the 500 closed
#: runs/s a busy deployment produces, and no more of the machine than that takes.
MAX_RUNS_PER_SECOND = 600.0


def rest_after(seconds: float, runs: int) -> float:
    """How long to rest after a batch of ``runs`` that took ``seconds``."""
    return max(seconds * REST_FACTOR, runs / MAX_RUNS_PER_SECOND - seconds)


def purge_pass(stopping: threading.Event | None = None, *, now: datetime | None = None) -> int:
    """Drain the expired runs in paced batches, until none is left or ``stopping`` is set; returns runs deleted."""
    if df_settings.RETENTION is None:
        return 0
    stop = stopping or threading.Event()
    return purge(now=now, pause=lambda seconds, runs: stop.wait(rest_after(seconds, runs))).runs
