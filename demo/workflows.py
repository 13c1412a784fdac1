"""Order fulfilment as a durable workflow.

durableflows imports this module at startup (every installed app's
``workflows.py``), so both the web process and the Celery workers know
``demo.fulfil_order``. The activities are fast, deterministic fakes that only
update the ``Order`` row; a real shop would call its payment and shipping APIs here.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import durableflows as df

from .models import Order

CARD_LIMIT = Decimal("1000")
APPROVAL_TIMEOUT = timedelta(hours=1)
PACKING_TIME = timedelta(seconds=3)

RETRY = df.RetryPolicy(
    maximum_attempts=5, initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)


def _set_status(order_id: int, status: str) -> None:
    Order.objects.filter(pk=order_id).update(status=status)


# --- activities: the steps that touch the outside world (at-least-once, so idempotent) ---


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=RETRY)
def reserve_stock(order_id: int) -> str:
    _set_status(order_id, Order.Status.RESERVED)
    return f"R-{order_id}"


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=RETRY)
def release_stock(order_id: int, reservation: str) -> None:
    _set_status(order_id, Order.Status.CANCELLED)


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=RETRY)
def charge_card(order_id: int) -> str:
    order = Order.objects.get(pk=order_id)
    if order.amount > CARD_LIMIT:
        message = f"card declined: {order.amount} is over the limit of {CARD_LIMIT}"
        raise df.NonRetryableError(message, type="CardDeclined")
    _set_status(order_id, Order.Status.CHARGED)
    return f"CH-{order_id}"


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=RETRY)
def refund_charge(order_id: int, charge: str) -> None:
    _set_status(order_id, Order.Status.REFUNDED)


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=RETRY)
def ship(order_id: int) -> str:
    _set_status(order_id, Order.Status.SHIPPED)
    return f"TRK-{order_id:06d}"


# --- the workflow: deterministic code, replayed from its history ---


class OrderRejected(Exception):
    """Raised inside the saga so its compensations undo the reservation and the charge."""


@df.workflow(name="demo.fulfil_order")
async def fulfil_order(order_id: int) -> dict:
    """Reserve stock, charge the card, wait for a person to approve, then pack and ship.

    A declined card or a rejection (or no decision within an hour) runs the saga's
    compensations in reverse: refund the charge, release the stock.
    """
    progress = {"order_id": order_id, "stage": "started"}
    df.set_query_handler("progress", lambda: dict(progress))

    def stage(name: str) -> None:
        progress["stage"] = name
        df.set_var("stage", name)

    stage("reserving stock")
    try:
        async with df.Saga() as saga:
            reservation = await df.execute_activity(reserve_stock, order_id)
            saga.add(release_stock, order_id, reservation)

            stage("charging card")
            charge = await df.execute_activity(charge_card, order_id)
            saga.add(refund_charge, order_id, charge)

            stage("awaiting approval")
            try:
                decision = await df.wait_signal("approve", timeout=APPROVAL_TIMEOUT)
            except TimeoutError:
                decision = {"approved": False, "by": "timeout"}
            decision = decision or {}
            if not decision.get("approved", True):
                raise OrderRejected(decision.get("by", "unknown"))
    except OrderRejected as rejected:
        stage("rejected")
        return {"outcome": "rejected", "by": str(rejected), "charge": charge, "reservation": reservation}
    except df.ActivityError as error:
        stage(f"failed: {error.type}")
        raise

    stage("packing")
    await df.sleep(PACKING_TIME)
    stage("shipping")
    tracking = await df.execute_activity(ship, order_id)
    stage("shipped")
    return {"outcome": "shipped", "tracking": tracking, "charge": charge, "approved_by": decision.get("by")}
