"""Cancellation, termination, child workflows and continue-as-new."""

import pytest

import durableflows as df
from durableflows.models import Timer

from .workflows import abandoning_parent, cancellable, counter, parent


def test_cancel_raises_at_the_current_await_and_allows_cleanup(durableflows_env):
    cleanup = durableflows_env.mock_activity("engine.echo", return_value="cleaned")
    handle = durableflows_env.start(cancellable)
    durableflows_env.run_until_idle()
    handle.cancel("customer asked")
    with pytest.raises(df.WorkflowFailed) as raised:
        handle.result()
    assert raised.value.status == "cancelled"
    assert cleanup.calls == [("cleanup",)]
    kinds = [e.type.value for e in handle.history()]
    assert kinds.index("CancelRequested") < kinds.index("TimerCancelled") < kinds.index("ActivityScheduled")
    assert kinds[-1] == "WorkflowCancelled"
    assert not Timer.objects.exists()


def test_terminate_closes_at_once_without_running_code(durableflows_env):
    handle = durableflows_env.start(cancellable)
    durableflows_env.run_until_idle()
    handle.terminate("bad data")
    assert handle.status == df.Status.TERMINATED
    assert handle.history()[-1].type.value == "WorkflowTerminated"
    assert not Timer.objects.exists()
    with pytest.raises(df.WorkflowFailed, match="bad data"):
        handle.result()


def test_child_workflow_result_and_links(durableflows_env):
    handle = durableflows_env.start(parent, 21, id="parent-1")
    assert handle.result() == 42
    child = df.get_handle("parent-1/1")
    assert child.status == df.Status.COMPLETED
    assert child.describe()["parent_workflow_id"] == "parent-1"
    assert [c["workflow_id"] for c in handle.describe()["children"]] == ["parent-1/1"]
    kinds = [e.type.value for e in handle.history()]
    assert "ChildWorkflowStarted" in kinds and "ChildWorkflowCompleted" in kinds


def test_child_failure_raises_child_workflow_error(durableflows_env):
    handle = durableflows_env.start(parent, -1)
    assert handle.result() == {"child_failed": "ValueError", "status": "failed"}


@pytest.mark.parametrize(("policy", "child_status"), [("terminate", "terminated"), ("abandon", "completed")])
def test_parent_close_policy(durableflows_env, policy, child_status):
    handle = durableflows_env.start(abandoning_parent, policy)
    assert handle.result() == "parent done"
    child = durableflows_env.get_handle("engine-child-of-abandoner")
    if child_status == "completed":
        assert child.result() == 10
    assert child.status == child_status


def test_continue_as_new_starts_fresh_runs_and_result_follows_them(durableflows_env):
    handle = durableflows_env.start(counter, 0, 3, id="counter")
    first_run = handle.run_id
    assert handle.result() == {"n": 3, "continued_from": True}
    runs = df.get_handle("counter")
    assert runs.run_id != first_run
    assert df.get_handle("counter", run_id=first_run).status == df.Status.CONTINUED_AS_NEW
    assert [e.type.value for e in runs.history()] == ["WorkflowStarted", "WorkflowCompleted"]
    assert df.get_handle("counter", run_id=first_run).result() == {"n": 3, "continued_from": True}
