"""Retention: closed runs past the period go, with their history and tasks, in batches; nothing open is touched."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from durableflows import storage
from durableflows.engine import housekeeping, retention
from durableflows.management.commands.durableflows_purge import parse_duration
from durableflows.models import ActivityTask, HistoryEvent, InboxItem, Timer, UpdateRequest, WorkflowRun
from durableflows.runtime import Event, EventType

from . import schedule_workflows  # noqa: F401 - registers the workflows

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def make_run(workflow_id, *, status="completed", closed_days_ago: float | None = 30, parent=None, base=NOW):
    """A run with three history events and an activity task; closed ``closed_days_ago`` days before ``base``."""
    run = storage.create_run("schedules_test.report", ["x"], workflow_id=workflow_id, parent=parent)
    storage.append_events(
        run,
        [
            Event(2, EventType.WORKFLOW_COMPLETED, NOW, {"result": "done"}),
            Event(3, EventType.VAR_SET, NOW, {"name": "n", "value": 1}),
        ],
    )
    ActivityTask.objects.create(run=run, activity_id=1, name="replay_check.shout", state="completed")
    closed_at = None if closed_days_ago is None else base - timedelta(days=closed_days_ago)
    WorkflowRun.objects.filter(pk=run.pk).update(status=status, closed_at=closed_at)
    run.refresh_from_db()
    return run


def remaining() -> set[str]:
    return set(WorkflowRun.objects.values_list("workflow_id", flat=True))


@pytest.mark.django_db
def test_purge_deletes_only_closed_runs_past_the_period_with_their_events_and_tasks():
    old = make_run("old")
    make_run("old-failed", status="failed")
    make_run("recent", closed_days_ago=2)
    make_run("open", status="running", closed_days_ago=None)
    open_parent = make_run("open-parent", status="running", closed_days_ago=None)
    make_run("child-of-open-parent", parent=open_parent)
    closed_parent = make_run("closed-parent")
    make_run("open-child-of-closed-parent", status="running", closed_days_ago=None, parent=closed_parent)
    storage.add_fact(old, EventType.SIGNAL_RECEIVED, {"name": "late", "payload": None}, ring=False)
    UpdateRequest.objects.create(run=old, update_id="u-1", name="late", state="completed")
    UpdateRequest.objects.create(run=closed_parent, update_id="u-2", name="kept", state="completed")

    result = retention.purge(WEEK, now=NOW)

    assert (result.runs, result.events) == (2, 6)
    assert result.cutoff == NOW - WEEK
    assert remaining() == {
        "recent",
        "open",
        "open-parent",
        "child-of-open-parent",
        "closed-parent",
        "open-child-of-closed-parent",
    }
    assert not HistoryEvent.objects.filter(run__workflow_id__in=["old", "old-failed"]).exists()
    assert HistoryEvent.objects.count() == 6 * 3
    assert ActivityTask.objects.count() == 6 and not InboxItem.objects.exists()
    assert list(UpdateRequest.objects.values_list("update_id", flat=True)) == ["u-2"]


@pytest.mark.django_db
def test_closed_children_and_successors_lose_only_their_link_to_a_purged_run():
    parent = make_run("parent", closed_days_ago=30)
    make_run("child", closed_days_ago=1, parent=parent)
    successor = make_run("parent", closed_days_ago=1)
    WorkflowRun.objects.filter(pk=successor.pk).update(continued_from=parent)
    retention.purge(WEEK, now=NOW)
    assert list(WorkflowRun.objects.filter(workflow_id="parent").values_list("continued_from", flat=True)) == [None]
    assert WorkflowRun.objects.get(workflow_id="child").parent is None


@pytest.mark.django_db
def test_purge_works_in_batches_and_max_batches_bounds_one_call():
    for i in range(5):
        make_run(f"old-{i}", closed_days_ago=30 + i)
    assert retention.purge(WEEK, now=NOW, batch_size=2, max_batches=2).runs == 4
    assert remaining() == {"old-0"}  # the oldest went first
    assert retention.purge(WEEK, now=NOW, batch_size=2).runs == 1
    assert remaining() == set()


@pytest.mark.django_db
def test_dry_run_counts_and_deletes_nothing():
    make_run("old")
    make_run("recent", closed_days_ago=1)
    result = retention.purge(WEEK, now=NOW, dry_run=True)
    assert (result.runs, result.events) == (1, 3)
    assert remaining() == {"old", "recent"}


@pytest.mark.django_db
def test_without_a_retention_setting_nothing_is_ever_purged(settings):
    settings.DURABLEFLOWS = {}
    make_run("ancient", closed_days_ago=3650)
    assert retention.purge(now=NOW).runs == 0
    assert retention.purge_pass(now=NOW) == 0
    assert remaining() == {"ancient"}


@pytest.mark.django_db
def test_the_sweep_never_purges_the_purge_pass_drains_in_paced_batches(settings, monkeypatch):
    settings.DURABLEFLOWS = {"RETENTION": WEEK, "RETENTION_BATCH": 2}
    for i in range(5):
        make_run(f"old-{i}")
    assert "runs_purged" not in housekeeping.sweep(NOW)
    assert len(remaining()) == 5  # timers and timeouts never wait behind a purge
    rests: list[float] = []
    monkeypatch.setattr(retention, "REST_FACTOR", 0.0)
    monkeypatch.setattr(retention, "MAX_RUNS_PER_SECOND", 1e9)
    stopping = threading.Event()
    real_wait = stopping.wait
    monkeypatch.setattr(stopping, "wait", lambda seconds: rests.append(seconds) or real_wait(0))
    assert retention.purge_pass(stopping, now=NOW) == 5
    assert remaining() == set() and len(rests) == 2  # three batches, a rest between each


@pytest.mark.django_db
def test_a_purge_pass_stops_when_the_worker_stops(settings):
    settings.DURABLEFLOWS = {"RETENTION": WEEK, "RETENTION_BATCH": 1}
    for i in range(3):
        make_run(f"old-{i}")
    stopping = threading.Event()
    stopping.set()
    assert retention.purge_pass(stopping, now=NOW) == 1  # the batch in hand, then it stops
    assert len(remaining()) == 2


@pytest.mark.django_db
def test_the_retention_setting_accepts_seconds(settings):
    settings.DURABLEFLOWS = {"RETENTION": 3 * 86400}
    make_run("old", closed_days_ago=4)
    make_run("recent", closed_days_ago=2)
    assert retention.purge(now=NOW).runs == 1
    assert remaining() == {"recent"}


# -- the management command -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", timedelta(seconds=90)), ("45m", timedelta(minutes=45)), ("12h", timedelta(hours=12)),
     ("30d", timedelta(days=30)), ("2w", timedelta(weeks=2)), ("1.5d", timedelta(hours=36))],
)  # fmt: skip
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.django_db
def test_purge_command_with_older_than_and_dry_run(settings):
    settings.DURABLEFLOWS = {}
    make_run("old", base=storage.now())  # the command purges relative to the real clock
    out = StringIO()
    call_command("durableflows_purge", "--older-than", "7d", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would delete 1 closed run(s) and 3 history event(s)")
    assert remaining() == {"old"}
    call_command("durableflows_purge", "--older-than", "7d", stdout=out)
    assert "Deleted 1 closed run(s)" in out.getvalue()
    assert remaining() == set()


@pytest.mark.django_db
def test_purge_command_uses_the_setting_and_refuses_to_guess(settings):
    settings.DURABLEFLOWS = {}
    with pytest.raises(CommandError, match="no retention configured"):
        call_command("durableflows_purge", stdout=StringIO())
    with pytest.raises(CommandError, match="not a duration"):
        call_command("durableflows_purge", "--older-than", "soon", stdout=StringIO())
    settings.DURABLEFLOWS = {"RETENTION": WEEK}
    out = StringIO()
    call_command("durableflows_purge", stdout=out)
    assert out.getvalue().startswith("Deleted 0 closed run(s)")


# -- set-based, small transactions ------------------------------------------------------------


def add_everything(run):
    """One row in every table that refers to a run."""
    storage.add_fact(run, EventType.SIGNAL_RECEIVED, {"name": "late", "payload": None}, ring=False)
    UpdateRequest.objects.create(run=run, update_id=f"u-{run.workflow_id}", name="late", state="completed")
    Timer.objects.create(run=run, timer_id=1, fire_at=NOW + WEEK)


@pytest.mark.django_db
def test_every_table_loses_the_rows_of_purged_runs_and_keeps_the_others():
    purged = [make_run(f"old-{i}") for i in range(3)]
    kept = [make_run("recent", closed_days_ago=1), make_run("open", status="running", closed_days_ago=None)]
    for run in purged + kept:
        add_everything(run)
    retention.purge(WEEK, now=NOW)
    kept_ids = {run.pk for run in kept}
    for model in (HistoryEvent, InboxItem, UpdateRequest, ActivityTask, Timer):
        assert set(model.objects.values_list("run_id", flat=True)) == kept_ids, model.__name__
    assert set(WorkflowRun.objects.values_list("pk", flat=True)) == kept_ids


@pytest.mark.django_db
def test_nothing_of_an_open_run_is_deleted_even_when_it_is_old():
    open_run = make_run("open-old", status="running", closed_days_ago=None)
    WorkflowRun.objects.filter(pk=open_run.pk).update(created_at=NOW - 100 * WEEK, started_at=NOW - 100 * WEEK)
    add_everything(open_run)
    before = {m: m.objects.filter(run=open_run).count() for m in (HistoryEvent, InboxItem, UpdateRequest, Timer)}
    assert retention.purge(timedelta(seconds=1), now=NOW).runs == 0
    assert {m: m.objects.filter(run=open_run).count() for m in before} == before


@pytest.mark.django_db
def test_each_batch_is_a_statement_per_table_in_short_transactions(monkeypatch):
    for i in range(5):
        add_everything(make_run(f"old-{i}", closed_days_ago=30 + i))
    transactions: list[list[str]] = []
    real = retention.write_transaction

    @contextlib.contextmanager
    def counted():
        with real(), CaptureQueriesContext(connection) as queries:
            yield
        transactions.append([q["sql"] for q in queries.captured_queries])

    monkeypatch.setattr(retention, "write_transaction", counted)
    with CaptureQueriesContext(connection) as everything:
        assert retention.purge(WEEK, now=NOW, batch_size=2).runs == 5
    tables = {model._meta.db_table for model in (HistoryEvent, InboxItem, UpdateRequest, ActivityTask, Timer)}
    tables.add(WorkflowRun._meta.db_table)
    bookkeeping = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")
    statements = [q["sql"] for q in everything.captured_queries if not q["sql"].startswith(bookkeeping)]
    deletes = [sql for sql in statements if sql.startswith("DELETE")]
    assert len(deletes) == 3 * len(tables)  # three batches, one DELETE per table each: no collector
    quoted = {connection.ops.quote_name(t): t for t in tables}
    assert {next(t for q, t in quoted.items() if q in sql) for sql in deletes} == tables
    if connection.vendor == "sqlite":  # one write lock for everyone: each statement commits on its own
        assert len(transactions) == 3 * (len(tables) + 2) and all(len(t) == 1 for t in transactions)
    else:  # one transaction per batch: a SELECT, a DELETE per table, two SET NULLs (parent, continued_from)
        assert len(transactions) == 3 and all(len(t) <= len(tables) + 3 for t in transactions)
    assert len(statements) <= 3 * (len(tables) + 3) + 2


@pytest.mark.django_db
def test_a_long_history_goes_in_slices_of_bounded_transactions(monkeypatch):
    monkeypatch.setattr(retention, "MAX_EVENTS_PER_BATCH", 4)
    monkeypatch.setattr(retention, "MAX_EVENTS_PER_BATCH_POSTGRESQL", 4)
    run = make_run("long")
    more = [Event(seq, EventType.VAR_SET, NOW, {"name": "n", "value": seq}) for seq in range(4, 14)]
    storage.append_events(run, more)
    WorkflowRun.objects.filter(pk=run.pk).update(history_length=13)
    make_run("short")
    WorkflowRun.objects.filter(workflow_id="short").update(history_length=3)
    deleted_per_batch: list[int] = []
    real = retention._delete_batch

    def recording(*args):
        outcome = real(*args)
        deleted_per_batch.append(outcome[1])
        return outcome

    monkeypatch.setattr(retention, "_delete_batch", recording)
    result = retention.purge(WEEK, now=NOW)
    assert (result.runs, result.events) == (2, 16)
    assert max(deleted_per_batch) <= 4 and remaining() == set()


def test_a_pass_rests_as_long_as_a_batch_took_and_caps_its_rate():
    assert retention.rest_after(0.05, 10) == pytest.approx(0.05 * retention.REST_FACTOR)  # slow batch: duty cycle
    fast = retention.rest_after(0.01, 500)  # a fast batch of many runs: the rate cap decides
    assert 500 / (0.01 + fast) == pytest.approx(retention.MAX_RUNS_PER_SECOND)


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_each_batch_checkpoints_the_wal_itself_outside_the_write_lock():
    # Left to SQLite, the commit that finds the WAL too long checkpoints it, holding the writers' queue.
    for i in range(5):
        make_run(f"old-{i}", closed_days_ago=30 + i)
    checkpoints: list[tuple[bool, bool]] = []

    def watch(execute, sql, params, many, context):
        if "wal_checkpoint" in sql:
            checkpoints.append((connection.in_atomic_block, getattr(connection, "_holds_writer_lock", False)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        result = retention.purge(WEEK, now=NOW, batch_size=2)
    assert (result.runs, result.batches) == (5, 3)
    if connection.vendor == "sqlite":
        assert checkpoints == [(False, False)] * 3
    else:  # PostgreSQL and MariaDB checkpoint on their own, apart from every session
        assert checkpoints == []
