"""Workflows and activities used by the engine tests (registered when this module is imported)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import durableflows as df

calls: list[str] = []


@df.activity(name="engine.echo")
def echo(value):
    calls.append(f"echo:{value}")
    return value


@df.activity(name="engine.flaky", retry=df.RetryPolicy(maximum_attempts=4, initial_interval=2, backoff_coefficient=3))
def flaky(fail_times: int):
    info = df.activity_info()
    if info.attempt <= fail_times:
        raise ConnectionError(f"attempt {info.attempt} failed")
    return info.attempt


@df.activity(name="engine.declined", retry=df.RetryPolicy(non_retryable_errors=["PermissionError"]))
def declined(kind: str):
    if kind == "class":
        raise PermissionError("no")
    raise df.NonRetryableError("card declined", type="CardDeclined")


@df.activity(
    name="engine.slow", start_to_close_timeout=10, retry=df.RetryPolicy(maximum_attempts=2, initial_interval=1)
)
def slow():
    return "slow done"


@df.activity(name="engine.progress", heartbeat_timeout=30)
def progress(n: int):
    start = df.activity_info().heartbeat_details or 0
    for i in range(start, n):
        df.heartbeat(i + 1)
    return df.activity_info().heartbeat_details


@df.workflow(name="engine.three_steps")
async def three_steps(x: int) -> list:
    a = await df.execute_activity(echo, x)
    b = await df.execute_activity(echo, a + 1)
    c = await df.execute_activity(echo, b + 1)
    return [a, b, c]


@df.workflow(name="engine.retrying")
async def retrying(fail_times: int):
    try:
        return await df.execute_activity(flaky, fail_times)
    except df.ActivityError as exc:
        return {"type": exc.type, "attempts": exc.attempts}


@df.workflow(name="engine.declining")
async def declining(kind: str):
    try:
        await df.execute_activity(declined, kind)
    except df.ActivityError as exc:
        return {"type": exc.type, "message": exc.message, "attempts": exc.attempts}


@df.workflow(name="engine.sleeper")
async def sleeper(days: int):
    before = df.now()
    await df.sleep(timedelta(days=days))
    return (df.now() - before).total_seconds()


@df.workflow(name="engine.approval")
async def approval():
    df.set_var("stage", "waiting")
    df.set_query_handler("stage", lambda: "waiting for approval")
    try:
        decision = await df.wait_signal("approve", timeout=timedelta(days=2))
    except TimeoutError:
        decision = "expired"
    df.set_var("stage", "decided")
    return decision


@df.workflow(name="engine.collect")
async def collect(count: int):
    received = []
    for _ in range(count):
        received.append(await df.wait_signal("item"))
    return received


@df.workflow(name="engine.cancellable")
async def cancellable():
    try:
        await df.sleep(timedelta(hours=1))
    except asyncio.CancelledError:
        await df.execute_activity(echo, "cleanup")
        raise
    return "not cancelled"


@df.workflow(name="engine.child")
async def child(value: int) -> int:
    if value < 0:
        raise ValueError("negative")
    await df.sleep(60)
    return value * 2


@df.workflow(name="engine.parent")
async def parent(value: int):
    try:
        return await df.execute_child_workflow(child, value)
    except df.ChildWorkflowError as exc:
        return {"child_failed": exc.type, "status": exc.status}


@df.workflow(name="engine.abandoning_parent")
async def abandoning_parent(policy: str):
    await df.start_child_workflow(child, 5, id="engine-child-of-abandoner", parent_close_policy=policy)
    return "parent done"


@df.workflow(name="engine.counter")
async def counter(n: int, limit: int):
    if n < limit:
        df.continue_as_new(n + 1, limit)
    return {"n": n, "continued_from": df.info().continued_from_run_id is not None}


@df.workflow(name="engine.failing")
async def failing():
    raise KeyError("missing thing")


@df.workflow(name="engine.slow_caller")
async def slow_caller():
    try:
        return await df.execute_activity(slow)
    except df.ActivityError as exc:
        return {"type": exc.type, "attempts": exc.attempts}


@df.workflow(name="engine.heartbeating")
async def heartbeating(n: int):
    return await df.execute_activity(progress, n)


@df.workflow(name="engine.echo_then_signal")
async def echo_then_signal(x: int) -> list:
    a = await df.execute_activity(echo, x)
    return [a, await df.wait_signal("go")]


@df.workflow(name="engine.echo_sleep_echo")
async def echo_sleep_echo(x: int) -> list:
    a = await df.execute_activity(echo, x)
    await df.sleep(timedelta(hours=1))
    return [a, await df.execute_activity(echo, a + 1)]


@df.workflow(name="engine.staged_order")
async def staged_order(x: int) -> str:
    df.set_var("stage", "reserving")
    await df.execute_activity(echo, x)
    df.set_var("stage", "shipping")
    await df.execute_activity(echo, x + 1)
    df.set_var("stage", "shipped")
    return "shipped"


@df.workflow(name="engine.entity")
async def entity(total: int) -> None:
    """Loops on signals and continues as new when the history grows long, as long-lived entities do."""
    while not df.info().continue_as_new_suggested:
        amount = await df.wait_signal("add")
        total += await df.execute_activity(echo, amount)
        df.set_var("total", total)
    df.continue_as_new(total)


@df.activity(name="engine.never_completes", heartbeat_timeout=2, start_to_close_timeout=1000)
def never_completes():
    calls.append("never_completes")
    for _ in range(100):  # "for ever", bounded so that a regression fails instead of hanging
        df.heartbeat()
    return "ran to the end"


@df.workflow(name="engine.cancellation")
async def cancellation():
    try:
        await df.execute_activity(never_completes)
    finally:
        await df.execute_activity(echo, "cleanup")


@df.activity(name="engine.async_progress", heartbeat_timeout=30)
async def async_progress(n: int) -> dict:
    info = df.activity_info()
    for i in range(info.heartbeat_details or 0, n):
        await asyncio.sleep(0)
        df.heartbeat(i + 1)
    return {"attempt": info.attempt, "heartbeat_timeout": info.heartbeat_timeout.total_seconds()}


@df.workflow(name="engine.async_heartbeating")
async def async_heartbeating(n: int) -> dict:
    return await df.execute_activity(async_progress, n)


@df.activity(name="engine.hangs", start_to_close_timeout=0.3, retry=df.RetryPolicy(maximum_attempts=2))
async def hangs(heartbeat_first: bool) -> str:
    if heartbeat_first:
        df.heartbeat("alive")
    try:
        await asyncio.sleep(3)  # long enough to notice, short enough not to stall the suite if interrupted late
    except asyncio.CancelledError:
        calls.append("hangs:cancelled")
        raise
    return "woke up"


@df.workflow(name="engine.hanging")
async def hanging(heartbeat_timeout: float | None) -> object:
    options = {"heartbeat_timeout": heartbeat_timeout, "start_to_close_timeout": 60} if heartbeat_timeout else {}
    try:
        return await df.execute_activity(hangs, bool(heartbeat_timeout), **options)
    except df.ActivityError as exc:
        return {"type": exc.type, "message": exc.message, "attempts": exc.attempts}


@df.workflow(name="engine.tally")
async def tally() -> int:
    total = {"value": 0}
    df.set_signal_handler("add", lambda amount: total.update(value=total["value"] + amount))
    df.set_query_handler("total", lambda: total["value"])
    await df.wait_signal("close")
    return total["value"]


@df.workflow(name="engine.cleans_up")
async def cleans_up() -> str:
    try:
        await df.wait_signal("never")
    finally:
        await df.execute_activity(echo, "cleanup")
    return "done"


@dataclasses.dataclass
class Item:
    sku: str
    qty: int


@df.workflow(name="engine.checkout")
async def checkout(cart_id: str) -> dict:
    items: list[Item] = []

    def validate(item: Item) -> None:
        if item.qty <= 0:
            raise ValueError("qty must be positive")

    async def add_item(item: Item) -> int:
        await df.execute_activity(echo, item.sku)
        items.append(item)
        return len(items)

    def fail(message: str) -> None:
        raise RuntimeError(message)

    df.set_update_handler("add_item", add_item, validator=validate)
    df.set_update_handler("fail", fail)
    df.set_query_handler("count", lambda: len(items))
    await df.wait_signal("pay")
    await df.wait_condition(df.all_handlers_finished)
    return {"cart": cart_id, "items": [item.sku for item in items]}
