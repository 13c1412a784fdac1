"""Temporal's hello_query: a query reads the greeting, which changes after a two-second timer."""

from __future__ import annotations

import asyncio

import durableflows as df


@df.workflow(name="samples.hello_query")
class GreetingWorkflow:
    def __init__(self) -> None:
        self._greeting = "<no greeting>"

    @df.run
    async def run(self, name: str) -> None:
        self._greeting = f"Hello, {name}!"
        await asyncio.sleep(2)  # a durable timer, as df.sleep(2) would be
        self._greeting = f"Goodbye, {name}!"  # queries still answer once the run has completed

    @df.query
    def greeting(self) -> str:
        return self._greeting
