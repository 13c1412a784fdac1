"""The public surface: ``durableflows.__all__`` is pinned, and the pure layers never import Django."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import durableflows as df

ROOT = Path(__file__).resolve().parents[2]

#: Every name users may import from ``durableflows``. Changing this list is changing the public API.
EXPECTED_ALL = [
    "ActivityAttemptClosed",
    "ActivityCancelled",
    "ActivityError",
    "ActivityHandle",
    "ActivityInfo",
    "ActivityNotFound",
    "ActivityOptions",
    "ChildWorkflowError",
    "ChildWorkflowHandle",
    "CompleteAsync",
    "DurableFlowsError",
    "Event",
    "EventType",
    "InvalidArguments",
    "NonDeterminismError",
    "NonRetryableError",
    "QueryNotFound",
    "RetryPolicy",
    "Saga",
    "ScheduleHandle",
    "ScheduleNotFound",
    "SerializationError",
    "SideEffectError",
    "Status",
    "UnknownWorkflowError",
    "UpdateFailed",
    "UpdateHandle",
    "UpdateRejected",
    "WorkflowAlreadyExists",
    "WorkflowFailed",
    "WorkflowHandle",
    "WorkflowInfo",
    "WorkflowNotFound",
    "activity",
    "activity_info",
    "activity_method",
    "aget_handle",
    "aget_schedule",
    "all_handlers_finished",
    "aschedule",
    "asignal_with_start",
    "astart",
    "aupdate_with_start",
    "continue_as_new",
    "deprecate_patch",
    "execute_activity",
    "execute_child_workflow",
    "get_activity_handle",
    "get_handle",
    "get_schedule",
    "heartbeat",
    "info",
    "logger",
    "now",
    "patched",
    "query",
    "random",
    "register_activities",
    "run",
    "schedule",
    "set_query_handler",
    "set_signal_handler",
    "set_update_handler",
    "set_var",
    "side_effect",
    "signal",
    "signal_with_start",
    "signal_workflow",
    "sleep",
    "start",
    "start_child_workflow",
    "update",
    "update_with_start",
    "uuid4",
    "wait_condition",
    "wait_signal",
    "workflow",
]

#: Loaded lazily because they need Django; checked by the client tests, not here.
CLIENT_NAMES = {
    "start",
    "astart",
    "get_handle",
    "aget_handle",
    "WorkflowHandle",
    "schedule",
    "aschedule",
    "get_schedule",
    "aget_schedule",
    "ScheduleHandle",
    "UpdateHandle",
    "signal_with_start",
    "asignal_with_start",
    "update_with_start",
    "aupdate_with_start",
    "get_activity_handle",
    "ActivityHandle",
}

#: Event types of the history vocabulary (with the updates' events), in that order.
HISTORY_VOCABULARY = [
    "WorkflowStarted", "ActivityScheduled", "ActivityStarted", "ActivityCompleted", "ActivityFailed",
    "ActivityTimedOut", "ActivityCancelRequested", "TimerStarted", "TimerFired", "TimerCancelled",
    "SignalReceived", "ChildWorkflowStarted", "ChildWorkflowCompleted", "ChildWorkflowFailed",
    "SignalExternalSent", "SideEffectRecorded", "PatchMarker", "VarSet", "CancelRequested",
    "UpdateAccepted", "UpdateCompleted",
    "WorkflowCompleted", "WorkflowFailed", "WorkflowCancelled", "WorkflowTerminated",
    "WorkflowContinuedAsNew", "WorkflowTimedOut",
]  # fmt: skip


def test_all_is_pinned():
    assert sorted(df.__all__) == sorted(EXPECTED_ALL)
    assert len(df.__all__) == len(set(df.__all__))


@pytest.mark.parametrize("name", sorted(set(EXPECTED_ALL) - CLIENT_NAMES))
def test_every_pure_name_is_importable(name):
    assert getattr(df, name) is not None


def test_every_public_name_is_in_the_api_reference():
    """docs/reference.md documents objects one by one: a new public name must be placed in one of its sections."""
    import durableflows.testing

    reference = (ROOT / "docs" / "reference.md").read_text()
    listed = set(re.findall(r"^::: durableflows(?:\.testing)?\.(\w+)$", reference, re.MULTILINE))
    missing = sorted(set(df.__all__ + durableflows.testing.__all__) - listed)
    assert not missing, f"add these to docs/reference.md: {missing}"


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError):
        df.no_such_name  # noqa: B018


def test_history_vocabulary_is_exactly_the_documented_one():
    assert [t.value for t in df.EventType] == HISTORY_VOCABULARY


def test_statuses_are_the_documented_ones():
    assert [s.value for s in df.Status] == [
        "pending", "running", "completed", "failed", "cancelled", "terminated", "continued_as_new", "timed_out",
    ]  # fmt: skip


def test_errors_keep_their_documented_bases():
    assert issubclass(df.SerializationError, TypeError)
    assert issubclass(df.WorkflowNotFound, LookupError)
    for name in ("ActivityError", "ChildWorkflowError", "NonDeterminismError", "WorkflowFailed", "QueryNotFound"):
        assert issubclass(getattr(df, name), df.DurableFlowsError)
    error = df.ActivityError("InsufficientFunds", "no money", 3, "charge")
    assert (error.type, error.message, error.attempts) == ("InsufficientFunds", "no money", 3)
    failed = df.WorkflowFailed("failed", "KeyError", "k", "wf-1")
    assert (failed.status, failed.type, failed.message) == ("failed", "KeyError", "k")
    assert df.NonRetryableError("nope").type == "NonRetryableError"
    assert df.NonRetryableError("nope", type="Declined").type == "Declined"


_NO_DJANGO = """
import sys
import {module}
leaked = sorted(m for m in sys.modules if m == "django" or m.startswith(("django.", "celery", "kombu")))
assert not leaked, leaked
print("clean")
"""


@pytest.mark.parametrize("module", ["durableflows", "durableflows.runtime", "durableflows.serialization"])
def test_pure_layers_do_not_import_django_or_celery(module):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, "-c", _NO_DJANGO.format(module=module)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"
