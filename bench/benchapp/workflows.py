"""The durableflows contender: three trivial activities run in sequence by one workflow."""
from __future__ import annotations

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
