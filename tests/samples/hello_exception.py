"""Temporal's hello_exception: an activity that always raises fails the workflow once its retries run out."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import NoReturn

import durableflows as df


@dataclasses.dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@df.activity
async def compose_greeting(input: ComposeGreetingInput) -> NoReturn:
    raise RuntimeError(f"Greeting exception: {input.greeting}, {input.name}!")


@df.workflow(name="samples.hello_exception")
class GreetingWorkflow:
    @df.run
    async def run(self, name: str) -> str:
        return await df.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            retry=df.RetryPolicy(maximum_attempts=2),  # one retry
        )
