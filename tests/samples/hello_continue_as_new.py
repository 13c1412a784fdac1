"""Temporal's hello_continue_as_new: a workflow that sleeps a second, then continues as new, ten times."""

from __future__ import annotations

import asyncio

import durableflows as df


@df.workflow(name="samples.hello_continue_as_new")
class LoopingWorkflow:
    @df.run
    async def run(self, iteration: int) -> None:
        if iteration == 10:
            return
        df.logger.info("Running workflow iteration %s", iteration)
        await asyncio.sleep(1)
        df.continue_as_new(iteration + 1)
