"""A subscription-like workflow for the lifecycle scenario: a child per period, a slow heartbeating
activity, continue-as-new between periods, and cleanup when cancelled."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import durableflows as df

from .workflows import step


@df.activity(name="it.slow_progress", heartbeat_timeout=timedelta(seconds=2), start_to_close_timeout=60)
def slow_progress(gate_dir: str, period: int) -> int:
    """Heartbeats its progress until the gate of its period opens; resumes from the last heartbeat."""
    done = df.activity_info().heartbeat_details or 0
    gate = Path(gate_dir) / f"period-{period}.open"
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        done += 1
        df.heartbeat(done)  # raises df.ActivityCancelled once the workflow is cancelled
        time.sleep(0.05)
    return done


@df.workflow(name="it.period_child")
async def period_child(period: int) -> str:
    return await df.execute_activity(step, f"child{period}", period)


@df.workflow(name="it.subscription")
async def subscription(gate_dir: str, period: int, periods: int) -> dict:
    df.set_var("period", period)
    child = await df.execute_child_workflow(period_child, period)
    try:
        progress = await df.execute_activity(slow_progress, gate_dir, period)
    except asyncio.CancelledError:
        await df.execute_activity(step, "cleanup", period)
        raise
    if period < periods:
        df.continue_as_new(gate_dir, period + 1, periods)
    return {"child": child, "progress": progress, "period": period}
