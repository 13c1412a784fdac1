"""The durableflows contenders: three trivial activities run in sequence by one workflow; a sleeper for timers."""

from __future__ import annotations

from datetime import datetime

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
