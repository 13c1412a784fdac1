"""Bad input gets a clear error and stores nothing. No worker needed."""
from __future__ import annotations

import pytest
from django.db import transaction

import durableflows as df
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_workflow(workflow_id: str) -> None:
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle(workflow_id)


def test_unknown_workflow_name_is_rejected():
    with pytest.raises(df.UnknownWorkflowError) as excinfo:
        df.start("it.no_such_workflow", 1, id="it-unknown")
    assert isinstance(excinfo.value, LookupError)
    assert "it.no_such_workflow" in str(excinfo.value)
    assert_no_workflow("it-unknown")


def test_undecorated_function_is_rejected():
    async def not_a_workflow() -> None:
        return None

    with pytest.raises((df.UnknownWorkflowError, TypeError)):
        df.start(not_a_workflow, id="it-undecorated")
    assert_no_workflow("it-undecorated")


def test_unserializable_arguments_are_rejected():
    with pytest.raises(df.SerializationError) as excinfo:
        df.start(wf.three_steps, object(), id="it-unserializable")
    assert isinstance(excinfo.value, TypeError)
    assert_no_workflow("it-unserializable")


def test_get_handle_of_unknown_id():
    with pytest.raises(df.WorkflowNotFound) as excinfo:
        df.get_handle("it-never-started")
    assert isinstance(excinfo.value, LookupError)


def test_signal_to_unknown_id():
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("it-never-started").signal("approve", {"by": "alice"})


def test_unserializable_signal_payload_is_rejected():
    handle = df.start(wf.waits_for_signal, id="it-bad-signal")
    before = len(handle.history())
    with pytest.raises(df.SerializationError):
        handle.signal("approve", {"when": object()})
    assert len(handle.history()) == before
    assert "SignalReceived" not in [str(e.type) for e in handle.history()]


def test_id_conflict_while_open():
    handle = df.start(wf.waits_for_signal, id="it-conflict")
    with pytest.raises(df.WorkflowAlreadyExists):
        df.start(wf.waits_for_signal, id="it-conflict")
    same = df.start(wf.waits_for_signal, id="it-conflict", id_conflict="use_existing")
    assert same.run_id == handle.run_id


def test_start_rolled_back_with_its_transaction():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        df.start(wf.three_steps, 1, id="it-rolled-back")
        raise Boom
    assert_no_workflow("it-rolled-back")
