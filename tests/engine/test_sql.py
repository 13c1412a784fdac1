"""``durableflows.sql.Table`` stores and loads exactly what the ORM does, on the backend under test."""

import gc
import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from durableflows.models import ActivityTask, HistoryEvent, InboxItem, WorkflowRun
from durableflows.sql import Batch, Table, _collector_paused
from durableflows.status import Status

pytestmark = pytest.mark.django_db

runs, events, inbox, tasks = Table(WorkflowRun), Table(HistoryEvent), Table(InboxItem), Table(ActivityTask)
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _run(**fields) -> WorkflowRun:
    values = {
        "workflow_id": f"wf-{uuid.uuid4()}",
        "workflow_name": "some.workflow",
        "args": [1, "two", {"three": [3.5, None, True]}],
        "vars": {"unicode": "żółw ✓ 🐢", "nested": {"a": []}},  # 2-, 3- and 4-byte UTF-8
        "created_at": WHEN,
        "start_at": WHEN + timedelta(seconds=1),
        "history_length": 1,
    }
    return WorkflowRun(**(values | fields))


def test_an_inserted_run_reads_back_through_the_orm_unchanged():
    run = _run(result={"total": str(Decimal("1.10"))}, error=None, wake_at=None)
    runs.insert([run])
    stored = WorkflowRun.objects.get(pk=run.pk)
    for field in WorkflowRun._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(run, field.attname), field.name
    assert not run._state.adding


def test_get_loads_a_row_written_by_the_orm_like_the_orm_does():
    run = _run()
    run.save()
    loaded = runs.get({"run_id": run.pk})
    orm = WorkflowRun.objects.get(pk=run.pk)
    for field in WorkflowRun._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(orm, field.attname), field.name
    assert loaded.created_at.tzinfo is not None and loaded.created_at == WHEN
    assert isinstance(loaded.run_id, uuid.UUID)
    assert runs.get({"run_id": uuid.uuid4()}) is None
    assert runs.get({"run_id": str(run.pk)}).pk == run.pk  # ids arrive as strings from Celery messages


def test_get_reports_whether_related_rows_exist_and_can_lock():
    run, other = _run(), _run()
    run.save()
    other.save()
    InboxItem.objects.create(run=run, type="SignalReceived", data={"name": "go"})
    has_inbox = {"has_inbox": (inbox, "run_id")}
    lock = "FOR UPDATE" if connection.features.has_select_for_update else ""
    with transaction.atomic():
        assert runs.get({"run_id": run.pk}, lock=lock, exists=has_inbox).has_inbox is True
        assert runs.get({"run_id": other.pk}, lock=lock, exists=has_inbox).has_inbox is False


def test_insert_reads_back_auto_primary_keys_one_per_row():
    run = _run()
    run.save()
    new = [
        ActivityTask(run=run, activity_id=i, name=f"act.{i}", args=[i], options={"queue": None}, due_at=WHEN)
        for i in (3, 1, 2)
    ]
    tasks.insert(new)
    assert all(task.pk is not None for task in new)
    for task in new:
        assert ActivityTask.objects.get(pk=task.pk).activity_id == task.activity_id


def test_update_and_delete_match_equality_in_and_null_conditions():
    run = _run()
    run.save()
    for i, state in enumerate(("scheduled", "started", "completed")):
        ActivityTask.objects.create(run=run, activity_id=i, name="a", state=state)
    matched = tasks.update({"run_id": run.pk, "state": ("scheduled", "started"), "closed_at": None}, closed_at=WHEN)
    assert matched == 2
    assert set(ActivityTask.objects.filter(closed_at=WHEN).values_list("state", flat=True)) == {"scheduled", "started"}
    assert tasks.update({"run_id": run.pk, "state": "failed"}, closed_at=None) == 0
    assert tasks.update({"run_id": run.pk, "state": ()}, closed_at=None) == 0  # IN of nothing matches nothing
    # the same names as above, but IN of one instead of IS NULL: a statement of its own
    assert tasks.update({"run_id": run.pk, "state": ("scheduled", "started"), "closed_at": (WHEN,)}, attempt=2) == 2
    assert tasks.delete({"run_id": run.pk, "state": ("completed",)}) == 1
    assert ActivityTask.objects.filter(run=run).count() == 2


