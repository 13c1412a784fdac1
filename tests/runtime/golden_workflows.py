"""Representative workflows whose recorded histories live in ``golden/``.

Regenerate the files (only after a deliberate, compatible change) with
``PYTHONPATH=. python -m tests.runtime.golden_workflows``. Names are explicit
so that renaming a module does not change the recorded histories.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import durableflows as df
from durableflows.runtime import EventType

from .harness import Driver, dump_golden


@dataclasses.dataclass
class Charge:
    id: str
    amount: Decimal


@df.activity(name="golden.reserve_stock", start_to_close_timeout=timedelta(seconds=30))
def reserve_stock(order_id: int) -> str:
    return f"res-{order_id}"


@df.activity(name="golden.release_stock")
def release_stock(reservation: str) -> None:
    return None


@df.activity(name="golden.charge_card", retry=df.RetryPolicy(maximum_attempts=5, non_retryable_errors=["Declined"]))
def charge_card(order_id: int, amount: Decimal) -> Charge:
    return Charge(f"ch-{order_id}", amount)


@df.activity(name="golden.refund")
def refund(charge: Charge) -> None:
    return None


@df.activity(name="golden.notify")
def notify(message: str) -> str:
    return message


@df.workflow(name="golden.fulfil_order")
async def fulfil_order(order_id: int) -> dict:
    df.set_query_handler("stage", lambda: stage["value"])
    stage = {"value": "reserving"}
    async with df.Saga() as saga:
        reservation = await df.execute_activity(reserve_stock, order_id)
        saga.add(release_stock, reservation)
        stage["value"] = "charging"
        charge = await df.execute_activity(charge_card, order_id, Decimal("10.00"))
        saga.add(refund, charge)
    df.set_var("charge", charge)
    try:
        decision = await df.wait_signal("approve", timeout=timedelta(days=2))
    except TimeoutError:
        decision = {"approved": False}
    await df.sleep(timedelta(hours=24))
    return {"charge": charge, "decision": decision}


@df.workflow(name="golden.fan_out")
async def fan_out(items: list[str]) -> dict:
    token = df.uuid4()
    sampled = df.random().randint(1, 1000)
    stamp = await df.side_effect(lambda: "recorded-once")
    if df.patched("notify-first"):
        await df.execute_activity(notify, "starting")
    tasks = [asyncio.create_task(df.execute_activity(notify, item)) for item in items]
    done, _ = await asyncio.wait(tasks)
    order = [t.result() for t in done]
    try:
        slow = await asyncio.wait_for(df.execute_activity(notify, "slow"), timeout=60)
    except TimeoutError:
        slow = None
    child = await df.execute_child_workflow("golden.child", len(items), id="fan-child")
    return {"token": token, "sampled": sampled, "stamp": stamp, "order": order, "slow": slow, "child": child}


@df.workflow(name="golden.child")
async def child(n: int) -> int:
    return n * 2


@df.workflow(name="golden.cancellable")
async def cancellable(order_id: int) -> str:
    try:
        await df.execute_activity(reserve_stock, order_id)
        await df.sleep(timedelta(days=7))
    except asyncio.CancelledError:
        await df.execute_activity(notify, "cancelled")
        raise
    return "kept"


@df.workflow(name="golden.looper")
async def looper(count: int) -> None:
    total = 0
    while True:
        total += await df.wait_signal("add")
        df.set_var("total", total)
        if total >= 10:
            df.continue_as_new(count + 1)


@dataclasses.dataclass
class Item:
    sku: str
    qty: int


@df.workflow(name="golden.checkout")
async def checkout(cart_id: str) -> dict:
    items: list[Item] = []

    def validate(item: Item) -> None:
        if item.qty <= 0:
            raise ValueError("qty must be positive")

    async def add_item(item: Item) -> int:
        await df.execute_activity(notify, f"adding {item.sku}")
        items.append(item)
        return len(items)

    df.set_update_handler("add_item", add_item, validator=validate)
    df.set_update_handler("count", lambda: len(items))
    await df.wait_signal("pay")
    await df.wait_condition(df.all_handlers_finished)
    return {"cart": cart_id, "items": [item.sku for item in items]}


@dataclasses.dataclass
class Line:
    sku: str
    qty: int


@df.workflow(name="golden.checkout_class")
class CheckoutClass:
    """A class workflow: lines come by signal, a query counts them, payment closes the cart."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.paid = False

    @df.run
    async def run(self, cart_id: str) -> dict:
        await df.wait_condition(lambda: self.paid, timeout=timedelta(hours=1))
        receipt = await df.execute_activity(notify, f"{cart_id}: {self.count()} lines")
        return {"receipt": receipt, "skus": [line.sku for line in self.lines]}

    @df.signal
    def add_line(self, line: Line) -> None:
        self.lines.append(line)

    @df.signal(name="pay")
    async def settle(self) -> None:
        await df.execute_activity(notify, "paying")
        self.paid = True

    @df.query
    def count(self) -> int:
        return len(self.lines)


