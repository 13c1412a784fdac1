"""Retention: delete closed runs, with their history and tasks, once ``DURABLEFLOWS["RETENTION"]`` has passed.

Runs are deleted in batches, each in its own short transaction, so a large
backlog never holds locks for long. Open runs are never deleted, nor closed
runs whose parent or a child is still open: the open one still needs the link.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet

from .. import storage
from ..conf import df_settings
from ..models import ActivityTask, HistoryEvent, InboxItem, Timer, UpdateRequest, WorkflowRun
from ..options import Duration, to_seconds
from ..status import OPEN_STATUSES
from ..transactions import write_transaction

log = logging.getLogger("durableflows.retention")

#: Batches one housekeeping pass deletes at most, so a sweep stays short while a backlog drains.
BATCHES_PER_PASS = 10

_last_pass: datetime | None = None


@dataclasses.dataclass
class PurgeResult:
    """What a purge deleted (or, in a dry run, would delete)."""

    runs: int = 0
    events: int = 0
    cutoff: datetime | None = None


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
) -> PurgeResult:
    """Delete runs closed more than ``older_than`` (default: the RETENTION setting) before ``now``.

    Does nothing when neither is set. ``max_batches`` bounds the work of one call.
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
    batches = 0
    while max_batches is None or batches < max_batches:
        runs, events = _delete_batch(cutoff, size)
        result.runs += runs
        result.events += events
        batches += 1
        if runs < size:
            break
    if result.runs:
        log.info("retention deleted %d run(s) closed before %s", result.runs, cutoff.isoformat())
    return result


def purge_if_due(now: datetime) -> int:
    """The housekeeping step: a bounded purge at most once per RETENTION_INTERVAL in this process."""
    global _last_pass
    if df_settings.RETENTION is None:
        return 0
    interval = timedelta(seconds=df_settings.RETENTION_INTERVAL)
    if _last_pass is not None and _last_pass <= now < _last_pass + interval:
        return 0
    _last_pass = now
    return purge(now=now, max_batches=BATCHES_PER_PASS).runs


def _delete_batch(cutoff: datetime, size: int) -> tuple[int, int]:
    """Delete one batch of expired runs and everything that hangs off them; returns (runs, events)."""
    with write_transaction():
        batch = expired_runs(cutoff).order_by("closed_at").select_for_update(skip_locked=True)
        ids = list(batch.values_list("pk", flat=True)[:size])
        if not ids:
            return 0, 0
        events, _ = HistoryEvent.objects.filter(run_id__in=ids).delete()
        for model in (ActivityTask, Timer, InboxItem, UpdateRequest):
            model.objects.filter(run_id__in=ids).delete()
        # Closed children and successors outside this batch keep living; their links become null.
        WorkflowRun.objects.filter(parent_id__in=ids).update(parent=None)
        WorkflowRun.objects.filter(continued_from_id__in=ids).update(continued_from=None)
        runs, _ = WorkflowRun.objects.filter(pk__in=ids).delete()
        return len(ids), events
