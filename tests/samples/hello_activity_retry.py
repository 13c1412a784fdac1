"""Temporal's hello_activity_retry: an activity fails its first three attempts; the retry policy wins."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import durableflows as df


@dataclasses.dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


@df.activity
async def compose_greeting(input: ComposeGreetingInput) -> str:
    if df.activity_info().attempt < 4:
        raise RuntimeError("Intentional failure")
    return f"{input.greeting}, {input.name}!"


@df.workflow(name="samples.hello_activity_retry")
class GreetingWorkflow:
    @df.run
    async def run(self, name: str) -> str:
        return await df.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            retry=df.RetryPolicy(maximum_interval=timedelta(seconds=2)),  # attempts unlimited, as by default
        )
