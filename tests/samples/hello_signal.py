"""Temporal's hello_signal: names arrive by signal through an ``asyncio.Queue`` until ``exit``."""

from __future__ import annotations

import asyncio

import durableflows as df


@df.workflow(name="samples.hello_signal")
class GreetingWorkflow:
    def __init__(self) -> None:
        self._pending_greetings: asyncio.Queue[str] = asyncio.Queue()
        self._exit = False

    @df.run
    async def run(self) -> list[str]:
        greetings: list[str] = []
        while not self._exit:
            await df.wait_condition(lambda: not self._pending_greetings.empty() or self._exit)
            while not self._pending_greetings.empty():
                greetings.append(f"Hello, {self._pending_greetings.get_nowait()}")
        return greetings

    @df.signal
    async def submit_greeting(self, name: str) -> None:
        await self._pending_greetings.put(name)

    @df.signal
    def exit(self) -> None:
        self._exit = True
