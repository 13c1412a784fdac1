"""hello_parallel_activity, hello_activity_retry, hello_exception and hello_continue_as_new."""

from __future__ import annotations

import pytest

import durableflows as df
from durableflows.models import WorkflowRun

from . import hello_activity_retry, hello_continue_as_new, hello_exception, hello_parallel_activity
from .conftest import TIMEOUT, event_data

HELLOS = [f"Hello, user{n}!" for n in range(1, 6)]


def scheduled_before_any_completed(handle: df.WorkflowHandle) -> int:
    types = [str(e.type) for e in handle.history()]
    return types[: types.index("ActivityCompleted")].count("ActivityScheduled")


def test_parallel_activities_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_parallel_activity.SayHelloWorkflow, id="parallel")
    assert handle.result() == HELLOS
    assert scheduled_before_any_completed(handle) == 5


def test_parallel_activities_on_workers(sample_workers):
    handle = df.start(hello_parallel_activity.SayHelloWorkflow, id="parallel-workers")
    assert handle.result(timeout=TIMEOUT) == HELLOS
    assert scheduled_before_any_completed(handle) == 5


def test_activity_retry_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_activity_retry.GreetingWorkflow, "World", id="retry")
    assert handle.result() == "Hello, World!"  # the backoff between attempts is skipped
    assert WorkflowRun.objects.get(workflow_id="retry").activities.get().attempt == 4


def test_activity_retry_on_workers(sample_workers):
    handle = df.start(hello_activity_retry.GreetingWorkflow, "World", id="retry-workers")
    assert handle.result(timeout=TIMEOUT) == "Hello, World!"


def assert_failed_after_two_attempts(handle: df.WorkflowHandle, failure: df.WorkflowFailed) -> None:
    assert failure.status == df.Status.FAILED
    assert failure.type == "ActivityError"
    assert "Greeting exception: Hello, World!" in failure.message
    [failed] = event_data(handle, "ActivityFailed")
    assert (failed["type"], failed["attempts"]) == ("RuntimeError", 2)


def test_exception_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_exception.GreetingWorkflow, "World", id="exception")
    with pytest.raises(df.WorkflowFailed) as failure:
        handle.result()
    assert_failed_after_two_attempts(handle, failure.value)


def test_exception_on_workers(sample_workers):
    handle = df.start(hello_exception.GreetingWorkflow, "World", id="exception-workers")
    with pytest.raises(df.WorkflowFailed) as failure:
        handle.result(timeout=TIMEOUT)
    assert_failed_after_two_attempts(handle, failure.value)


def assert_ten_continuations(workflow_id: str) -> None:
    statuses = list(WorkflowRun.objects.filter(workflow_id=workflow_id).order_by("created_at").values_list("status"))
    assert [status for (status,) in statuses] == ["continued_as_new"] * 10 + ["completed"]


def test_continue_as_new_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(hello_continue_as_new.LoopingWorkflow, 0, id="looping")
    assert handle.result() is None
    assert_ten_continuations("looping")


def test_continue_as_new_on_workers(sample_workers):
    handle = df.start(hello_continue_as_new.LoopingWorkflow, 0, id="looping-workers")
    assert handle.result(timeout=TIMEOUT) is None
    assert_ten_continuations("looping-workers")
