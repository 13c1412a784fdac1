"""The benchmarks' workflows: three trivial activities in sequence (run.py, bulk_start.py); one under faults."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import durableflows as df


@df.activity(name="bench.add_one_a")
def add_one_a(value: int) -> int:
    return value + 1


@df.activity(name="bench.add_one_b")
def add_one_b(value: int) -> int:
    return value + 1


@df.activity(name="bench.add_one_c")
def add_one_c(value: int) -> int:
    return value + 1


@df.workflow(name="bench.three_steps")
async def three_steps(value: int) -> int:
    a = await df.execute_activity(add_one_a, value)
    b = await df.execute_activity(add_one_b, a)
    return await df.execute_activity(add_one_c, b)


FAST_RETRY = df.RetryPolicy(
    maximum_attempts=0, initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=1)
)


@df.activity(name="bench.fault_step", start_to_close_timeout=timedelta(seconds=3), retry=FAST_RETRY)
def fault_step(value: int) -> int:
    """A short activity; a worker killed while running it leaves it to time out after 3 s and be retried."""
    time.sleep(0.02)
    return value + 1


@df.workflow(name="bench.under_faults")
async def under_faults(value: int) -> dict:
    """Activities, a durable timer and a signal: every kind of fact a fault could lose or duplicate."""
    a = await df.execute_activity(fault_step, value)
    await df.sleep(timedelta(seconds=1))
    b, c = await asyncio.gather(df.execute_activity(fault_step, a), df.execute_activity(fault_step, a + 10))
    go = await df.wait_signal("go")
    d = await df.execute_activity(fault_step, b + c + go["add"])
    return {"a": a, "b": b, "c": c, "d": d}