def test_save_writes_only_the_named_fields():
    run = _run()
    run.save()
    WorkflowRun.objects.filter(pk=run.pk).update(task_error="written elsewhere")
    run.status, run.history_length, run.vars = Status.RUNNING, 7, {"k": [1, 2]}
    assert runs.save(run, ["status", "history_length", "vars"]) == 1
    stored = WorkflowRun.objects.get(pk=run.pk)
    assert (stored.status, stored.history_length, stored.vars) == ("running", 7, {"k": [1, 2]})
    assert stored.task_error == "written elsewhere"


def test_insert_rows_splits_large_batches_and_values_reads_them_in_order():
    run = _run()
    run.save()
    rows = [
        {"run_id": run.pk, "sequence": n, "type": "TimerFired", "timestamp": WHEN, "data": {"n": n, "s": "x" * 40}}
        for n in range(1200, 0, -1)
    ]
    with CaptureQueriesContext(connection) as queries:
        events.insert_rows(rows)
    assert sum(q["sql"].count("INSERT INTO") for q in queries) == 3  # 500 + 500 + 200 rows
    stored = events.values({"run_id": run.pk}, ("sequence", "timestamp", "data"), order_by="sequence")
    assert [row[0] for row in stored] == list(range(1, 1201))
    assert stored[0][1] == WHEN and stored[41][2] == {"n": 42, "s": "x" * 40}
    assert stored == list(HistoryEvent.objects.filter(run=run).values_list("sequence", "timestamp", "data"))


def test_values_decodes_json_and_timestamps_exactly_as_the_orm_does():
    run = _run()
    run.save()
    documents = [0, -1.5, "text", "żółw ✓ 🐢 \\u0000", [], {}, {"a": [1, {"b": None}]}, True, "  padded  "]
    rows = [
        {"run_id": run.pk, "sequence": n, "type": "TimerFired", "timestamp": WHEN + timedelta(n), "data": doc}
        for n, doc in enumerate(documents, 1)
    ]
    events.insert_rows(rows)
    stored = events.values({"run_id": run.pk}, ("timestamp", "data"), order_by="sequence")
    orm = list(HistoryEvent.objects.filter(run=run).order_by("sequence").values_list("timestamp", "data"))
    assert stored == orm and [data for _, data in stored] == documents
    assert [ts.utcoffset() for ts, _ in stored] == [ts.utcoffset() for ts, _ in orm] == [timedelta(0)] * len(documents)


def test_a_batch_runs_its_statements_in_order_and_hands_each_its_result():
    run = _run()
    writes = Batch()
    runs.insert([run], batch=writes)
    task = ActivityTask(run=run, activity_id=1, name="a")
    tasks.insert([task], batch=writes)
    updated = runs.update({"run_id": run.pk, "status": ("pending", "running")}, batch=writes, task_error="batched")
    missed = runs.update({"run_id": run.pk, "status": "completed"}, batch=writes, task_error="not this")
    events.insert_rows(
        [{"run_id": run.pk, "sequence": 1, "type": "WorkflowStarted", "timestamp": WHEN, "data": {}}], batch=writes
    )
    loaded = runs.get({"run_id": run.pk}, batch=writes)
    assert task.pk is None and not WorkflowRun.objects.filter(pk=run.pk).exists()  # nothing ran yet
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        writes.run()
    assert ActivityTask.objects.get(pk=task.pk).run_id == run.pk
    assert (updated.value, missed.value) == (1, 0)
    assert loaded.value.task_error == "batched" and loaded.value.created_at == WHEN
    assert HistoryEvent.objects.filter(run=run).count() == 1
    if connection.vendor in ("postgresql", "mysql"):
        statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(statements) == 1, f"one round trip on {connection.vendor}"


def test_a_failing_statement_in_a_batch_fails_the_whole_transaction():
    run = _run()
    writes = Batch()
    runs.insert([run], batch=writes)
    runs.insert([_run(run_id=run.run_id)], batch=writes)  # the same primary key again
    with pytest.raises(Exception, match="(?i)unique|duplicate"), transaction.atomic():
        writes.run()
    assert not WorkflowRun.objects.filter(pk=run.pk).exists()


