"""hello_cancellation in the toolkit and on real workers: the run ends cancelled after its cleanup."""

from __future__ import annotations

import pytest

import durableflows as df
from tests.helpers import wait_until

from .conftest import TIMEOUT, activity_name, event_data
from .hello_cancellation import CancellationWorkflow, cleanup_activity, never_complete_activity


def test_cancelling_runs_the_cleanup_in_the_toolkit(durableflows_env):
    cleanup = durableflows_env.mock_activity(cleanup_activity, return_value="cleaned up")
    handle = durableflows_env.start(CancellationWorkflow, id="hello-cancellation")
    handle.cancel()  # before the never-ending activity gets to run: the toolkit runs activities in-process
    with pytest.raises(df.WorkflowFailed) as failure:
        handle.result()
    assert failure.value.status == df.Status.CANCELLED
    assert handle.status == df.Status.CANCELLED
    assert cleanup.call_count == 1
    assert len(event_data(handle, "ActivityCancelRequested")) == 1


def test_cancelling_stops_the_heartbeating_activity_on_workers(sample_workers):
    never_complete = activity_name(never_complete_activity)
    handle = df.start(CancellationWorkflow, id="hello-cancellation-workers")
    wait_until(
        lambda: any(
            a["name"] == never_complete and a["last_heartbeat_at"] for a in handle.describe()["pending_activities"]
        ),
        timeout=TIMEOUT,
        message="the never-ending activity to heartbeat",
    )
    handle.cancel()
    with pytest.raises(df.WorkflowFailed) as failure:
        handle.result(timeout=TIMEOUT)
    assert failure.value.status == df.Status.CANCELLED
    cleanup = activity_name(cleanup_activity)
    names = {data["activity_id"]: data["name"] for data in event_data(handle, "ActivityScheduled")}
    assert list(names.values()) == [never_complete, cleanup]
    assert [names[data["activity_id"]] for data in event_data(handle, "ActivityCompleted")] == [cleanup]
