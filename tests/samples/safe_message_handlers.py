"""Temporal's safe_message_handlers: a cluster manager whose concurrent handlers share state under a lock.

Signals start and shut down the cluster; updates assign nodes to jobs and delete jobs. Each
handler awaits activities while it changes the node table, so an ``asyncio.Lock`` keeps them from
interleaving, and the periodic health check takes the same lock. A long-lived "entity", it
continues as new when suggested, after waiting for every running handler to finish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import zlib
from datetime import timedelta

import durableflows as df

BAD = "BAD!"


# -- activities --------------------------------------------------------------------------------
@dataclasses.dataclass
class AssignNodesToJobInput:
    nodes: list[str]
    job_name: str


@dataclasses.dataclass
class UnassignNodesForJobInput:
    nodes: list[str]
    job_name: str


@dataclasses.dataclass
class FindBadNodesInput:
    nodes_to_check: set[str]


@df.activity
async def assign_nodes_to_job(input: AssignNodesToJobInput) -> None:
    await asyncio.sleep(0.01)  # the sample's call to the cluster


@df.activity
async def unassign_nodes_for_job(input: UnassignNodesForJobInput) -> None:
    await asyncio.sleep(0.01)


@df.activity
async def find_bad_nodes(input: FindBadNodesInput) -> set[str]:
    """Declares some nodes bad; a stable checksum stands for the sample's ``hash``, which varies by process."""
    return {node for node in input.nodes_to_check if zlib.crc32(node.encode()) % 5 == 0}


# -- the workflow's inputs, outputs and state ----------------------------------------------------
@dataclasses.dataclass
class ClusterManagerState:
    cluster_started: bool = False
    cluster_shutdown: bool = False
    nodes: dict[str, str | None] = dataclasses.field(default_factory=dict)
    jobs_assigned: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class ClusterManagerInput:
    state: ClusterManagerState | None = None
    test_continue_as_new: bool = False


@dataclasses.dataclass
class ClusterManagerResult:
    num_currently_assigned_nodes: int
    num_bad_nodes: int


@dataclasses.dataclass
class ClusterManagerAssignNodesToJobInput:
    total_num_nodes: int
    job_name: str


@dataclasses.dataclass
class ClusterManagerDeleteJobInput:
    job_name: str


@dataclasses.dataclass
class ClusterManagerAssignNodesToJobResult:
    nodes_assigned: set[str]


class ClusterShutDown(Exception):
    pass


class NotEnoughNodes(Exception):
    pass


