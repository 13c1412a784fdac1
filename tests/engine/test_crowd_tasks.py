"""A crowd of runs woken together (timers due at once) advances in one transaction, each run as alone."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

import durableflows as df
from durableflows import storage
from durableflows.engine import doorbell, timers
from durableflows.engine.cache import cache
from durableflows.engine.workflow_tasks import process_workflow_tasks
from durableflows.models import HistoryEvent, InboxItem, WorkflowRun
from durableflows.runtime import EventType
from durableflows.tasks import workflow_tasks

from .driving import drive


@df.workflow(name="engine.crowd_nap")
async def crowd_nap(seconds: float) -> str:
    await df.sleep(seconds)
    return "rested"


@pytest.fixture(autouse=True)
def in_process(monkeypatch) -> None:
    """No messages, and executions cached at once: the test's transaction never commits."""
    monkeypatch.setattr(doorbell, "muted", True)
    monkeypatch.setattr(cache, "keep_before_commit", True)


def sleepers(count: int) -> list[df.WorkflowHandle]:
    """``count`` runs whose timers have fired: each has its ``TimerFired`` fact waiting."""
    handles = [df.start(crowd_nap, 0.001) for _ in range(count)]
    for handle in handles:
        drive(handle.run_id)
    assert timers.fire_due_timers(storage.now() + timedelta(seconds=1)) == count
    return handles


_STATEMENTS = re.compile(r";\s*(?=SELECT |INSERT |UPDATE |DELETE )")  # a batch sent as one query


def selects_from(queries: CaptureQueriesContext, model: type) -> int:
    """How many statements read rows of ``model``'s table (not counting subqueries), batched ones too."""
    table = connection.ops.quote_name(model._meta.db_table)
    statements = [sql for query in queries for sql in _STATEMENTS.split(query["sql"])]
    reads = (sql for sql in statements if sql.startswith("SELECT "))
    return sum(1 for sql in reads if sql.split(" FROM ", 1)[1].startswith(f"{table} "))


@pytest.mark.django_db
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "replayed"])
def test_a_crowd_reads_its_runs_facts_and_histories_once_for_all(cached):
    handles = sleepers(doorbell.RUNS_PER_MESSAGE)
    if not cached:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        workflow_tasks([handle.run_id for handle in handles])
    assert [handle.result(timeout=0) for handle in handles] == ["rested"] * len(handles)
    assert selects_from(queries, InboxItem) == 1
    assert selects_from(queries, HistoryEvent) == (0 if cached else 1)
    fired = HistoryEvent.objects.filter(type=EventType.TIMER_FIRED).count()
    assert fired == len(handles)


@pytest.mark.django_db
def test_a_run_that_fails_in_a_crowd_is_held_alone_and_the_others_advance():
    handles = sleepers(3)
    broken = handles[1]
    WorkflowRun.objects.filter(pk=broken.run_id).update(workflow_name="engine.no_such_workflow")
    cache.clear()  # the broken run must be replayed to fail
    outcomes = [result.outcome for result in process_workflow_tasks([handle.run_id for handle in handles])]
    assert sorted(outcomes) == ["closed", "closed", "held"]
    assert [handles[0].result(timeout=0), handles[2].result(timeout=0)] == ["rested", "rested"]
    held = WorkflowRun.objects.get(pk=broken.run_id)
    assert held.status == "running" and "UnknownWorkflowError" in held.task_error
    assert InboxItem.objects.filter(run_id=broken.run_id, type=EventType.TIMER_FIRED).count() == 1
    assert HistoryEvent.objects.filter(type=EventType.TIMER_FIRED).count() == 2


@pytest.mark.django_db
def test_a_crowd_passes_over_closed_missing_repeated_and_malformed_ids():
    done, waiting = sleepers(2)
    process_workflow_tasks([done.run_id])
    names = [done.run_id, str(uuid.uuid4()), "not a run id", waiting.run_id, waiting.run_id]
    outcomes = [result.outcome for result in process_workflow_tasks(names)]
    assert sorted(outcomes) == ["closed", "closed"]
    assert waiting.result(timeout=0) == "rested"
    assert HistoryEvent.objects.filter(run_id=waiting.run_id, type=EventType.TIMER_FIRED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_overlapping_crowds_at_once_apply_each_fact_exactly_once():
    """Two workers given crowds that share runs, in opposite orders: no deadlock, no fact twice."""
    handles = sleepers(30)
    cache.clear()
    ids = [handle.run_id for handle in handles]
    crowds = [ids[:20], list(reversed(ids[10:]))]
    start, errors = threading.Barrier(2), []

    def worker(crowd: list[str]) -> None:
        try:
            start.wait()
            process_workflow_tasks(crowd)
        except Exception as exc:  # reported below, with the thread's own connection closed
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(crowd,)) for crowd in crowds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert [handle.result(timeout=0) for handle in handles] == ["rested"] * len(handles)
    fired = HistoryEvent.objects.filter(type=EventType.TIMER_FIRED).values_list("run_id", flat=True)
    assert sorted(fired) == sorted(uuid.UUID(run_id) for run_id in ids)
    assert not WorkflowRun.objects.exclude(task_error="").exists()
