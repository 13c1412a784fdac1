"""Temporal's hello_parallel_activity: five activities at once through ``asyncio.gather``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import durableflows as df


@df.activity
async def say_hello_activity(name: str) -> str:
    return f"Hello, {name}!"


@df.workflow(name="samples.hello_parallel_activity")
class SayHelloWorkflow:
    @df.run
    async def run(self) -> list[str]:
        results = await asyncio.gather(
            *(
                df.execute_activity(say_hello_activity, f"user{n}", start_to_close_timeout=timedelta(seconds=5))
                for n in range(1, 6)
            )
        )
        return sorted(results)  # they may complete in any order
