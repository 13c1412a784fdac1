"""Workflows and activities run by real Celery workers in tests/integration.

Written only against the public API (``import durableflows as df``). Activities
that must be observed or held from the test process talk to it through files in
a directory the test passes as an argument: ``<name>.started.<attempt>.<pid>``
says an attempt began, ``<name>.open`` lets a gated attempt finish.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from datetime import timedelta
from pathlib import Path

import durableflows as df

FAST_RETRY = df.RetryPolicy(
    maximum_attempts=0,
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=1),
)


@df.activity(name="it.step", start_to_close_timeout=timedelta(seconds=30), retry=FAST_RETRY)
def step(name: str, value: object) -> str:
    """A fast, deterministic activity: appends its name to its input."""
    return f"{value}>{name}"


@df.activity(name="it.gated", start_to_close_timeout=timedelta(seconds=4), retry=FAST_RETRY)
def gated(gate_dir: str, name: str) -> str:
    """Marks that an attempt started, then waits until the test opens the gate.

    The short start-to-close timeout is what lets a new worker retry the
    attempt that a killed worker left behind.
    """
    gates = Path(gate_dir)
    attempt = df.activity_info().attempt
    (gates / f"{name}.started.{attempt}.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (gates / f"{name}.open").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gate {name!r} was never opened")
        time.sleep(0.05)
    return f"{name}:passed"


@df.workflow(name="it.three_steps")
async def three_steps(value: object) -> dict:
    """Three activities in a row, each fed the previous result."""
    a = await df.execute_activity(step, "a", value)
    b = await df.execute_activity(step, "b", a)
    c = await df.execute_activity(step, "c", b)
    return {"a": a, "b": b, "c": c}


@df.workflow(name="it.gated_flow")
async def gated_flow(gate_dir: str) -> list:
    """A fast activity, a gated one the test kills a worker in, then another fast one."""
    a = await df.execute_activity(step, "a", 0)
    g = await df.execute_activity(gated, gate_dir, "g")
    c = await df.execute_activity(step, "c", g)
    return [a, g, c]


@df.workflow(name="it.sleeper")
async def sleeper(seconds: float) -> list:
    """An activity, a durable timer, another activity."""
    a = await df.execute_activity(step, "a", 0)
    await df.sleep(seconds)
    b = await df.execute_activity(step, "b", a)
    return [a, b]


@df.workflow(name="it.waits_for_signal")
async def waits_for_signal() -> object:
    """Parks until an "approve" signal arrives and returns its payload (used by the bad-input tests)."""
    return await df.wait_signal("approve", timeout=timedelta(hours=1))


@df.activity(
    name="it.hangs",
    start_to_close_timeout=timedelta(seconds=1),
    retry=df.RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=200)),
)
async def hangs(gate_dir: str) -> str:
    """An async activity that never finishes in time; marks each attempt that was cancelled."""
    attempt = df.activity_info().attempt
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        (Path(gate_dir) / f"hangs.cancelled.{attempt}").touch()
        raise
    return "woke up"


@df.workflow(name="it.hanging")
async def hanging(gate_dir: str) -> object:
    """Reports how its hanging activity ended."""
    try:
        return await df.execute_activity(hangs, gate_dir)
    except df.ActivityError as exc:
        return {"type": exc.type, "attempts": exc.attempts}


# durableflows auto-imports only ``workflows.py``: import the app's other workflow modules here so the
# worker processes register them too (at the end: they import ``step`` from this module).
from . import lifecycle  # noqa: E402, F401


@dataclasses.dataclass
class CartLine:
    sku: str
    qty: int


@df.workflow(name="it.cart")
async def cart(cart_id: str) -> dict:
    lines: list[CartLine] = []

    def validate(line: CartLine) -> None:
        if line.qty <= 0:
            raise ValueError("qty must be positive")

    async def add_line(line: CartLine) -> int:
        await df.execute_activity(step, "add", line.sku)
        lines.append(line)
        return len(lines)

    df.set_update_handler("add_line", add_line, validator=validate)
    await df.wait_signal("checkout")
    await df.wait_condition(df.all_handlers_finished)
    return {"cart": cart_id, "skus": [line.sku for line in lines]}


@df.workflow(name="it.basket")
class Basket:
    """A class workflow: items arrive by signal, each through an activity; a query counts them; "close" ends it."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.closed = False

    @df.run
    async def run(self, owner: str) -> dict:
        await df.wait_condition(lambda: self.closed, timeout=timedelta(minutes=5))
        return {"owner": owner, "items": self.items}

    @df.signal
    async def add(self, item: str) -> None:
        self.items.append(await df.execute_activity(step, "added", item))

    @df.signal
    def close(self) -> None:
        self.closed = True

    @df.query
    def count(self) -> int:
        return len(self.items)
