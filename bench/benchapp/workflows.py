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