def test_after_a_batch_fails_midway_the_connection_still_answers():
    """The statements queued after the failing one are dropped, not left pending on the connection."""
    run = _run()
    runs.insert([run])
    writes = Batch()
    runs.insert([_run(run_id=run.run_id)], batch=writes)  # fails
    later = runs.get({"run_id": run.pk}, batch=writes)
    runs.update({"run_id": run.pk}, batch=writes, task_error="never")
    with pytest.raises(Exception, match="(?i)unique|duplicate"), transaction.atomic():
        writes.run()
    assert not hasattr(later, "value")
    assert runs.get({"run_id": run.pk}).task_error == ""
    assert WorkflowRun.objects.filter(pk=run.pk).count() == 1


def test_json_values_that_are_not_all_documents_are_decoded_one_by_one_by_the_field():
    from durableflows.sql import _loads_json

    def field(value):  # stands for JSONField.from_db_value: undecodable text comes back as it is
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value

    assert _loads_json(['{"a": 1}', "[2]", '"x"'], field) == [{"a": 1}, [2], "x"]
    assert _loads_json(['{"a": 1}', "[1", "2]"], field) == [{"a": 1}, "[1", "2]"]  # not [[1, 2]]
    assert _loads_json(['"ok"', {"already": "decoded"}], field) == ["ok", {"already": "decoded"}]


def test_rows_are_read_with_the_garbage_collector_held_off_and_it_runs_again_after():
    run = _run()
    run.save()
    events.insert_rows(
        [{"run_id": run.pk, "sequence": n, "type": "TimerFired", "timestamp": WHEN, "data": {}} for n in (1, 2)]
    )
    collecting = events.values({"run_id": run.pk}, ("sequence",), row=lambda sequence: gc.isenabled())
    assert collecting == [False, False]
    assert gc.isenabled()


def test_the_collector_runs_again_when_the_last_of_overlapping_reads_is_done():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def second() -> None:
        first_in.wait(5)
        with _collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.isenabled()

    thread = threading.Thread(target=second)
    thread.start()
    with _collector_paused():
        first_in.set()
        second_in.wait(5)
    first_out.set()
    thread.join(5)
    assert seen == {"after the first left": False}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_after_a_read():
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_forked_during_another_threads_read_collects_garbage_and_reads():
    reading, forked = threading.Event(), threading.Event()

    def read_until_forked() -> None:
        with _collector_paused():
            reading.set()
            forked.wait(5)

    thread = threading.Thread(target=read_until_forked)
    thread.start()
    assert reading.wait(5) and not gc.isenabled()
    pid = os.fork()
    if pid == 0:  # the child: the reading thread is not in it
        with _collector_paused():
            paused = not gc.isenabled()
        os._exit(0 if paused and gc.isenabled() else 1)
    forked.set()
    thread.join(5)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gc.isenabled()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="checks are for batches that are one implicit transaction: PostgreSQL",
)
def test_an_unmet_check_rolls_back_every_statement_of_a_batch_sent_alone():
    from durableflows.sql import unmet
    from durableflows.transactions import batch_is_atomic_alone

    assert batch_is_atomic_alone()
    run = _run(status=Status.RUNNING)
    runs.insert([run])
    for check in (
        lambda batch: runs.require({"run_id": run.pk, "history_length": 2}, lock="FOR NO KEY UPDATE", batch=batch),
        lambda batch: runs.require({"run_id": run.pk}, present=False, batch=batch),
        lambda batch: runs.update_required({"run_id": run.pk, "status": Status.PENDING}, batch=batch, vars={}),
    ):
        batch = Batch()
        runs.update({"run_id": run.pk}, batch=batch, history_length=7)  # before the check: rolled back too
        check(batch)
        events.insert_rows([{"run_id": run.pk, "sequence": 9, "type": "VarSet", "timestamp": WHEN, "data": {}}],
                           batch=batch)  # fmt: skip
        with pytest.raises(Exception) as failed:
            batch.run()
        assert unmet(failed.value)
        assert WorkflowRun.objects.get(pk=run.pk).history_length == 1 and not HistoryEvent.objects.exists()
    batch = Batch()  # met: every statement stays
    runs.require({"run_id": run.pk, "history_length": 1}, lock="FOR NO KEY UPDATE", batch=batch)
    tasks.require({"run_id": run.pk}, present=False, batch=batch)
    runs.update_required({"run_id": run.pk, "status": Status.RUNNING}, batch=batch, history_length=2)
    batch.run()
    assert WorkflowRun.objects.get(pk=run.pk).history_length == 2
