"""Starting runs: ids, conflicts, delays, transactions, bad input and Django signals."""

import pytest
from django.db import IntegrityError, transaction

import durableflows as df
from durableflows import signals, storage
from durableflows.models import HistoryEvent, InboxItem, WorkflowRun

from .workflows import three_steps


def types(handle):
    return [event.type.value for event in handle.history()]


def test_three_activities_complete_with_a_complete_history(durableflows_env):
    handle = durableflows_env.start(three_steps, 1, id="order-1")
    assert handle.status == df.Status.PENDING
    assert types(handle) == ["WorkflowStarted"]
    assert handle.result() == [1, 2, 3]
    assert handle.status == df.Status.COMPLETED
    assert types(handle) == ["WorkflowStarted"] + ["ActivityScheduled", "ActivityStarted", "ActivityCompleted"] * 3 + [
        "WorkflowCompleted"
    ]
    assert [e.sequence for e in handle.history()] == list(range(1, 12))


def test_start_by_name_and_get_handle(durableflows_env):
    durableflows_env.start("engine.three_steps", 5, id="by-name")
    handle = durableflows_env.get_handle("by-name")
    assert handle.result() == [5, 6, 7]
    assert df.get_handle("by-name").run_id == handle.run_id


@pytest.mark.django_db
def test_start_rolled_back_with_the_callers_transaction_leaves_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        df.start(three_steps, 1, id="rolled-back")
        raise RuntimeError("the view failed after starting")
    assert not WorkflowRun.objects.filter(workflow_id="rolled-back").exists()
    assert not HistoryEvent.objects.exists()
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("rolled-back")


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def looped():
    value = []
    value.append(value)
    return value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("engine.no_such_workflow",), df.UnknownWorkflowError),
        ((three_steps, object()), df.SerializationError),
        ((three_steps, b"bytes"), TypeError),
        ((three_steps, "x" * (3 * 1024 * 1024)), df.SerializationError),
        ((three_steps,), df.InvalidArguments),  # too few
        ((three_steps, 1, 2), df.InvalidArguments),  # too many
        ((three_steps, "1"), df.InvalidArguments),  # a str for an int
        ((three_steps, True), df.InvalidArguments),  # a bool is no int here
        ((three_steps, "\ud800"), df.SerializationError),  # a lone surrogate: no database stores it
        ((three_steps, {"\udfff": 1}), df.SerializationError),
        ((three_steps, nested(65)), df.SerializationError),
        ((three_steps, nested(100_000)), df.SerializationError),  # no RecursionError
        ((three_steps, looped()), df.SerializationError),
    ],
)
def test_bad_input_raises_and_stores_nothing(args, error):
    with pytest.raises(error):
        df.start(*args, id="bad")
    assert not WorkflowRun.objects.exists()


@pytest.mark.django_db
def test_ids_and_signals_that_cannot_be_stored_are_refused():
    with pytest.raises(ValueError, match="surrogate"):
        df.start(three_steps, 1, id="order-\ud800")
    assert not WorkflowRun.objects.exists()
    handle = df.start(three_steps, 1, id="order-1")
    with pytest.raises(df.SerializationError, match="surrogate"):
        handle.signal("approve", {"by": "\ud83d"})
    with pytest.raises(ValueError, match="surrogate"):
        handle.signal("appro\ud800ve")
    with pytest.raises(df.SerializationError, match="nested deeper"):
        handle.signal("approve", nested(1000))
    assert not InboxItem.objects.exists()
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("order-\ud800")


@pytest.mark.django_db
def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="id_conflict"):
        df.start(three_steps, 1, id_conflict="maybe")
    with pytest.raises(TypeError):
        df.start(three_steps, 1, start_delay="soon")
    with pytest.raises(ValueError):
        df.start(three_steps, 1, id="")
    assert not WorkflowRun.objects.exists()


def test_id_conflict_policies(durableflows_env):
    first = durableflows_env.start(three_steps, 1, id="same")
    with pytest.raises(df.WorkflowAlreadyExists):
        df.start(three_steps, 2, id="same")
    assert df.start(three_steps, 3, id="same", id_conflict="use_existing").run_id == first.run_id
    replacement = df.start(three_steps, 4, id="same", id_conflict="terminate_existing")
    assert replacement.run_id != first.run_id
    assert df.get_handle("same", run_id=first.run_id).status == df.Status.TERMINATED
    assert durableflows_env.get_handle("same").result() == [4, 5, 6]
    again = df.start(three_steps, 7, id="same")  # a closed id may be reused
    assert again.run_id not in (first.run_id, replacement.run_id)


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_run_of_a_workflow_id():
    """What decides a race between two starts of one id, on every backend (MariaDB has no partial unique index)."""
    with transaction.atomic():
        first = storage.create_run("engine.three_steps", [1], workflow_id="once")
    with pytest.raises(IntegrityError), transaction.atomic():
        storage.create_run("engine.three_steps", [2], workflow_id="once")
    WorkflowRun.objects.filter(pk=first.pk).update(status=df.Status.COMPLETED)
    with transaction.atomic():
        storage.create_run("engine.three_steps", [3], workflow_id="once")  # a closed run does not count
        storage.create_run("engine.three_steps", [4], workflow_id="Once")  # ids compare as written
    assert WorkflowRun.objects.filter(workflow_id="once").count() == 2


def test_start_delay_holds_the_run_until_due(durableflows_env):
    handle = durableflows_env.start(three_steps, 1, start_delay=3600)
    durableflows_env.run_until_idle()
    assert handle.status == df.Status.PENDING
    durableflows_env.sleep(3599)
    assert handle.status == df.Status.PENDING
    durableflows_env.sleep(1)
    assert handle.status == df.Status.COMPLETED


def test_failed_workflow_reports_type_and_message(durableflows_env):
    handle = durableflows_env.start("engine.failing")
    with pytest.raises(df.WorkflowFailed) as raised:
        handle.result()
    assert (raised.value.status, raised.value.type) == ("failed", "KeyError")
    assert "missing thing" in raised.value.message
    assert "Traceback" in WorkflowRun.objects.get(workflow_id=handle.workflow_id).error["traceback"]


def test_django_signals_are_sent_after_commit(durableflows_env, django_capture_on_commit_callbacks, caplog):
    received = []

    def on_started(sender, **kwargs):
        received.append((kwargs["workflow_id"], kwargs["status"]))

    def on_completed(sender, **kwargs):
        received.append((kwargs["workflow_id"], kwargs["status"], kwargs["result"]))

    def broken(sender, **kwargs):
        raise RuntimeError("a receiver with a bug")

    signals.workflow_started.connect(on_started)
    signals.workflow_completed.connect(broken)
    signals.workflow_completed.connect(on_completed)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            handle = durableflows_env.start(three_steps, 1, id="signalled")
            handle.result()
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
        assert received == [("signalled", "pending"), ("signalled", "completed", [1, 2, 3])]
        assert "a receiver with a bug" in caplog.text  # logged, and the other receivers still ran
    finally:
        signals.workflow_started.disconnect(on_started)
        signals.workflow_completed.disconnect(broken)
        signals.workflow_completed.disconnect(on_completed)


@pytest.mark.django_db
def test_nul_characters_are_refused_before_anything_is_stored():
    with pytest.raises(ValueError, match="NUL"):
        df.start(three_steps, 1, id="bad\x00id")
    with pytest.raises(df.SerializationError):
        df.start(three_steps, "bad\x00arg")
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("bad\x00id")
    assert not WorkflowRun.objects.exists()
