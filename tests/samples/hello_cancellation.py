"""Temporal's hello_cancellation: a cancelled workflow stops its heartbeating activity and cleans up.

The long activity learns of the cancellation at its next heartbeat; the workflow's ``finally``
runs a cleanup activity before the run ends cancelled.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import NoReturn

import durableflows as df

#: How often the never-ending activity heartbeats (Temporal's sample: every second).
HEARTBEAT_EVERY = 0.2


@df.activity(start_to_close_timeout=timedelta(seconds=1000), heartbeat_timeout=timedelta(seconds=2))
async def never_complete_activity() -> NoReturn:
    """Heartbeats until cancelled: ``df.heartbeat()`` raises ``df.ActivityCancelled`` then."""
    while True:
        df.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)


@df.activity(start_to_close_timeout=timedelta(seconds=5))
async def cleanup_activity() -> str:
    return "cleaned up"


@df.workflow(name="samples.hello_cancellation")
class CancellationWorkflow:
    @df.run
    async def run(self) -> None:
        try:
            await df.execute_activity(never_complete_activity)
        finally:
            await df.execute_activity(cleanup_activity)
