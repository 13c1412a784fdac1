"""safe_message_handlers: concurrent updates serialized by an asyncio.Lock, continue-as-new between them."""

from __future__ import annotations

from datetime import timedelta

import pytest

import durableflows as df

from .conftest import TIMEOUT
from .safe_message_handlers import (
    ClusterManagerAssignNodesToJobInput,
    ClusterManagerAssignNodesToJobResult,
    ClusterManagerDeleteJobInput,
    ClusterManagerInput,
    ClusterManagerResult,
    ClusterManagerWorkflow,
)

JOBS = [f"task-{i}" for i in range(6)]


def assign(handle: df.WorkflowHandle, job: str, nodes: int = 2) -> df.UpdateHandle:
    return handle.start_update("assign_nodes_to_job", ClusterManagerAssignNodesToJobInput(nodes, job))


def delete(handle: df.WorkflowHandle, job: str) -> df.UpdateHandle:
    return handle.start_update("delete_job", ClusterManagerDeleteJobInput(job))


def run_cluster_lifecycle(handle: df.WorkflowHandle, between=lambda: None, timeout: float | None = None) -> set[str]:
    """The sample's starter: start the cluster, six assignments at once, then six deletions at once, shut down.

    Returns the nodes the assignments got.
    """
    handle.signal("start_cluster")
    allocations = [assign(handle, job) for job in JOBS]  # all six are in flight together
    results = [update.result(timeout) for update in allocations]
    assert all(isinstance(r, ClusterManagerAssignNodesToJobResult) and len(r.nodes_assigned) == 2 for r in results)
    assigned = set().union(*(r.nodes_assigned for r in results))
    assert len(assigned) == 12  # the lock kept the assignments apart
    between()
    deletions = [delete(handle, job) for job in JOBS]
    assert [update.result(timeout) for update in deletions] == [None] * 6
    handle.signal("shutdown_cluster")
    return assigned


def test_cluster_lifecycle_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(ClusterManagerWorkflow, ClusterManagerInput(), id="cluster")
    run_cluster_lifecycle(handle, between=lambda: durableflows_env.sleep(timedelta(seconds=1)))
    assert handle.result().num_currently_assigned_nodes == 0


def test_assigning_the_same_job_twice_is_idempotent_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(ClusterManagerWorkflow, ClusterManagerInput(), id="cluster-idempotent")
    handle.signal("start_cluster")
    first = assign(handle, "jobby-job", 5).result()
    second = assign(handle, "jobby-job", 5).result()
    assert len(first.nodes_assigned) == 5
    assert first.nodes_assigned >= second.nodes_assigned  # never more; fewer if a health check marked one bad


def test_an_update_that_cannot_be_served_fails_alone_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(ClusterManagerWorkflow, ClusterManagerInput(), id="cluster-full")
    handle.signal("start_cluster")
    assign(handle, "big-task", 24).result()
    with pytest.raises(df.UpdateFailed) as failure:
        assign(handle, "little-task", 3).result()
    assert failure.value.type == "NotEnoughNodes"
    assert failure.value.message == "Cannot assign 3 nodes; have only 1 available"
    handle.signal("shutdown_cluster")
    result = handle.result()  # the run carried on after the failed update
    assert result.num_currently_assigned_nodes + result.num_bad_nodes == 24


def test_the_cluster_continues_as_new_with_its_state_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(
        ClusterManagerWorkflow, ClusterManagerInput(test_continue_as_new=True), id="cluster-continues"
    )
    first_run = handle.run_id
    latest = durableflows_env.get_handle("cluster-continues")  # follows the workflow id to its newest run
    healthy: set[str] = set()

    def let_health_checks_run() -> None:  # checks every second grow the history past 120 events
        durableflows_env.sleep(timedelta(seconds=60))
        assert df.get_handle("cluster-continues").run_id != first_run
        healthy.update(latest.query("assigned_nodes"))  # the assignments crossed into the new run

    assigned = run_cluster_lifecycle(latest, between=let_health_checks_run)
    assert healthy and healthy <= assigned
    result = latest.result()
    assert result == ClusterManagerResult(0, len(assigned - healthy))
    assert df.get_handle("cluster-continues", run_id=first_run).status == df.Status.CONTINUED_AS_NEW


def test_cluster_lifecycle_on_workers(sample_workers):
    handle = df.start(ClusterManagerWorkflow, ClusterManagerInput(), id="cluster-workers")
    run_cluster_lifecycle(handle, timeout=TIMEOUT)
    assert handle.result(timeout=TIMEOUT).num_currently_assigned_nodes == 0
