"""Retention in a real worker: its own thread drains expired runs while the housekeeping sweep keeps firing timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

import durableflows as df
from durableflows import storage
from durableflows.models import HistoryEvent, WorkflowRun
from durableflows.runtime import EventType
from tests.helpers import wait_until
from tests.integration_app import workflows  # noqa: F401 - registers it.sleeper

pytestmark = pytest.mark.django_db(transaction=True)
EXPIRED = 300


def add_expired_runs() -> None:
    closed = storage.now() - timedelta(days=2)
    runs = WorkflowRun.objects.bulk_create(
        WorkflowRun(
            workflow_id=f"old-{i}", workflow_name="it.old", status="completed", closed_at=closed, history_length=2
        )
        for i in range(EXPIRED)
    )
    HistoryEvent.objects.bulk_create(
        HistoryEvent(run=run, sequence=seq, type=kind, timestamp=closed, data={})
        for run in runs
        for seq, kind in ((1, EventType.WORKFLOW_STARTED), (2, EventType.WORKFLOW_COMPLETED))
    )


def test_a_worker_purges_expired_runs_in_its_own_thread_while_timers_fire(workers, worker_env):
    worker_env.update(DURABLEFLOWS_RETENTION=str(86_400), DURABLEFLOWS_RETENTION_INTERVAL="0.2")
    add_expired_runs()
    recent = WorkflowRun.objects.create(
        workflow_id="recent", workflow_name="it.old", status="completed", closed_at=storage.now()
    )
    workers.start()
    sleeper = df.start("it.sleeper", 0.5, id="sleeper-during-purge")
    wait_until(lambda: not WorkflowRun.objects.filter(workflow_id__startswith="old-").exists(), timeout=60,
               message=workers.logs)  # fmt: skip
    assert sleeper.result(timeout=30) is not None  # its durable timer fired meanwhile
    assert not HistoryEvent.objects.filter(run__workflow_name="it.old").exists()
    assert WorkflowRun.objects.filter(pk=recent.pk).exists()
    assert WorkflowRun.objects.get(workflow_id="sleeper-during-purge").status == "completed"
