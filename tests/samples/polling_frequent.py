"""Temporal's polling/frequent: one activity polls a failing service, heartbeating between tries.

The activity keeps its attempt open and retries the call itself every ``POLL_INTERVAL``; each
heartbeat tells the engine it is alive, so the short heartbeat timeout does not fire while a long
start-to-close timeout bounds the whole poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import durableflows as df

#: Seconds between polls (Temporal's sample: one second).
POLL_INTERVAL = 0.1


@dataclasses.dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


class ServiceDown(Exception):
    pass


class FlakyService:
    """A stand-in for an unreliable service: every ``error_attempts``-th call succeeds."""

    def __init__(self, error_attempts: int = 5) -> None:
        self.error_attempts = error_attempts

    async def get_service_result(self, input: ComposeGreetingInput, attempt: int) -> str:
        if attempt % self.error_attempts == 0:
            return f"{input.greeting}, {input.name}!"
        raise ServiceDown("service is down")


@df.activity
async def compose_greeting(input: ComposeGreetingInput) -> str:
    service = FlakyService()
    attempt = 1
    while True:
        try:
            return await service.get_service_result(input, attempt)
        except ServiceDown:
            df.heartbeat(f"poll {attempt} failed")
        await asyncio.sleep(POLL_INTERVAL)
        attempt += 1


@df.workflow(name="samples.polling_frequent")
class GreetingWorkflow:
    @df.run
    async def run(self, name: str) -> str:
        return await df.execute_activity(
            compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
        )