@df.workflow(name="samples.cluster_manager")
class ClusterManagerWorkflow:
    def __init__(self) -> None:
        self.state = ClusterManagerState()
        self.nodes_lock = asyncio.Lock()  # handlers await activities while they change self.state.nodes
        self.max_history_length: int | None = None
        self.sleep_interval_seconds = 600

    @df.signal
    async def start_cluster(self) -> None:
        self.state.cluster_started = True
        self.state.nodes = {str(k): None for k in range(25)}
        df.logger.info("Cluster started")

    @df.signal
    async def shutdown_cluster(self) -> None:
        await df.wait_condition(lambda: self.state.cluster_started)
        self.state.cluster_shutdown = True
        df.logger.info("Cluster shut down")

    @df.update
    async def assign_nodes_to_job(
        self, input: ClusterManagerAssignNodesToJobInput
    ) -> ClusterManagerAssignNodesToJobResult:
        await df.wait_condition(lambda: self.state.cluster_started)
        if self.state.cluster_shutdown:  # an error in an update handler fails the update, not the run
            raise ClusterShutDown("Cannot assign nodes to a job: Cluster is already shut down")
        async with self.nodes_lock:
            if input.job_name in self.state.jobs_assigned:  # idempotent: a repeated call gets the same nodes
                return ClusterManagerAssignNodesToJobResult(self.get_assigned_nodes(job_name=input.job_name))
            unassigned_nodes = self.get_unassigned_nodes()
            if len(unassigned_nodes) < input.total_num_nodes:
                raise NotEnoughNodes(
                    f"Cannot assign {input.total_num_nodes} nodes; have only {len(unassigned_nodes)} available"
                )
            await self._assign_nodes_to_job(unassigned_nodes[: input.total_num_nodes], input.job_name)
            return ClusterManagerAssignNodesToJobResult(self.get_assigned_nodes(job_name=input.job_name))

    async def _assign_nodes_to_job(self, assigned_nodes: list[str], job_name: str) -> None:
        await df.execute_activity(
            assign_nodes_to_job,
            AssignNodesToJobInput(nodes=assigned_nodes, job_name=job_name),
            start_to_close_timeout=timedelta(seconds=10),
        )
        for node in assigned_nodes:
            self.state.nodes[node] = job_name
        self.state.jobs_assigned.add(job_name)

    @df.update
    async def delete_job(self, input: ClusterManagerDeleteJobInput) -> None:
        await df.wait_condition(lambda: self.state.cluster_started)
        if self.state.cluster_shutdown:
            raise ClusterShutDown("Cannot delete a job: Cluster is already shut down")
        async with self.nodes_lock:
            nodes_to_unassign = [k for k, v in self.state.nodes.items() if v == input.job_name]
            await self._unassign_nodes_for_job(nodes_to_unassign, input.job_name)

    async def _unassign_nodes_for_job(self, nodes_to_unassign: list[str], job_name: str) -> None:
        await df.execute_activity(
            unassign_nodes_for_job,
            UnassignNodesForJobInput(nodes=nodes_to_unassign, job_name=job_name),
            start_to_close_timeout=timedelta(seconds=10),
        )
        for node in nodes_to_unassign:
            self.state.nodes[node] = None

    def get_unassigned_nodes(self) -> list[str]:
        return [k for k, v in self.state.nodes.items() if v is None]

    def get_bad_nodes(self) -> set[str]:
        return {k for k, v in self.state.nodes.items() if v == BAD}

    def get_assigned_nodes(self, *, job_name: str | None = None) -> set[str]:
        if job_name:
            return {k for k, v in self.state.nodes.items() if v == job_name}
        return {k for k, v in self.state.nodes.items() if v is not None and v != BAD}

    async def perform_health_checks(self) -> None:
        async with self.nodes_lock:
            assigned_nodes = self.get_assigned_nodes()
            try:
                bad_nodes = await df.execute_activity(
                    find_bad_nodes,
                    FindBadNodesInput(nodes_to_check=assigned_nodes),
                    start_to_close_timeout=timedelta(seconds=10),
                    retry=df.RetryPolicy(maximum_attempts=1),  # optional: the lock must not wait on retries
                )
                for node in bad_nodes:
                    self.state.nodes[node] = BAD
            except df.ActivityError as exc:
                df.logger.warning("Health check failed with error %s: %s", exc.type, exc.message)

    def init(self, input: ClusterManagerInput) -> None:
        if input.state:
            self.state = input.state
        if input.test_continue_as_new:
            self.max_history_length = 120
            self.sleep_interval_seconds = 1

    def should_continue_as_new(self) -> bool:
        info = df.info()
        if info.continue_as_new_suggested:
            return True
        # only for testing: a real entity trusts the suggestion
        return bool(self.max_history_length and info.history_length > self.max_history_length)

    @df.query
    def assigned_nodes(self) -> list[str]:
        return sorted(self.get_assigned_nodes())

    @df.run
    async def run(self, input: ClusterManagerInput) -> ClusterManagerResult:
        self.init(input)
        await df.wait_condition(lambda: self.state.cluster_started)
        while True:
            await self.perform_health_checks()
            try:
                await df.wait_condition(
                    lambda: self.state.cluster_shutdown or self.should_continue_as_new(),
                    timeout=timedelta(seconds=self.sleep_interval_seconds),
                )
            except TimeoutError:
                pass
            if self.state.cluster_shutdown:
                break
            if self.should_continue_as_new():
                await df.wait_condition(df.all_handlers_finished)  # no half-done assignment crosses runs
                df.logger.info("Continuing as new")
                df.continue_as_new(
                    ClusterManagerInput(state=self.state, test_continue_as_new=input.test_continue_as_new)
                )
        await df.wait_condition(df.all_handlers_finished)
        return ClusterManagerResult(len(self.get_assigned_nodes()), len(self.get_bad_nodes()))
