"""Temporal's hello_update: an update flips the workflow's state and answers its caller."""

from __future__ import annotations

import durableflows as df


@df.workflow(name="samples.hello_update")
class GreetingWorkflow:
    def __init__(self) -> None:
        self.is_complete = False

    @df.run
    async def run(self) -> str:
        await df.wait_condition(lambda: self.is_complete)
        return "Hello, World!"

    @df.update
    async def update_workflow_status(self) -> str:
        self.is_complete = True
        return "Workflow status updated"