def _scenario_fulfil_approved() -> Driver:
    run = Driver(fulfil_order, 42, workflow_id="order-42", run_id="run-golden-1", workflow_name="golden.fulfil_order")
    run.complete(run.only_activity(), "res-42")
    run.complete(run.only_activity(), Charge("ch-42", Decimal("10.00")))
    run.signal("approve", {"approved": True, "by": "alice"})
    run.fire(run.only_timer())
    return run


def _scenario_fulfil_compensated() -> Driver:
    run = Driver(fulfil_order, 7, workflow_id="order-7", run_id="run-golden-2", workflow_name="golden.fulfil_order")
    run.complete(run.only_activity(), "res-7")
    run.fail(run.only_activity(), type="Declined", message="card declined", attempts=1)
    run.complete(run.only_activity("golden.release_stock"))
    return run


def _scenario_fan_out() -> Driver:
    run = Driver(fan_out, ["a", "b", "c"], workflow_id="fan-1", run_id="run-golden-3", workflow_name="golden.fan_out")
    run.complete(run.only_activity(), "starting")
    for activity_id in sorted(run.pending_activities(), reverse=True):
        run.complete(activity_id, run.scheduled(activity_id)["args"][0])
    run.fire(run.only_timer())
    child_id = run.events(EventType.CHILD_WORKFLOW_STARTED)[0]["child_id"]
    run.apply(EventType.CHILD_WORKFLOW_COMPLETED, {"child_id": child_id, "result": 6})
    return run


def _scenario_cancelled() -> Driver:
    run = Driver(cancellable, 3, workflow_id="cancel-3", run_id="run-golden-4", workflow_name="golden.cancellable")
    run.complete(run.only_activity(), "res-3")
    run.cancel("customer asked")
    run.complete(run.only_activity("golden.notify"), "cancelled")
    return run


def _scenario_continued() -> Driver:
    run = Driver(looper, 0, workflow_id="loop-1", run_id="run-golden-5", workflow_name="golden.looper")
    for amount in (3, 4, 5):
        run.signal("add", amount)
    return run


def _scenario_checkout() -> Driver:
    run = Driver(checkout, "c-1", workflow_id="cart-1", run_id="run-golden-6", workflow_name="golden.checkout")
    run.update("u-1", "add_item", Item("apple", 2))
    run.update("u-2", "count")
    run.signal("pay")
    run.complete(run.only_activity(), "adding apple")
    return run


def _scenario_checkout_class() -> Driver:
    run = Driver(
        CheckoutClass, "cart-9", workflow_id="cart-9", run_id="run-golden-7", workflow_name="golden.checkout_class"
    )
    run.signal("add_line", {"sku": "tea", "qty": 2})
    run.signal("add_line", {"sku": "cup", "qty": 1})
    run.signal("pay")
    run.complete(run.only_activity(), "paying")
    run.complete(run.only_activity(), "cart-9: 2 lines")
    return run


#: name -> (workflow, how the history was produced, how it must end)
SCENARIOS: dict[str, tuple[Callable, Callable[[], Driver], EventType]] = {
    "fulfil_order_approved": (fulfil_order, _scenario_fulfil_approved, EventType.WORKFLOW_COMPLETED),
    "fulfil_order_compensated": (fulfil_order, _scenario_fulfil_compensated, EventType.WORKFLOW_FAILED),
    "fan_out": (fan_out, _scenario_fan_out, EventType.WORKFLOW_COMPLETED),
    "cancelled_with_cleanup": (cancellable, _scenario_cancelled, EventType.WORKFLOW_CANCELLED),
    "continued_as_new": (looper, _scenario_continued, EventType.WORKFLOW_CONTINUED_AS_NEW),
    "checkout_with_updates": (checkout, _scenario_checkout, EventType.WORKFLOW_COMPLETED),
    "checkout_class": (CheckoutClass, _scenario_checkout_class, EventType.WORKFLOW_COMPLETED),
}


def regenerate() -> None:
    for name, (_, scenario, _) in SCENARIOS.items():
        dump_golden(name, scenario().history)


if __name__ == "__main__":
    regenerate()
