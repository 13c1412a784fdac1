"""A class workflow whose update and query methods return a dataclass (for the typed-results tests)."""

from __future__ import annotations

import dataclasses

import durableflows as df


@dataclasses.dataclass
class Allocation:
    job: str
    nodes: set[str]


@df.workflow(name="typed_handlers.allocator")
class Allocator:
    def __init__(self) -> None:
        self.allocations: list[Allocation] = []
        self.done = False

    @df.run
    async def run(self) -> int:
        await df.wait_condition(lambda: self.done)
        return len(self.allocations)

    @df.update
    def allocate(self, job: str, count: int) -> Allocation:
        allocation = Allocation(job, {f"n{i}" for i in range(count)})
        self.allocations.append(allocation)
        return allocation

    @df.update(name="finish")
    def finish_allocating(self) -> None:
        self.done = True

    @df.query
    def latest(self) -> Allocation | None:
        return self.allocations[-1] if self.allocations else None
