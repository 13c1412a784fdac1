"""The benchmarks' workflows: three trivial activities in sequence (run.py, bulk_start.py), a sleeper
(timers.py), entities fed by signals (replay.py, signals.py) and one under faults (faults.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

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


@df.workflow(name="bench.sleep_until")
async def sleep_until(due: str) -> str:
    """Sleep on a durable timer until the instant ``due`` (ISO 8601), then close: ``bench/timers.py``."""
    await df.sleep(max(0.001, (datetime.fromisoformat(due) - df.now()).total_seconds()))
    return due


@df.activity(name="bench.entity_settle")
def entity_settle(total: int) -> int:
    return total


@df.workflow(name="bench.entity")
async def entity(total: int) -> int:
    """An entity-style run for ``bench/replay.py``: a long loop on signals, with variables, activities and timers."""
    df.set_query_handler("total", lambda: total)
    count = 0
    while True:
        op = await df.wait_signal("op")
        if op.get("stop"):
            return total
        total += op["amount"]
        count += 1
        df.set_var("total", total)
        if count % 10 == 0:
            total = await df.execute_activity(entity_settle, total)
        if count % 50 == 0:
            await df.sleep(60)


@df.workflow(name="bench.hoarder")
async def hoarder() -> None:
    """A run that keeps every signal's payload: its state, unlike ``entity``'s, grows with its history."""
    seen = []
    while True:
        seen.append(await df.wait_signal("op"))


@df.workflow(name="bench.counter")
async def counter() -> int:
    """An entity fed by signals (bench/signals.py): counts ``add`` signals until ``stop``."""
    seen = {"adds": 0, "stop": False}

    def add(amount: int) -> None:
        seen["adds"] += 1

    def stop(payload: object) -> None:
        seen["stop"] = True

    df.set_signal_handler("add", add)
    df.set_signal_handler("stop", stop)
    await df.wait_condition(lambda: bool(seen["stop"]))
    return int(seen["adds"])


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
